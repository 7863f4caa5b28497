package collector

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/aurora-surge/aurora-surge/internal/awspi"
)

// The Performance Insights metrics read, in one GetResourceMetrics call
// per instance (the API takes up to 15).
const (
	piDBLoad = "db.load.avg"
	piCPU    = "os.cpuUtilization.total.avg"
)

// piDBLoadPeriod is the db_load schedule's period: one datapoint per
// minute, the natural pairing with a poll every minute, and a minute's
// average is what a warning held for a minute wants.
const piDBLoadPeriod = time.Minute

// PISample is an instance's newest Performance Insights values. A metric
// without a datapoint carrying a value in the window is absent (Has*).
type PISample struct {
	DBLoad     float64 // average active sessions
	DBLoadTime time.Time
	HasDBLoad  bool
	CPU        float64 // ratio (0-1)
	CPUTime    time.Time
	HasCPU     bool
}

// OSSamples is what the Performance Insights schedule reads from the
// Enhanced Monitoring source: which instances it serves now.
type OSSamples interface {
	Samples() map[string]OSSample
}

// PerformanceInsightsOptions builds a PerformanceInsightsSource.
type PerformanceInsightsOptions struct {
	Clients   *ClientSet
	Discovery *Discovery
	Config    PerformanceInsightsConfig
	// FreshInterval is refresh.performance_insights_interval: the fresh
	// schedule's period between calls, and the slowest Enhanced
	// Monitoring interval that counts as fresh enough to leave PI the
	// DB load alone.
	FreshInterval time.Duration
	// EnhancedMonitoring is nil when that source does not run; every
	// instance is then on the fresh schedule.
	EnhancedMonitoring OSSamples
	// EMMaxAge: an Enhanced Monitoring document older than this no
	// longer counts (enhanced_monitoring.window, the look-back past
	// which that source drops a silent stream itself, or stale_after if
	// shorter, past which the exporter stops serving it).
	EMMaxAge time.Duration
	Clock    Clock
}

// PerformanceInsightsSource reads Performance Insights for every
// discovered instance with the feature on, on one of two schedules
// (DecidePISchedule): fresh (DB load and OS CPU at 1 s periods, every
// refresh) or db_load (DB load alone, at 60 s periods every
// db_load_interval, each instance at its own phase).
type PerformanceInsightsSource struct {
	o PerformanceInsightsOptions

	*published[PISample]

	// mu keeps refreshes apart and guards due; the published samples are
	// the last good data a failed call falls back to.
	mu sync.Mutex
	// due is when each instance on the db_load schedule is next polled;
	// refused holds the instances whose last call answered
	// NotAuthorizedException, until one succeeds (an instance on db_load
	// is not asked again at every refresh).
	due     map[string]time.Time
	refused map[string]bool

	denied    prometheus.Gauge
	schedules *prometheus.GaugeVec
}

func NewPerformanceInsightsSource(o PerformanceInsightsOptions) *PerformanceInsightsSource {
	if o.Clock == nil {
		o.Clock = RealClock
	}
	return &PerformanceInsightsSource{o: o,
		published: newPublished[PISample](),
		due:       map[string]time.Time{},
		refused:   map[string]bool{},
		denied: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "aurora_exporter", Name: "performance_insights_not_authorized_instances",
			Help: "Instances discovery lists with Performance Insights on whose last GetResourceMetrics answered NotAuthorizedException (turned off since discovery, or no pi:GetResourceMetrics permission); they fall back to CloudWatch.",
		}),
		schedules: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "aurora_exporter", Name: "performance_insights_instances",
			Help: "Instances read from Performance Insights per schedule at the last refresh: fresh (DB load and OS CPU at 1 s periods every performance_insights_interval: no Enhanced Monitoring serving, or slower than that interval) or db_load (DB load alone every db_load_interval: Enhanced Monitoring gives the fresh CPU).",
		}, []string{"schedule"}),
	}
}

func (s *PerformanceInsightsSource) Name() string { return "performance_insights" }

func (s *PerformanceInsightsSource) Describe(ch chan<- *prometheus.Desc) {
	s.denied.Describe(ch)
	s.schedules.Describe(ch)
}

func (s *PerformanceInsightsSource) Collect(ch chan<- prometheus.Metric) {
	s.denied.Collect(ch)
	s.schedules.Collect(ch)
}

// Samples is the newest values per DbiResourceId.
func (s *PerformanceInsightsSource) Samples() map[string]PISample { return s.load() }

// PISchedule is how an instance is read from Performance Insights.
type PISchedule string

