package collector

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// fakeCloudWatch answers every query with two datapoints, newest first,
// and pages when a call carries more than perPage queries.
type fakeCloudWatch struct {
	calls   atomic.Int64 // calls arrive concurrently, one goroutine per batch
	perPage int
	t0      time.Time
}

func (f *fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.calls.Add(1)
	if len(in.MetricDataQueries) > 500 {
		return nil, fmt.Errorf("too many queries: %d", len(in.MetricDataQueries))
	}
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	end := min(start+f.perPage, len(in.MetricDataQueries))
	out := &cloudwatch.GetMetricDataOutput{}
	for i, q := range in.MetricDataQueries[start:end] {
		out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{
			Id:         q.Id,
			Timestamps: []time.Time{f.t0, f.t0.Add(-time.Minute)},
			Values:     []float64{float64(start + i), -1},
		})
	}
	if end < len(in.MetricDataQueries) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func testInventory(clusters, instances int) *Inventory {
	inv := &Inventory{}
	sc := Scope{Account: "123456789012", Region: "us-east-1"}
	for c := 0; c < clusters; c++ {
		ci := &ClusterInfo{Scope: sc, ID: fmt.Sprintf("c%03d", c), Serverless: true, MaxACU: 32}
		for i := 0; i < instances; i++ {
			role := RoleReader
			if i == 0 {
				role = RoleWriter
			}
			ci.Instances = append(ci.Instances, &InstanceInfo{ID: fmt.Sprintf("c%03d-i%02d", c, i), Class: "db.serverless", Status: "available", Role: role})
		}
		inv.Clusters = append(inv.Clusters, ci)
	}
	return inv
}

func planners() []QueryPlanner {
	var out []QueryPlanner
	for _, s := range AllScrapers(time.Minute) {
		out = append(out, s)
	}
	return out
}

// fakeCloudWatchSource is a CloudWatch source over inv, with every family
// planning, asking fake at its t0.
func fakeCloudWatchSource(inv *Inventory, fake *fakeCloudWatch) *CloudWatchSource {
	d := &Discovery{}
	d.inv.Store(inv)
	clients := &ClientSet{scopes: []*ScopeClients{{Scope: inv.Clusters[0].Scope, CloudWatch: fake}}}
	return NewCloudWatchSource(clients, d, planners(), DefaultConfig().CloudWatch, fixedClock{fake.t0})
}

func TestCloudWatchCallsAtTheMinimum(t *testing.T) {
	for _, clusters := range []int{1, 10, 100} {
		inv := testInventory(clusters, 16)
		fake := &fakeCloudWatch{perPage: 500, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		src := fakeCloudWatchSource(inv, fake)
		if err := src.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		queries := 0
		for _, qs := range src.plan(inv).ask {
			queries += len(qs)
		}
		want := (queries + 499) / 500
		if int(fake.calls.Load()) != want {
			t.Errorf("%d clusters: %d queries took %d calls, want ceil/500 = %d", clusters, queries, fake.calls.Load(), want)
		}
		if got := src.Data().Answered(); got != queries {
			t.Errorf("%d clusters: %d values for %d queries", clusters, got, queries)
		}
	}
}

func TestCloudWatchPagesAndKeepsNewest(t *testing.T) {
	inv := testInventory(2, 4)
	fake := &fakeCloudWatch{perPage: 7, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := fakeCloudWatchSource(inv, fake)
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fake.calls.Load() < 2 {
		t.Fatalf("expected paging, got %d calls", fake.calls.Load())
	}
	for _, q := range allPlanned(src.Data()) {
		if !q.Answered || q.Point.Value < 0 || !q.Point.Time.Equal(fake.t0) {
			t.Fatalf("%s: kept an older datapoint %+v", q.Key(), q.Point)
		}
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func allPlanned(d *CloudWatchData) []*PlannedQuery {
	var out []*PlannedQuery
	for _, p := range d.plans {
		out = append(out, p.Queries()...)
	}
	return out
}
