package logs_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/logs"
	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

// Writer at 5 s, reader-1 at the cluster's 1 s, reader-2 off.
const scenario = `
name: em
params: {enhanced_monitoring_delay: 2s}
fleets:
  - name: shop
    cluster:
      id: shop-db
      engine: aurora-mysql
      monitoring_interval: 1
      instances:
        - {id: shop-db-writer, class: db.r6g.xlarge, tier: 0, writer: true, monitoring_interval: 5}
        - {id: shop-db-reader-1, class: db.r6g.large, tier: 1}
        - {id: shop-db-reader-2, class: db.r6g.large, tier: 1, monitoring_interval: 0}
    traffic:
      reads_per_user_second: 1
      writes_per_user_second: 0.1
      keyframes: [{at: 0s, users: 300}]
`

type fixture struct {
	env *simtest.Env
	cw  *cloudwatchlogs.Client
	rds *rds.Client
	ids map[string]string // instance id -> DbiResourceId
}

func start(t *testing.T) *fixture {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(scenario))
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.StartScenario(t, sc, logs.Register, simrds.Register)
	cfg := env.Config(t, "us-east-1")
	f := &fixture{env: env, cw: cloudwatchlogs.NewFromConfig(cfg), rds: rds.NewFromConfig(cfg), ids: map[string]string{}}
	f.refreshIDs(t)
	return f
}

func (f *fixture) refreshIDs(t *testing.T) {
	t.Helper()
	out, err := f.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range out.DBInstances {
		f.ids[aws.ToString(in.DBInstanceIdentifier)] = aws.ToString(in.DbiResourceId)
	}
}

func (f *fixture) streams(t *testing.T) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(f.cw, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("RDSOSMetrics"), Limit: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.LogStreams) > 1 {
			t.Fatalf("limit 1 returned %d streams", len(out.LogStreams))
		}
		for _, s := range out.LogStreams {
			got[aws.ToString(s.LogStreamName)] = true
		}
	}
	return got
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

// newest returns the stream's newest document (GetLogEvents without a
// token reads from the tail).
func (f *fixture) newest(t *testing.T, stream string) (time.Time, map[string]any) {
	t.Helper()
	out, err := f.cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(stream), Limit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 {
		t.Fatalf("%d events", len(out.Events))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Events[0].Message)), &doc); err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(aws.ToInt64(out.Events[0].Timestamp)), doc
}

func TestStreamsFollowEachInstancesSetting(t *testing.T) {
	f := start(t)
	f.env.Advance(t, time.Minute)
	got := f.streams(t)
	if !got[f.ids["shop-db-writer"]] || !got[f.ids["shop-db-reader-1"]] || got[f.ids["shop-db-reader-2"]] || len(got) != 2 {
		t.Fatalf("streams %v for ids %v: want the writer's and reader-1's only", got, f.ids)
	}
	// Freshness: the newest document is at most interval + delay old.
	for _, c := range []struct {
		id       string
		interval time.Duration
	}{{"shop-db-writer", 5 * time.Second}, {"shop-db-reader-1", time.Second}} {
		for step := 0; step < 7; step++ {
			f.env.Advance(t, 700*time.Millisecond)
			ts, doc := f.newest(t, f.ids[c.id])
			age := f.env.World.Now().Sub(ts)
			if age < 2*time.Second || age > c.interval+2*time.Second {
				t.Fatalf("%s: newest document %v old, want within [delay, interval + delay]", c.id, age)
			}
			if doc["instanceID"] != c.id || doc["instanceResourceID"] != f.ids[c.id] || doc["engine"] != "Aurora" {
				t.Fatalf("document identity %v %v %v", doc["instanceID"], doc["instanceResourceID"], doc["engine"])
			}
		}
	}
	// The document's shape and its CPU total from the model.
	_, doc := f.newest(t, f.ids["shop-db-writer"])
	cpu := doc["cpuUtilization"].(map[string]any)
	var modelCPU float64
	ct, _ := f.env.World.Truth().Cluster("shop-db")
	for _, in := range ct.Instances {
		if in.ID == "shop-db-writer" {
			modelCPU = in.CPU
		}
	}
	if total := cpu["total"].(float64); total < modelCPU-0.01 || total > modelCPU+0.01 || modelCPU < 2 {
		t.Fatalf("cpuUtilization.total %v, model CPU %v", total, modelCPU)
	}
	for _, k := range []string{"guest", "irq", "system", "wait", "idle", "user", "total", "steal", "nice"} {
		if _, ok := cpu[k]; !ok {
			t.Errorf("cpuUtilization.%s missing", k)
		}
	}
	for _, k := range []string{"timestamp", "uptime", "numVCPUs", "loadAverageMinute", "memory", "tasks", "swap", "network", "diskIO", "fileSys", "processList"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("%s missing", k)
		}
	}
	if doc["numVCPUs"].(float64) != 4 {
		t.Errorf("numVCPUs %v for db.r6g.xlarge", doc["numVCPUs"])
	}
}

