package collector_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/sim"
)

// TestRenderOnlyWhenDataChanges checks the pre-rendered exposition: it is
// rebuilt when a source refreshes or goes stale, not per call, and holds
// what the registry would serve.
func TestRenderOnlyWhenDataChanges(t *testing.T) {
	s := startStack(t, "steady", steadyConfig)
	s.advance(t, time.Minute, time.Minute)
	if did, err := s.p.Render(); !did || err != nil {
		t.Fatalf("first render: %v %v", did, err)
	}
	if did, _ := s.p.Render(); did {
		t.Fatal("re-rendered without new data")
	}
	text := renderedText(t, s.p.Rendered())
	if !strings.Contains(text, `aurora_instance_cpu_utilization_ratio{account="123456789012",db_cluster="shop-db",db_instance="shop-db-writer"`) {
		t.Fatalf("rendering lacks the writer's CPU:\n%.2000s", text)
	}
	if strings.Contains(text, "aurora_exporter_source_data_age_seconds") {
		t.Fatal("per-scrape series belong to the live part, not the rendering")
	}
	s.advance(t, time.Minute, time.Minute)
	if did, _ := s.p.Render(); !did {
		t.Fatal("not re-rendered after a refresh")
	}
	// Past the staleness limit with every source failing, the rendering
	// drops the families.
	if _, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Rate: 1}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultDNSOutage, DNSMode: "servfail"}, 0); err != nil {
		t.Fatal(err)
	}
	s.advanceFailing(t, 11*time.Minute, time.Minute)
	if did, _ := s.p.Render(); !did {
		t.Fatal("not re-rendered when data went stale")
	}
	if strings.Contains(renderedText(t, s.p.Rendered()), "aurora_instance_cpu_utilization_ratio{") {
		t.Fatal("stale data still rendered")
	}
}

func renderedText(t *testing.T, r *collector.Rendered) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// servedText is what aurora_exporter serves on /metrics: the pre-rendered
// families followed by the per-scrape series (CollectSelf).
func servedText(t *testing.T, p *collector.Pipeline) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(selfCollector{p})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return renderedText(t, p.Rendered()) + b.String()
}

type selfCollector struct{ p *collector.Pipeline }

func (c selfCollector) Describe(chan<- *prometheus.Desc)    {}
func (c selfCollector) Collect(ch chan<- prometheus.Metric) { c.p.CollectSelf(ch) }

// servedValue is the value of the one served series of name whose labels
// contain every label="value" pair given.
func servedValue(t *testing.T, text, name string, labels ...string) float64 {
	t.Helper()
	var found []float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		found = append(found, v)
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d served series, want 1", name, labels, len(found))
	}
	return found[0]
}

// TestServedFreshSignalAgeMoves: while Enhanced Monitoring brings nothing
// new (both fresh sources throttled), the nothing-changed rendering must not freeze the
// signal's age, or the rules' freshness bound never drops a frozen value.
func TestServedFreshSignalAgeMoves(t *testing.T) {
	s := startFreshStack(t, freshScenario(t), freshConfig)
	s.advance(t, 2*time.Minute, 5*time.Second)
	if _, err := s.p.Render(); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"logs", "pi"} {
		if _, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: svc, Rate: 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	s.advanceFailing(t, 30*time.Second, 5*time.Second)
	if _, err := s.p.Render(); err != nil {
		t.Fatal(err)
	}
	if age := servedValue(t, servedText(t, s.p), "aurora_instance_fresh_signal_age_seconds", `db_instance="shop-db-writer"`); age < 25 {
		t.Fatalf("served fresh signal age %gs after 30 s without a new document", age)
	}
}

// TestServedTriggeredRefreshesCounter: the discovery trigger's counter is
// per-scrape and must be on /metrics.
func TestServedTriggeredRefreshesCounter(t *testing.T) {
	s := startFreshStack(t, freshScenario(t), freshConfig)
	s.advance(t, time.Minute, 5*time.Second)
	if _, err := s.p.Render(); err != nil {
		t.Fatal(err)
	}
	servedValue(t, servedText(t, s.p), "aurora_exporter_discovery_triggered_refreshes_total")
}
