package collector

import (
	"context"
	"errors"
	"fmt"
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

var piQueries = []awspi.MetricQuery{{Metric: piDBLoad}, {Metric: piCPU}}

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

// PerformanceInsightsSource reads db.load.avg and OS CPU at 1 s periods
// for every discovered instance with Performance Insights on.
type PerformanceInsightsSource struct {
	clients   *ClientSet
	discovery *Discovery
	cfg       PerformanceInsightsConfig
	clock     Clock

	*published[PISample]

	// mu keeps refreshes apart; the published samples are the last good
	// data a failed call falls back to.
	mu sync.Mutex

	denied prometheus.Gauge
}

func NewPerformanceInsightsSource(clients *ClientSet, discovery *Discovery, cfg PerformanceInsightsConfig, clock Clock) *PerformanceInsightsSource {
	return &PerformanceInsightsSource{clients: clients, discovery: discovery, cfg: cfg, clock: clock,
		published: newPublished[PISample](),
		denied: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "aurora_exporter", Name: "performance_insights_not_authorized_instances",
			Help: "Instances discovery lists with Performance Insights on whose last GetResourceMetrics answered NotAuthorizedException (turned off since discovery, or no pi:GetResourceMetrics permission); they fall back to CloudWatch.",
		})}
}

func (s *PerformanceInsightsSource) Name() string { return "performance_insights" }

func (s *PerformanceInsightsSource) Describe(ch chan<- *prometheus.Desc) { s.denied.Describe(ch) }
func (s *PerformanceInsightsSource) Collect(ch chan<- prometheus.Metric) { s.denied.Collect(ch) }

// Samples is the newest values per DbiResourceId.
func (s *PerformanceInsightsSource) Samples() map[string]PISample { return s.load() }

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

type piTarget struct {
	scope Scope
	id    string
}

func (s *PerformanceInsightsSource) Refresh(ctx context.Context) error {
	inv := s.discovery.Inventory()
	if inv == nil {
		return errors.New("no inventory yet (discovery has not succeeded)")
	}
	byScope := map[Scope][]string{}
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			if in.PerformanceInsights && in.ResourceID != "" && queried(in) {
				byScope[c.Scope] = append(byScope[c.Scope], in.ResourceID)
			}
		}
	}
	clients := s.clients.ByScope()
	now := s.clock.Now()
	in := func(id string) *awspi.GetResourceMetricsInput {
		return &awspi.GetResourceMetricsInput{
			ServiceType: "RDS", Identifier: id, MetricQueries: piQueries, PeriodInSeconds: 1,
			StartTime: now.Add(-s.cfg.Window).Truncate(time.Second), EndTime: now,
		}
	}

	var (
		mu     sync.Mutex
		got    = map[string]PISample{}
		denied = map[string]bool{}
		errs   []error
	)
	var wg sync.WaitGroup
	for scope, ids := range byScope {
		sc := clients[scope]
		if sc == nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("no clients for %s/%s", scope.Account, scope.Region))
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var g errgroup.Group
			g.SetLimit(s.cfg.Concurrency)
			for _, id := range ids {
				g.Go(func() error {
					out, err := sc.PI.GetResourceMetrics(ctx, in(id))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						got[id] = newestValues(out)
					case notAuthorized(err):
						denied[id] = true
					default:
						errs = append(errs, fmt.Errorf("%s/%s: GetResourceMetrics %s: %w", scope.Account, scope.Region, id, err))
					}
					return nil
				})
			}
			_ = g.Wait()
		}()
	}
	wg.Wait()

	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.load()
	next := map[string]PISample{}
	for _, ids := range byScope {
		for _, id := range ids {
			switch smp, ok := got[id]; {
			case ok:
				next[id] = smp
			case denied[id]:
				// Falls back: nothing served for it.
			default:
				if old, ok := prev[id]; ok {
					next[id] = old // failed call: last good data
				}
			}
		}
	}
	s.denied.Set(float64(len(denied)))
	s.store(next)
	return errors.Join(errs...)
}
