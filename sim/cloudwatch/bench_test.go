package cloudwatch_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/aurora-surge/aurora-surge/sim"
	simcw "github.com/aurora-surge/aurora-surge/sim/cloudwatch"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// bigFleet is 100 clusters x 16 Serverless v2 instances.
func bigFleet(b *testing.B) *sim.Scenario {
	var inst strings.Builder
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&inst, "      - {id: db-i%02d, class: db.serverless, tier: 1, writer: %v}\n", i, i == 0)
	}
	sc, err := sim.ParseScenario([]byte(`
name: bench
params: {tick: 10s}
fleets:
  - name: f
    count: 100
    cluster:
      id: db
      serverless_v2: {min_acu: 0.5, max_acu: 64}
      instances:
` + inst.String() + `
    traffic:
      reads_per_user_second: 0.5
      writes_per_user_second: 0.05
      connections_per_user: 0.05
      keyframes: [{at: 0s, users: 5000}]
`))
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

// BenchmarkGetMetricData reports how many GetMetricData queries per second
// the emulator serves through the real SDK (CBOR), 500 queries a call: it
// must never be the bottleneck of the exporter's benchmarks.
func BenchmarkGetMetricData(b *testing.B) {
	env := simtest.StartScenario(b, bigFleet(b), simcw.Register)
	env.Advance(b, 15*time.Minute)
	c := cloudwatch.NewFromConfig(env.Config(b, "us-east-1"))
	now := env.World.Now()
	var qs []types.MetricDataQuery
	for i := 0; i < 500; i++ {
		qs = append(qs, types.MetricDataQuery{Id: aws.String(fmt.Sprintf("q%d", i)), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String("CPUUtilization"),
				Dimensions: []types.Dimension{{Name: aws.String("DBInstanceIdentifier"), Value: aws.String(fmt.Sprintf("db-i%02d-%03d", i%16, i/16+1))}}},
			Period: aws.Int32(60), Stat: aws.String("Average")}})
	}
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now), MetricDataQueries: qs}
	out, err := c.GetMetricData(ctx, in)
	if err != nil || len(out.MetricDataResults[0].Values) == 0 {
		b.Fatalf("warm-up call: %v", err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetMetricData(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(qs))/time.Since(start).Seconds(), "queries/s")
}