const (
	// PIScheduleNone: not read (feature off, no identifier, not queryable).
	PIScheduleNone PISchedule = ""
	// PIScheduleFresh: Performance Insights is the instance's fresh CPU
	// source; both metrics at 1 s periods every refresh.
	PIScheduleFresh PISchedule = "fresh"
	// PIScheduleDBLoad: Enhanced Monitoring gives the fresh CPU; only
	// db.load.avg is read.
	PIScheduleDBLoad PISchedule = "db_load"
)

// DecidePISchedule picks an instance's schedule. Enhanced Monitoring
// counts only when it is at most freshInterval apart (as fresh as what
// the fresh schedule would give) and its source serves a document no
// older than emMaxAge: an instance whose stream went silent, or whose
// source has failed that long, gets its CPU from Performance Insights
// again at the next refresh.
func DecidePISchedule(in *InstanceInfo, em OSSample, hasEM bool, now time.Time, freshInterval, emMaxAge time.Duration) PISchedule {
	if !in.PerformanceInsights || in.ResourceID == "" || !queried(in) {
		return PIScheduleNone
	}
	emEvery := time.Duration(in.MonitoringInterval) * time.Second
	if in.MonitoringInterval <= 0 || emEvery > freshInterval || !hasEM || now.Sub(em.Time) > emMaxAge {
		return PIScheduleFresh
	}
	return PIScheduleDBLoad
}

// nextDBLoadPoll is the instance's first poll slot after now. Slots are
// every interval at a phase taken from the identifier, so a fleet's
// db_load calls spread over the refreshes of an interval instead of
// landing in one burst, and the same instance keeps its phase across
// restarts.
func nextDBLoadPoll(id string, now time.Time, interval time.Duration) time.Time {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	slot := now.Truncate(interval).Add(time.Duration(h.Sum64() % uint64(interval)))
	for !slot.After(now) {
		slot = slot.Add(interval)
	}
	return slot
}

// piRequest is what one call asks for: the schedule's metrics and period
// from just after the newest datapoint held (at most window back).
func piRequest(id string, sch PISchedule, held PISample, hasHeld bool, now time.Time, window, dbLoadInterval time.Duration) *awspi.GetResourceMetricsInput {
	in := &awspi.GetResourceMetricsInput{ServiceType: "RDS", Identifier: id, PeriodInSeconds: 1, EndTime: now}
	var from time.Time
	switch {
	case sch == PIScheduleDBLoad:
		in.MetricQueries = []awspi.MetricQuery{{Metric: piDBLoad}}
		if dbLoadInterval > 0 {
			in.PeriodInSeconds = int32(piDBLoadPeriod / time.Second)
			// Room for one complete, published 60 s period on the
			// first call, whatever the window.
			window = max(window, 2*piDBLoadPeriod)
		}
		if hasHeld && held.HasDBLoad {
			from = held.DBLoadTime
		}
	default:
		in.MetricQueries = []awspi.MetricQuery{{Metric: piDBLoad}, {Metric: piCPU}}
		if hasHeld && held.HasDBLoad && held.HasCPU {
			from = held.DBLoadTime
			if held.CPUTime.Before(from) {
				from = held.CPUTime
			}
		}
	}
	in.StartTime = now.Add(-window)
	if from.After(in.StartTime) {
		// Datapoints carry their period's end: the next period starts there.
		in.StartTime = from
	}
	in.StartTime = in.StartTime.Truncate(time.Second)
	if !in.StartTime.Before(now) {
		in.StartTime = now.Add(-time.Second).Truncate(time.Second)
	}
	return in
}

// merge keeps, per metric, the newer of what was held and what a call
// returned.
func (held PISample) merge(got PISample) PISample {
	if got.HasDBLoad && (!held.HasDBLoad || got.DBLoadTime.After(held.DBLoadTime)) {
		held.DBLoad, held.DBLoadTime, held.HasDBLoad = got.DBLoad, got.DBLoadTime, true
	}
	if got.HasCPU && (!held.HasCPU || got.CPUTime.After(held.CPUTime)) {
		held.CPU, held.CPUTime, held.HasCPU = got.CPU, got.CPUTime, true
	}
	return held
}

// newestValues picks, per metric, the newest datapoint that has a value.
func newestValues(out *awspi.GetResourceMetricsOutput) PISample {
	var smp PISample
	for _, m := range out.MetricList {
		for i := len(m.DataPoints) - 1; i >= 0; i-- {
			dp := m.DataPoints[i]
			if dp.Value == nil {
				continue
			}
			switch m.Metric {
			case piDBLoad:
				if !smp.HasDBLoad || dp.Timestamp.After(smp.DBLoadTime) {
					smp.DBLoad, smp.DBLoadTime, smp.HasDBLoad = *dp.Value, dp.Timestamp, true
				}
			case piCPU:
				if !smp.HasCPU || dp.Timestamp.After(smp.CPUTime) {
					smp.CPU, smp.CPUTime, smp.HasCPU = *dp.Value/100, dp.Timestamp, true
				}
			}
			break
		}
	}
	return smp
}

