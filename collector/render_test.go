package collector_test

import (
	"strings"
	"testing"
	"time"

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
