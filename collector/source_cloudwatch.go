package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/prometheus/client_golang/prometheus"
)

// MaxQueriesPerCall is GetMetricData's limit.
const MaxQueriesPerCall = 500

// Dim is a CloudWatch dimension.
type Dim struct{ Name, Value string }

// MetricQuery is one CloudWatch series a scraper needs.
type MetricQuery struct {
	Scope     Scope
	Family    string // scraper name, for per-family datapoint age
	Namespace string
	Metric    string
	Dims      []Dim
	Stat      string
}

// Key identifies the query's result in a snapshot.
func (q MetricQuery) Key() string {
	var b strings.Builder
	b.WriteString(q.Scope.Account + "|" + q.Scope.Region + "|" + q.Namespace + "|" + q.Metric + "|" + q.Stat)
	for _, d := range q.Dims {
		b.WriteString("|" + d.Name + "=" + d.Value)
	}
	return b.String()
}

// Datapoint is the newest value of a series and when CloudWatch stamped it.
type Datapoint struct {
	Value  float64
	Time   time.Time
	Family string
}

// QueryPlanner is what the CloudWatch source needs from the scrapers.
type QueryPlanner interface {
	Queries(inv *Inventory) []MetricQuery
}

// CloudWatchSource fetches every query of a refresh in
// ceil(queries / 500) GetMetricData calls per account and region.
type CloudWatchSource struct {
	clients   *ClientSet
	discovery *Discovery
	planners  []QueryPlanner
	cfg       CloudWatchConfig
	clock     Clock

	values atomic.Pointer[map[string]Datapoint]

	mu      sync.Mutex
	byScope map[Scope]map[string]Datapoint

	queries      prometheus.Counter
	callsLast    prometheus.Gauge
	callsMinimum prometheus.Gauge
}

func NewCloudWatchSource(clients *ClientSet, discovery *Discovery, planners []QueryPlanner, cfg CloudWatchConfig, clock Clock) *CloudWatchSource {
	s := &CloudWatchSource{
		clients: clients, discovery: discovery, planners: planners, cfg: cfg, clock: clock,
		byScope: map[Scope]map[string]Datapoint{},
		queries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "aurora_exporter", Name: "getmetricdata_queries_total",
			Help: "GetMetricData metric queries requested (the unit CloudWatch bills).",
		}),
		callsLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "aurora_exporter", Name: "getmetricdata_calls_last_refresh",
			Help: "GetMetricData calls (pages included) made by the last CloudWatch refresh.",
		}),
		callsMinimum: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "aurora_exporter", Name: "getmetricdata_calls_minimum",
			Help: "ceil(queries / 500) summed over accounts and regions for the last refresh: the fewest calls possible.",
		}),
	}
	empty := map[string]Datapoint{}
	s.values.Store(&empty)
	return s
}

func (s *CloudWatchSource) Name() string { return "cloudwatch" }

func (s *CloudWatchSource) Describe(ch chan<- *prometheus.Desc) {
	s.queries.Describe(ch)
	s.callsLast.Describe(ch)
	s.callsMinimum.Describe(ch)
}

func (s *CloudWatchSource) Collect(ch chan<- prometheus.Metric) {
	s.queries.Collect(ch)
	s.callsLast.Collect(ch)
	s.callsMinimum.Collect(ch)
}

// Values is the newest datapoint of every series, by MetricQuery.Key.
func (s *CloudWatchSource) Values() map[string]Datapoint { return *s.values.Load() }

// Plan lists the queries of a refresh grouped by scope, deduplicated.
func (s *CloudWatchSource) Plan(inv *Inventory) map[Scope][]MetricQuery {
	out := map[Scope][]MetricQuery{}
	seen := map[string]bool{}
	for _, p := range s.planners {
		for _, q := range p.Queries(inv) {
			k := q.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			out[q.Scope] = append(out[q.Scope], q)
		}
	}
	return out
}

