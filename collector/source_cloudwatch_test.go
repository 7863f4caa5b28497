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

// partialCloudWatch answers as fakeCloudWatch with gen added to every
// value, fails the calls whose first query has failID and answers no
// datapoint to those whose first query has emptyID.
type partialCloudWatch struct {
	fakeCloudWatch
	gen             float64
	failID, emptyID string
}

func (f *partialCloudWatch) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if f.failID != "" && aws.ToString(in.MetricDataQueries[0].Id) == f.failID {
		return nil, fmt.Errorf("injected failure")
	}
	out, err := f.fakeCloudWatch.GetMetricData(ctx, in, opts...)
	if err == nil {
		for i := range out.MetricDataResults {
			out.MetricDataResults[i].Values[0] += f.gen
			if aws.ToString(in.MetricDataQueries[0].Id) == f.emptyID {
				out.MetricDataResults[i].Values, out.MetricDataResults[i].Timestamps = nil, nil
			}
		}
	}
	return out, err
}

// TestCloudWatchFailedScopeKeepsItsLastValues: when one call of a scope
// fails, the scope serves its previous refresh's values for every query
// (none where it had none), none of the answers its other calls brought,
// while another scope serves its new values.
func TestCloudWatchFailedScopeKeepsItsLastValues(t *testing.T) {
	inv := testInventory(100, 16) // more than 500 queries: several calls
	other := testInventory(1, 4)
	for _, c := range other.Clusters {
		c.Scope = Scope{Account: "210987654321", Region: "eu-west-1"}
	}
	inv.Clusters = append(inv.Clusters, other.Clusters...)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failing := &partialCloudWatch{fakeCloudWatch: fakeCloudWatch{perPage: 500, t0: t0}, emptyID: "q1000"}
	fine := &partialCloudWatch{fakeCloudWatch: fakeCloudWatch{perPage: 500, t0: t0}}
	d := &Discovery{}
	d.inv.Store(inv)
	clients := &ClientSet{scopes: []*ScopeClients{
		{Scope: inv.Clusters[0].Scope, CloudWatch: failing},
		{Scope: other.Clusters[0].Scope, CloudWatch: fine},
	}}
	src := NewCloudWatchSource(clients, d, planners(), DefaultConfig().CloudWatch, fixedClock{t0})
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := map[string]float64{}
	for _, p := range src.Data().plans {
		for _, q := range p.Queries() {
			if q.Answered {
				first[q.Key()] = q.Point.Value
			}
		}
	}
	failing.gen, fine.gen, failing.failID, failing.emptyID = 1e6, 1e6, "q500", ""
	if err := src.Refresh(context.Background()); err == nil {
		t.Fatal("a failed call: no error")
	}
	n := 0
	for _, p := range src.Data().plans {
		for _, q := range p.Queries() {
			n++
			want, had := first[q.Key()]
			if q.Scope == other.Clusters[0].Scope {
				want += 1e6
			}
			if !had {
				if q.Answered {
					t.Fatalf("%s: answered %g, from a call of the failed refresh", q.Key(), q.Point.Value)
				}
				continue
			}
			if !q.Answered || q.Point.Value != want {
				t.Fatalf("%s: answered %t value %g, want %g", q.Key(), q.Answered, q.Point.Value, want)
			}
		}
	}
	if n <= 1500 || len(first) >= n {
		t.Fatalf("%d queries, %d answered by the first refresh: the test needs more than three calls and some unanswered", n, len(first))
	}
}
