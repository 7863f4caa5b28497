package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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

// Key identifies the series in CloudWatch: the source plans each series
// once per refresh (families asking for the same one share the answer) and
// orders its calls by it. Families never look values up by it.
func (q MetricQuery) Key() string {
	// Sized first: a refresh keys every query of the fleet (11,000 for
	// 1,600 instances), and concatenating pieces would triple the garbage.
	n := len(q.Scope.Account) + len(q.Scope.Region) + len(q.Namespace) + len(q.Metric) + len(q.Stat) + 4
	for _, d := range q.Dims {
		n += 2 + len(d.Name) + len(d.Value)
	}
	var b strings.Builder
	b.Grow(n)
	for i, part := range [...]string{q.Scope.Account, q.Scope.Region, q.Namespace, q.Metric, q.Stat} {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(part)
	}
	for _, d := range q.Dims {
		b.WriteByte('|')
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

// Datapoint is the newest value of a series and when CloudWatch stamped it.
type Datapoint struct {
	Value float64
	Time  time.Time
}

// PlannedQuery is one CloudWatch query as a family planned it for one
// refresh: asked under ID in GetMetricData and, once the refresh has
// answered, holding the series' newest datapoint. A family keeps its
// planned queries in its own plan and reads each value from the query it
// planned.
type PlannedQuery struct {
	MetricQuery
	// ID is the query's GetMetricData id, unique within its account and
	// region for the refresh.
	ID string
	// Point is the newest datapoint; Answered is false when CloudWatch had
	// none in the window.
	Point    Datapoint
	Answered bool
}

// FamilyPlan is one family's queries for one refresh, kept in the
// family's own shape (which series each query feeds). The source fills
// the datapoints in and publishes the plan; it is read-only after that.
type FamilyPlan interface {
	Queries() []*PlannedQuery
}

// QueryPlanner is what the CloudWatch source needs from a family: its
// plan for an inventory (nil when it has no CloudWatch queries).
type QueryPlanner interface {
	Name() string
	Plan(inv *Inventory) FamilyPlan
}

// CloudWatchData is what one refresh publishes: each family's plan with
// its answers.
type CloudWatchData struct {
	plans map[string]FamilyPlan
	// newest is each family's newest datapoint time, found once when the
	// refresh publishes rather than by every scrape (collectSelf).
	newest map[string]time.Time
}

// newCloudWatchData publishes plans, whose answers are final.
func newCloudWatchData(plans map[string]FamilyPlan) *CloudWatchData {
	newest := map[string]time.Time{}
	for _, p := range plans {
		for _, q := range p.Queries() {
			if q.Answered && q.Point.Time.After(newest[q.Family]) {
				newest[q.Family] = q.Point.Time
			}
		}
	}
	return &CloudWatchData{plans: plans, newest: newest}
}

// Plan is the named family's plan (nil when it planned nothing).
func (d *CloudWatchData) Plan(family string) FamilyPlan {
	if d == nil {
		return nil
	}
	return d.plans[family]
}

// Newest is the time of the newest datapoint per family (read-only).
func (d *CloudWatchData) Newest() map[string]time.Time {
	if d == nil {
		return nil
	}
	return d.newest
}

// Answered counts the queries CloudWatch answered.
func (d *CloudWatchData) Answered() int {
	n := 0
	if d == nil {
		return n
	}
	for _, p := range d.plans {
		for _, q := range p.Queries() {
			if q.Answered {
				n++
			}
		}
	}
	return n
}

// newestByKey is the answered datapoints by series, for carrying a failed
// scope's last good values into the next refresh.
func (d *CloudWatchData) newestByKey(scope Scope) map[string]Datapoint {
	out := map[string]Datapoint{}
	if d == nil {
		return out
	}
	for _, p := range d.plans {
		for _, q := range p.Queries() {
			if q.Answered && q.Scope == scope {
				out[q.Key()] = q.Point
			}
		}
	}
	return out
}

// CloudWatchSource fetches every query of a refresh in
// ceil(queries / 500) GetMetricData calls per account and region.
type CloudWatchSource struct {
	clients   *ClientSet
	discovery *Discovery
	planners  []QueryPlanner
	cfg       CloudWatchConfig
	clock     Clock

	data atomic.Pointer[CloudWatchData]

	queries      prometheus.Counter
	callsLast    prometheus.Gauge
	callsMinimum prometheus.Gauge
}

func NewCloudWatchSource(clients *ClientSet, discovery *Discovery, planners []QueryPlanner, cfg CloudWatchConfig, clock Clock) *CloudWatchSource {
	s := &CloudWatchSource{
		clients: clients, discovery: discovery, planners: planners, cfg: cfg, clock: clock,
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
	s.data.Store(newCloudWatchData(map[string]FamilyPlan{}))
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

// Data is the newest refresh's plans and answers.
func (s *CloudWatchSource) Data() *CloudWatchData { return s.data.Load() }

// refreshPlan is a refresh's plans and the queries to ask, once per
// series, grouped by scope and ordered by series.
type refreshPlan struct {
	plans map[string]FamilyPlan
	ask   map[Scope][]*PlannedQuery
	// same are the other planned queries of a series asked once.
	same map[*PlannedQuery][]*PlannedQuery
}

// plan asks every family for its plan and gives each series one id.
func (s *CloudWatchSource) plan(inv *Inventory) *refreshPlan {
	rp := &refreshPlan{plans: map[string]FamilyPlan{}, ask: map[Scope][]*PlannedQuery{}, same: map[*PlannedQuery][]*PlannedQuery{}}
	var fps []FamilyPlan
	n := 0
	for _, p := range s.planners {
		if fp := p.Plan(inv); fp != nil {
			rp.plans[p.Name()] = fp
			fps = append(fps, fp)
			n += len(fp.Queries())
		}
	}
	// Every planned query by its series, sorted once (a slice, not maps
	// of keys: this is the CloudWatch refresh's largest transient). Equal
	// keys stay in planning order and the first one planned is asked.
	type keyed struct {
		key string
		q   *PlannedQuery
	}
	all := make([]keyed, 0, n)
	for _, fp := range fps {
		for _, q := range fp.Queries() {
			all = append(all, keyed{q.Key(), q})
		}
	}
	// Sorted by series so a fleet's calls carry the same queries from one
	// refresh to the next.
	sort.SliceStable(all, func(i, j int) bool { return all[i].key < all[j].key })
	for i := 0; i < len(all); {
		first := all[i].q
		j := i + 1
		for ; j < len(all) && all[j].key == all[i].key; j++ {
			rp.same[first] = append(rp.same[first], all[j].q)
		}
		rp.ask[first.Scope] = append(rp.ask[first.Scope], first)
		i = j
	}
	for _, qs := range rp.ask {
		for i, q := range qs {
			q.ID = "q" + strconv.Itoa(i)
		}
	}
	return rp
}

// answer records a series' datapoint on every query that planned it.
func (rp *refreshPlan) answer(q *PlannedQuery, dp Datapoint) {
	q.Point, q.Answered = dp, true
	for _, pq := range rp.same[q] {
		pq.Point, pq.Answered = dp, true
	}
}

func (s *CloudWatchSource) Refresh(ctx context.Context) error {
	inv := s.discovery.Inventory()
	if inv == nil {
		return errors.New("no inventory yet (discovery has not succeeded)")
	}
	plan := s.plan(inv)
	end := s.clock.Now().Truncate(s.cfg.Period)
	start := end.Add(-s.cfg.Window)

	// The calls write each answer into its planned query (the plan is
	// not published yet, and a query belongs to one call): no map of the
	// fleet's answers is built beside the plan.
	var calls atomic.Int64
	failed := forEachScope(s.clients, plan.ask, func(sc *ScopeClients, qs []*PlannedQuery) error {
		n, err := s.fetchScope(ctx, sc.CloudWatch, qs, start, end)
		calls.Add(int64(n))
		return err
	})
	var errs []error
	minimum, answered := 0, 0
	prev := s.data.Load()
	for scope, qs := range plan.ask {
		minimum += (len(qs) + MaxQueriesPerCall - 1) / MaxQueriesPerCall
		if err := failed[scope]; err != nil {
			errs = append(errs, err)
			// A failed scope keeps its last good values (their age keeps
			// growing, and the runner's staleness limit bounds how long
			// they are served), not the answers of its calls that did
			// succeed: half a refresh would mix fresh and missing series
			// under one "up".
			old := prev.newestByKey(scope)
			for _, q := range qs {
				q.Point, q.Answered = Datapoint{}, false
				if dp, ok := old[q.Key()]; ok {
					plan.answer(q, dp)
				}
			}
			continue
		}
		answered++
		for _, q := range qs {
			if q.Answered {
				plan.answer(q, q.Point)
			}
		}
	}
	s.callsLast.Set(float64(calls.Load()))
	s.callsMinimum.Set(float64(minimum))
	if len(errs) > 0 && answered == 0 && len(plan.ask) > 0 {
		return errors.Join(errs...)
	}
	s.data.Store(newCloudWatchData(plan.plans))
	return errors.Join(errs...)
}

// fetchScope runs the scope's queries in chunks of 500, at most
// cfg.Concurrency calls in flight, each paged with NextToken; the answers
// are written into the queries.
func (s *CloudWatchSource) fetchScope(ctx context.Context, api cloudwatchAPI, qs []*PlannedQuery, start, end time.Time) (int, error) {
	type chunkResult struct {
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
			calls, err := s.fetchChunk(ctx, api, chunk, start, end)
			ch <- chunkResult{calls, err}
		}()
	}
	calls := 0
	var errs []error
	for _, ch := range chunks {
		r := <-ch
		calls += r.calls
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	// A scope is all or nothing (Refresh drops a failed scope's answers).
	return calls, errors.Join(errs...)
}

func (s *CloudWatchSource) fetchChunk(ctx context.Context, api cloudwatchAPI, chunk []*PlannedQuery, start, end time.Time) (int, error) {
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		ScanBy:            cwtypes.ScanByTimestampDescending,
		MetricDataQueries: make([]cwtypes.MetricDataQuery, 0, len(chunk)),
	}
	ids := make(map[string]*PlannedQuery, len(chunk))
	period := int32(s.cfg.Period / time.Second)
	for _, q := range chunk {
		id := q.ID
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
	calls := 0
	p := cloudwatch.NewGetMetricDataPaginator(api, in)
	for p.HasMorePages() {
		calls++
		page, err := p.NextPage(ctx)
		if err != nil {
			return calls, fmt.Errorf("GetMetricData: %w", err)
		}
		for _, r := range page.MetricDataResults {
			q, ok := ids[aws.ToString(r.Id)]
			if !ok || len(r.Values) == 0 || len(r.Timestamps) == 0 {
				continue
			}
			// Newest first (ScanBy descending); on later pages a series'
			// older points arrive and must not overwrite the newest.
			if q.Answered && !r.Timestamps[0].After(q.Point.Time) {
				continue
			}
			q.Point, q.Answered = Datapoint{Value: r.Values[0], Time: r.Timestamps[0]}, true
		}
	}
	return calls, nil
}