func (s *CloudWatchSource) Refresh(ctx context.Context) error {
	inv := s.discovery.Inventory()
	if inv == nil {
		return errors.New("no inventory yet (discovery has not succeeded)")
	}
	plan := s.Plan(inv)
	clients := map[Scope]*ScopeClients{}
	for _, sc := range s.clients.Scopes() {
		clients[sc.Scope] = sc
	}
	end := s.clock.Now().Truncate(s.cfg.Period)
	start := end.Add(-s.cfg.Window)

	type result struct {
		scope  Scope
		values map[string]Datapoint
		calls  int
		err    error
	}
	results := make(chan result, len(plan))
	minimum := 0
	for scope, qs := range plan {
		minimum += (len(qs) + MaxQueriesPerCall - 1) / MaxQueriesPerCall
		sc := clients[scope]
		go func() {
			if sc == nil {
				results <- result{scope: scope, err: fmt.Errorf("no clients for %s/%s", scope.Account, scope.Region)}
				return
			}
			vals, calls, err := s.fetchScope(ctx, sc.CloudWatch, qs, start, end)
			results <- result{scope, vals, calls, err}
		}()
	}
	var errs []error
	calls := 0
	fresh := map[Scope]map[string]Datapoint{}
	for range plan {
		r := <-results
		calls += r.calls
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", r.scope.Account, r.scope.Region, r.err))
			continue
		}
		fresh[r.scope] = r.values
	}
	s.callsLast.Set(float64(calls))
	s.callsMinimum.Set(float64(minimum))

	s.mu.Lock()
	defer s.mu.Unlock()
	// Scopes no longer planned are dropped; failed scopes keep their last
	// good values (their age keeps growing, and the runner's staleness
	// limit bounds how long they are served).
	next := map[Scope]map[string]Datapoint{}
	for scope := range plan {
		if v, ok := fresh[scope]; ok {
			next[scope] = v
		} else if old, ok := s.byScope[scope]; ok {
			next[scope] = old
		}
	}
	s.byScope = next
	merged := map[string]Datapoint{}
	for _, vals := range next {
		for k, v := range vals {
			merged[k] = v
		}
	}
	if len(errs) > 0 && len(fresh) == 0 && len(plan) > 0 {
		return errors.Join(errs...)
	}
	s.values.Store(&merged)
	return errors.Join(errs...)
}

// fetchScope runs the scope's queries in chunks of 500, at most
// cfg.Concurrency calls in flight, each paged with NextToken.
func (s *CloudWatchSource) fetchScope(ctx context.Context, api cloudwatchAPI, qs []MetricQuery, start, end time.Time) (map[string]Datapoint, int, error) {
	sort.Slice(qs, func(i, j int) bool { return qs[i].Key() < qs[j].Key() })
	type chunkResult struct {
		vals  map[string]Datapoint
		calls int
		err   error
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	var chunks []chan chunkResult
	for lo := 0; lo < len(qs); lo += MaxQueriesPerCall {
		chunk := qs[lo:min(lo+MaxQueriesPerCall, len(qs))]
		ch := make(chan chunkResult, 1)
		chunks = append(chunks, ch)
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			vals, calls, err := s.fetchChunk(ctx, api, chunk, start, end)
			ch <- chunkResult{vals, calls, err}
		}()
	}
	out := map[string]Datapoint{}
	calls := 0
	var errs []error
	for _, ch := range chunks {
		r := <-ch
		calls += r.calls
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		for k, v := range r.vals {
			out[k] = v
		}
	}
	// A scope is all or nothing: half a refresh would mix fresh and
	// missing series under one "up".
	if len(errs) > 0 {
		return nil, calls, errors.Join(errs...)
	}
	return out, calls, nil
}

func (s *CloudWatchSource) fetchChunk(ctx context.Context, api cloudwatchAPI, chunk []MetricQuery, start, end time.Time) (map[string]Datapoint, int, error) {
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		ScanBy: cwtypes.ScanByTimestampDescending,
	}
	ids := make(map[string]MetricQuery, len(chunk))
	period := int32(s.cfg.Period / time.Second)
	for i, q := range chunk {
		id := fmt.Sprintf("q%d", i)
		ids[id] = q
		dims := make([]cwtypes.Dimension, len(q.Dims))
		for j, d := range q.Dims {
			dims[j] = cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)}
		}
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(q.Namespace), MetricName: aws.String(q.Metric), Dimensions: dims},
				Period: aws.Int32(period), Stat: aws.String(q.Stat),
			},
		})
	}
	s.queries.Add(float64(len(chunk)))
	out := map[string]Datapoint{}
	calls := 0
	p := cloudwatch.NewGetMetricDataPaginator(api, in)
	for p.HasMorePages() {
		calls++
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, calls, fmt.Errorf("GetMetricData: %w", err)
		}
		for _, r := range page.MetricDataResults {
			q, ok := ids[aws.ToString(r.Id)]
			if !ok || len(r.Values) == 0 || len(r.Timestamps) == 0 {
				continue
			}
			key := q.Key()
			// Newest first (ScanBy descending); on later pages a series'
			// older points arrive and must not overwrite the newest.
			if prev, seen := out[key]; seen && !r.Timestamps[0].After(prev.Time) {
				continue
			}
			out[key] = Datapoint{Value: r.Values[0], Time: r.Timestamps[0], Family: q.Family}
		}
	}
	return out, calls, nil
}