func TestReaderCreatedMidRunGetsItsStream(t *testing.T) {
	f := start(t)
	f.env.Advance(t, time.Minute)
	_, err := f.rds.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("shop-db-new"), DBClusterIdentifier: aws.String("shop-db"),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String(sim.EngineMySQL), MonitoringInterval: aws.Int32(10),
		MonitoringRoleArn: aws.String("arn:aws:iam::123456789012:role/rds-monitoring-role")})
	if err != nil {
		t.Fatal(err)
	}
	f.refreshIDs(t)
	id := f.ids["shop-db-new"]
	f.env.Advance(t, 7*time.Minute) // still creating: no documents
	if f.streams(t)[id] {
		t.Fatal("a creating instance has a stream")
	}
	_, err = f.cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(id)})
	wantCode(t, err, "ResourceNotFoundException")
	f.env.Advance(t, time.Minute+13*time.Second) // available at 8 min, first document + 2 s
	if !f.streams(t)[id] {
		t.Fatal("no stream once available + delivery delay")
	}
	if ts, _ := f.newest(t, id); f.env.World.Now().Sub(ts) > 12*time.Second {
		t.Fatalf("newest document at %v, now %v", ts, f.env.World.Now())
	}
}

func TestPaginationLimitsAndErrors(t *testing.T) {
	f := start(t)
	f.env.Advance(t, 5*time.Minute)
	reader, writer := f.ids["shop-db-reader-1"], f.ids["shop-db-writer"]
	// GetLogEvents forward from the head, 7 at a time, until the token
	// comes back unchanged.
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(reader), StartFromHead: aws.Bool(true), Limit: aws.Int32(7)}
	seen, pages, last := 0, 0, int64(0)
	for {
		out, err := f.cw.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			if aws.ToInt64(e.Timestamp) <= last {
				t.Fatalf("events out of order or repeated at %d", aws.ToInt64(e.Timestamp))
			}
			last = aws.ToInt64(e.Timestamp)
		}
		seen += len(out.Events)
		pages++
		if in.NextToken != nil && aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	// 5 minutes at 1 s, less the 2 s delivery delay: 298 or 299 documents.
	if seen < 297 || seen > 300 || pages != (seen+6)/7+1 {
		t.Fatalf("%d documents in %d pages", seen, pages)
	}
	// FilterLogEvents over two named streams in a window, paginated.
	now := f.env.World.Now()
	fin := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamNames: []string{reader, writer},
		StartTime: aws.Int64(now.Add(-time.Minute).UnixMilli()), EndTime: aws.Int64(now.UnixMilli()), Limit: aws.Int32(25)}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(f.cw, fin)
	per := map[string]int{}
	fpages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fpages++
		for _, e := range out.Events {
			per[aws.ToString(e.LogStreamName)]++
		}
	}
	// The last minute: 60 (or 58 not yet delivered) at 1 s, 12 at 5 s.
	if per[reader] < 57 || per[reader] > 60 || per[writer] < 11 || per[writer] > 12 || fpages < 3 {
		t.Fatalf("filter: %v in %d pages", per, fpages)
	}
	// Errors as the service gives them.
	_, err := f.cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/rds/nope")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = f.cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String("db-NOPE")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = f.cw.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamNames: []string{reader}, LogStreamNamePrefix: aws.String("db-")})
	wantCode(t, err, "InvalidParameterException")
	_, err = f.cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(reader), Limit: aws.Int32(10001)})
	wantCode(t, err, "InvalidParameterException")
	_, err = f.cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(reader), NextToken: aws.String("garbage")})
	wantCode(t, err, "InvalidParameterException")
	_, err = f.cw.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("RDSOSMetrics"), OrderBy: "LastEventTime", LogStreamNamePrefix: aws.String("db-")})
	wantCode(t, err, "InvalidParameterException")
	// Throttling through the emulator's fault set.
	if _, err := f.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: "logs", Operations: []string{"GetLogEvents"}, Rate: 1}, 0); err != nil {
		t.Fatal(err)
	}
	_, err = f.cw.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(reader)})
	wantCode(t, err, "ThrottlingException")
}

func TestRetentionBoundsMemory(t *testing.T) {
	f := start(t)
	f.env.Advance(t, 70*time.Minute)
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("RDSOSMetrics"), LogStreamName: aws.String(f.ids["shop-db-reader-1"]), StartFromHead: aws.Bool(true)}
	out, err := f.cw.GetLogEvents(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Events); n > 3600 || n < 3590 {
		t.Fatalf("%d documents kept at 1 s for an hour's retention", n)
	}
}
