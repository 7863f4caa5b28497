package cloudwatch_test

import (
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/aurora-surge/aurora-surge/sim"
)

// TestGetMetricStatistics goes through aws-sdk-go-v2 (RPC v2 CBOR) and
// checks the answer against the model's own datapoints.
func TestGetMetricStatistics(t *testing.T) {
	env, c := start(t)
	now := env.World.Now()
	in := func(period int32, stats ...types.Statistic) *cloudwatch.GetMetricStatisticsInput {
		return &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/RDS"), MetricName: aws.String("CPUUtilization"),
			Dimensions: []types.Dimension{dim("DBInstanceIdentifier", "events-db-writer")},
			StartTime:  aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now),
			Period: aws.Int32(period), Statistics: stats,
		}
	}
	out, err := c.GetMetricStatistics(ctx, in(60, types.StatisticAverage, types.StatisticMaximum))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Label) != "CPUUtilization" || len(out.Datapoints) != 9 {
		t.Fatalf("label %q, %d datapoints, want 9", aws.ToString(out.Label), len(out.Datapoints))
	}
	for _, d := range out.Datapoints {
		p, ok := truthPoint(env, "CPUUtilization", []sim.Dim{{Name: "DBInstanceIdentifier", Value: "events-db-writer"}}, *d.Timestamp)
		if !ok {
			t.Fatalf("no model datapoint at %s", d.Timestamp)
		}
		avg, _ := p.Stat("Average")
		if math.Abs(aws.ToFloat64(d.Average)-avg) > 1e-9 || aws.ToFloat64(d.Maximum) != p.Max || d.Sum != nil || d.Unit != types.StandardUnitPercent {
			t.Fatalf("datapoint %s: %+v, model avg %v max %v", d.Timestamp, d, avg, p.Max)
		}
	}

	// Exact dimensions: the cluster-level series is another metric; a
	// subset of a series' dimensions matches nothing.
	cl := in(300, types.StatisticSampleCount)
	cl.Dimensions = []types.Dimension{dim("DBClusterIdentifier", "events-db"), dim("Role", "WRITER")}
	if out, err := c.GetMetricStatistics(ctx, cl); err != nil || len(out.Datapoints) == 0 {
		t.Fatalf("cluster+role series: %v %v", out, err)
	}
	cl.Dimensions = []types.Dimension{dim("Role", "WRITER")}
	if out, err := c.GetMetricStatistics(ctx, cl); err != nil || len(out.Datapoints) != 0 {
		t.Fatalf("a subset of the dimensions matched: %v %v", out, err)
	}
	// Unit filter: another unit than the series' gives no datapoints.
	u := in(60, types.StatisticAverage)
	u.Unit = types.StandardUnitSeconds
	if out, err := c.GetMetricStatistics(ctx, u); err != nil || len(out.Datapoints) != 0 {
		t.Fatalf("unit Seconds on a Percent metric: %v %v", out, err)
	}
	// Sub-minute high-resolution periods are valid; the stored data is
	// per minute, so they return per-minute datapoints.
	if out, err := c.GetMetricStatistics(ctx, in(10, types.StatisticAverage)); err != nil || len(out.Datapoints) != 9 {
		t.Fatalf("period 10: %v %v", out, err)
	}
	// Retention rule: asking data older than 15 days at a 1-minute period
	// returns nothing (not an error).
	old := in(60, types.StatisticAverage)
	old.StartTime, old.EndTime = aws.Time(now.Add(-20*24*time.Hour)), aws.Time(now.Add(-20*24*time.Hour+time.Hour))
	if out, err := c.GetMetricStatistics(ctx, old); err != nil || len(out.Datapoints) != 0 {
		t.Fatalf("20 days ago at 60 s: %v %v", out, err)
	}

	// Limits and their codes.
	day := in(60, types.StatisticAverage)
	day.StartTime = aws.Time(now.Add(-24*time.Hour - time.Minute))
	_, err = c.GetMetricStatistics(ctx, day)
	wantCode(t, err, "InvalidParameterCombination") // 1,441 datapoints
	day.StartTime = aws.Time(now.Add(-24 * time.Hour))
	if _, err := c.GetMetricStatistics(ctx, day); err != nil {
		t.Fatalf("exactly 1,440 datapoints: %v", err)
	}
	_, err = c.GetMetricStatistics(ctx, in(90, types.StatisticAverage))
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.GetMetricStatistics(ctx, in(7, types.StatisticAverage))
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.GetMetricStatistics(ctx, in(60))
	wantCode(t, err, "InvalidParameterCombination") // neither Statistics nor ExtendedStatistics
	both := in(60, types.StatisticAverage)
	both.ExtendedStatistics = []string{"p99"}
	_, err = c.GetMetricStatistics(ctx, both)
	wantCode(t, err, "InvalidParameterCombination")
	pct := in(60)
	pct.ExtendedStatistics = []string{"p99"}
	_, err = c.GetMetricStatistics(ctx, pct)
	wantCode(t, err, "InvalidParameterValue") // percentiles are not modelled
	rev := in(60, types.StatisticAverage)
	rev.StartTime, rev.EndTime = rev.EndTime, rev.StartTime
	_, err = c.GetMetricStatistics(ctx, rev)
	wantCode(t, err, "InvalidParameterValue")
	// MissingParameter: the SDK checks required members itself; see
	// TestJSONProtocol for the server side.
}
