package collector

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fleetInventory is testInventory with a proxy and an ASG (one target
// group) per cluster, so every CloudWatch family has queries.
func fleetInventory(clusters, instances int) *Inventory {
	inv := testInventory(clusters, instances)
	for _, c := range inv.Clusters {
		inv.Proxies = append(inv.Proxies, &ProxyInfo{Scope: c.Scope, Name: c.ID + "-proxy", Cluster: c.ID, TargetGroups: []string{"default"}})
		inv.ASGs = append(inv.ASGs, &ASGInfo{Scope: c.Scope, Name: c.ID + "-web", Min: 2, Max: 20, Desired: 4, InService: 4,
			TargetGroups: []TargetGroupInfo{{Name: c.ID + "-tg", Dimension: "targetgroup/" + c.ID + "-tg/0123456789abcdef"}}})
	}
	return inv
}

// markRefreshed records a successful refresh of the named source.
type markRefreshed string

func (m markRefreshed) Name() string                  { return string(m) }
func (m markRefreshed) Refresh(context.Context) error { return nil }

// refreshedExporter is an exporter over inv whose CloudWatch source has
// refreshed once against the fake (every query answered).
func refreshedExporter(tb testing.TB, inv *Inventory) (*Exporter, *CloudWatchSource) {
	tb.Helper()
	fake := &fakeCloudWatch{perPage: 500, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	clock := fixedClock{fake.t0}
	d := &Discovery{}
	d.inv.Store(inv)
	clients := &ClientSet{scopes: []*ScopeClients{{Scope: inv.Clusters[0].Scope, CloudWatch: fake}}}
	scrapers := AllScrapers(time.Minute)
	var ps []QueryPlanner
	for _, s := range scrapers {
		ps = append(ps, s)
	}
	src := NewCloudWatchSource(clients, d, ps, DefaultConfig().CloudWatch, clock)
	runner := NewRunner(clock, discardLogger(), time.Minute)
	if err := runner.RefreshOnce(context.Background(), markRefreshed("discovery")); err != nil {
		tb.Fatal(err)
	}
	if err := runner.RefreshOnce(context.Background(), src); err != nil {
		tb.Fatal(err)
	}
	return NewExporter(ExporterOptions{Runner: runner, Discovery: d, CloudWatch: src, Scrapers: scrapers,
		StaleAfter: 10 * time.Minute, Clock: clock}), src
}

// BenchmarkCollect100Clusters is one collection of every family from a
// 100-cluster x 16-instance inventory whose CloudWatch refresh answered
// every query: the path that reads each family's values.
func BenchmarkCollect100Clusters(b *testing.B) {
	exp, _ := refreshedExporter(b, fleetInventory(100, 16))
	ch := make(chan prometheus.Metric, 1<<16)
	series := 0
	b.ReportAllocs()
	for b.Loop() {
		exp.Collect(ch)
		series = len(ch)
		for len(ch) > 0 {
			<-ch
		}
	}
	b.ReportMetric(float64(series), "series")
}

// BenchmarkCloudWatchRefresh100Clusters is one CloudWatch refresh (plan,
// GetMetricData against an in-process fake, store) of the same inventory,
// and the most it holds at once beside the served plan (held_MB).
func BenchmarkCloudWatchRefresh100Clusters(b *testing.B) {
	_, src := refreshedExporter(b, fleetInventory(100, 16))
	b.ReportAllocs()
	for b.Loop() {
		if err := src.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(heldWhile(func() {
		if err := src.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
	})/(1<<20), "held_MB")
}

// renderPipeline is a pipeline over a 100-cluster x 16-instance fleet
// whose CloudWatch refresh answered every query and whose fresh sources
// hold a sample for every instance: the fleet benchmark's rendering.
func renderPipeline(tb testing.TB) *Pipeline {
	tb.Helper()
	inv := fleetInventory(100, 16)
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			in.ResourceID, in.MonitoringInterval, in.PerformanceInsights = "db-"+in.ID, 5, true
		}
	}
	exp, src := refreshedExporter(tb, inv)
	clock := exp.clock
	cfg := DefaultConfig()
	em := NewEnhancedMonitoringSource(nil, exp.discovery, cfg.EnhancedMonitoring, clock)
	pi := NewPerformanceInsightsSource(PerformanceInsightsOptions{Discovery: exp.discovery, Config: cfg.PerformanceInsights, Clock: clock})
	os, ps := map[string]OSSample{}, map[string]PISample{}
	now := clock.Now()
	for _, c := range inv.Clusters {
		for i, in := range c.Instances {
			os[in.ResourceID] = OSSample{Time: now, CPU: float64(i) / 16, VCPUs: 4, Load1: 1.5}
			ps[in.ResourceID] = PISample{DBLoad: float64(i), DBLoadTime: now, HasDBLoad: true, CPU: 0.5, CPUTime: now, HasCPU: true}
		}
	}
	em.store(os)
	pi.store(ps)
	for _, name := range []string{em.Name(), pi.Name()} {
		if err := exp.runner.RefreshOnce(context.Background(), markRefreshed(name)); err != nil {
			tb.Fatal(err)
		}
	}
	exp.em, exp.pi = em, pi
	return &Pipeline{Config: &cfg, Runner: exp.runner, Discovery: exp.discovery, CloudWatch: src,
		EnhancedMonitoring: em, PerformanceInsights: pi, Exporter: exp, clock: clock}
}

// BenchmarkRender100Clusters is one rendering of every family of
// renderPipeline (what a refresh of any source costs the exporter), and
// the most memory a rendering holds at once (held_MB: the live heap's
// peak above what it was before, sampled while the collector runs
// continuously, so garbage does not count).
func BenchmarkRender100Clusters(b *testing.B) {
	p := renderPipeline(b)
	b.ReportAllocs()
	for b.Loop() {
		p.render.key = ""
		if did, err := p.Render(); !did || err != nil {
			b.Fatal(did, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(p.Rendered().CompressedSize()), "gzip_bytes")
	b.ReportMetric(heldWhile(func() {
		p.render.key = ""
		if _, err := p.Render(); err != nil {
			b.Fatal(err)
		}
	})/(1<<20), "held_MB")
}

// heldWhile is the live heap's peak while f runs above its level before,
// with the garbage collector running back to back so that the live heap
// it reports follows what f holds.
func heldWhile(f func()) float64 {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	metrics.Read(live)
	base := live[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			runtime.Gosched()
		}
	}()
	for range 3 {
		f()
	}
	close(stop)
	<-done
	return float64(peak.Load()) - float64(base)
}