// notAuthorized: the instance is not a Performance Insights data source
// (turned off since discovery, or no pi: permission for it).
func notAuthorized(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NotAuthorizedException"
}

type piCall struct {
	id  string
	sch PISchedule
	in  *awspi.GetResourceMetricsInput
}

func (s *PerformanceInsightsSource) Refresh(ctx context.Context) error {
	inv := s.o.Discovery.Inventory()
	if inv == nil {
		return errors.New("no inventory yet (discovery has not succeeded)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Clock.Now()
	var em map[string]OSSample
	if s.o.EnhancedMonitoring != nil {
		em = s.o.EnhancedMonitoring.Samples()
	}
	prev := s.load()
	dbLoadEvery := s.o.Config.DBLoadInterval

	// Plan: every instance read gets a schedule; the ones on db_load
	// that are not due keep what they hold.
	next := map[string]PISample{}
	schedule := map[string]PISchedule{}
	counts := map[PISchedule]int{}
	byScope := map[Scope][]piCall{}
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			doc, hasEM := em[in.ResourceID]
			sch := DecidePISchedule(in, doc, hasEM, now, s.o.FreshInterval, s.o.EMMaxAge)
			if sch == PIScheduleNone {
				continue
			}
			id := in.ResourceID
			schedule[id] = sch
			counts[sch]++
			held, hasHeld := prev[id]
			if sch == PIScheduleDBLoad {
				// Enhanced Monitoring has the CPU: a PI CPU held from
				// the fresh schedule would only go stale.
				held.HasCPU, held.CPU, held.CPUTime = false, 0, time.Time{}
				hasHeld = hasHeld && held.HasDBLoad
			}
			if hasHeld {
				next[id] = held
			}
			if sch == PIScheduleDBLoad && dbLoadEvery > 0 {
				if due, ok := s.due[id]; ok && now.Before(due) {
					continue
				}
			}
			byScope[c.Scope] = append(byScope[c.Scope], piCall{id, sch, piRequest(id, sch, held, hasHeld, now, s.o.Config.Window, dbLoadEvery)})
		}
	}
	for id := range s.due {
		if schedule[id] != PIScheduleDBLoad {
			delete(s.due, id)
		}
	}
	for id := range s.refused {
		if schedule[id] == PIScheduleNone {
			delete(s.refused, id)
		}
	}

	var (
		mu     sync.Mutex
		got    = map[string]PISample{}
		denied = map[string]bool{}
		errs   []error
	)
	failed := forEachScope(s.o.Clients, byScope, func(sc *ScopeClients, calls []piCall) error {
		var g errgroup.Group
		g.SetLimit(s.o.Config.Concurrency)
		for _, call := range calls {
			g.Go(func() error {
				out, err := sc.PI.GetResourceMetrics(ctx, call.in)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					got[call.id] = newestValues(out)
				case notAuthorized(err):
					denied[call.id] = true
				default:
					errs = append(errs, fmt.Errorf("%s/%s: GetResourceMetrics %s: %w", sc.Scope.Account, sc.Scope.Region, call.id, err))
				}
				return nil
			})
		}
		return g.Wait()
	})
	for _, err := range failed {
		errs = append(errs, err)
	}

	for _, calls := range byScope {
		for _, call := range calls {
			answered := true
			switch smp, ok := got[call.id]; {
			case ok:
				next[call.id] = next[call.id].merge(smp)
				delete(s.refused, call.id)
			case denied[call.id]:
				// Falls back: nothing served for it.
				delete(next, call.id)
				s.refused[call.id] = true
			default:
				// Failed call: the last good data stays, and the instance
				// is asked again at the next refresh.
				answered = false
			}
			// An instance with no DB load yet (just created, or its
			// first periods not published) is asked again at the next
			// refresh rather than an interval later.
			if answered && call.sch == PIScheduleDBLoad && dbLoadEvery > 0 && (denied[call.id] || next[call.id].HasDBLoad) {
				s.due[call.id] = nextDBLoadPoll(call.id, now, dbLoadEvery)
			}
		}
	}
	s.denied.Set(float64(len(s.refused)))
	for _, sch := range []PISchedule{PIScheduleFresh, PIScheduleDBLoad} {
		s.schedules.WithLabelValues(string(sch)).Set(float64(counts[sch]))
	}
	s.store(next)
	return errors.Join(errs...)
}
