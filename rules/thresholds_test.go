package rules

import (
	"strings"
	"testing"
)

// A bound at or below the readers' target would read Aurora's own CPU
// steering as "held at max ACU"; above 1 it never fires.
func TestReadersCPUBoundValidated(t *testing.T) {
	for _, v := range []float64{0, 0.3, 0.2, 1.5} {
		th, err := DefaultThresholds()
		if err != nil {
			t.Fatal(err)
		}
		th.Serverless.ReadersCPUBound = v
		if err := th.Validate(); err == nil || !strings.Contains(err.Error(), "serverless.readers_cpu_bound") {
			t.Errorf("readers_cpu_bound %g: %v", v, err)
		}
	}
	th, err := DefaultThresholds()
	if err != nil {
		t.Fatal(err)
	}
	if th.Serverless.ReadersCPUBound != th.Readers.Step1CPU {
		t.Errorf("shipped readers_cpu_bound %g, want the 70 %% step %g (chosen by backtest, rules/README.md)", th.Serverless.ReadersCPUBound, th.Readers.Step1CPU)
	}
}

// An ASG gets the first tier whose regex matches its whole name, as the
// generated rules' selectors do, else the default.
func TestRequestsTargetFor(t *testing.T) {
	a := ASG{Tiers: []Tier{
		{Name: "web", ASGRegex: ".*-web.*", RequestsPerInstancePerMinute: 1000},
		{Name: "any", ASGRegex: "events-.*", RequestsPerInstancePerMinute: 500},
	}, DefaultRequestsPerInstancePerMinute: 800}
	for name, want := range map[string]float64{"events-web": 1000, "events-api": 500, "web": 800, "x-events-api": 800} {
		if got := a.RequestsTargetFor(name); got != want {
			t.Errorf("%s: %g, want %g", name, got, want)
		}
	}
}
