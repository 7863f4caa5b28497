package backtest

import (
	"fmt"
	"strings"

	"github.com/aurora-surge/aurora-surge/sim"
)

// FreshSources turns the fresh per-instance sources on in every cluster
// and instance of the scenario, for every policy alike: only the product
// reads them, so the comparison shows what they change.
type FreshSources struct {
	// EnhancedMonitoringSeconds is the instances' MonitoringInterval;
	// 0 leaves the scenario's own setting.
	EnhancedMonitoringSeconds int `json:"enhanced_monitoring_seconds,omitempty"`
	// PerformanceInsights turns Performance Insights on; false leaves the
	// scenario's own setting.
	PerformanceInsights bool `json:"performance_insights,omitempty"`
}

// On is whether the option changes anything.
func (f FreshSources) On() bool { return f.EnhancedMonitoringSeconds != 0 || f.PerformanceInsights }

// Validate refuses an interval RDS would refuse, before a world starts.
func (f FreshSources) Validate() error {
	if !sim.ValidMonitoringInterval(f.EnhancedMonitoringSeconds) {
		return fmt.Errorf("enhanced monitoring interval %d s: RDS accepts 0 (off), 1, 5, 10, 15, 30 or 60", f.EnhancedMonitoringSeconds)
	}
	return nil
}

// apply sets the cluster defaults (which also cover readers the scaler
// creates through the API) and overrides every listed instance, so no
// instance of the scenario is left without the source.
func (f FreshSources) apply(sc *sim.Scenario) {
	for i := range sc.Fleets {
		c := &sc.Fleets[i].Cluster
		if f.EnhancedMonitoringSeconds != 0 {
			c.MonitoringInterval = f.EnhancedMonitoringSeconds
		}
		if f.PerformanceInsights {
			c.PerformanceInsights = true
		}
		for j := range c.Instances {
			in := &c.Instances[j]
			if f.EnhancedMonitoringSeconds != 0 {
				v := f.EnhancedMonitoringSeconds
				in.MonitoringInterval = &v
			}
			if f.PerformanceInsights {
				on := true
				in.PerformanceInsights = &on
			}
		}
	}
}

func (f FreshSources) String() string {
	var on []string
	if f.EnhancedMonitoringSeconds != 0 {
		on = append(on, fmt.Sprintf("Enhanced Monitoring at %d s", f.EnhancedMonitoringSeconds))
	}
	if f.PerformanceInsights {
		on = append(on, "Performance Insights")
	}
	if len(on) == 0 {
		return "as the scenario says"
	}
	return strings.Join(on, ", ")
}
