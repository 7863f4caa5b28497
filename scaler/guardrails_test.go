package scaler

import (
	"strings"
	"testing"
	"time"
)

func TestNotInEffect(t *testing.T) {
	out := func(ago time.Duration) Event {
		return Event{DecisionID: "d1", Dimension: DimReaders, Direction: DirOut, At: t0.Add(-ago), From: 1, To: 3}
	}
	for _, tc := range []struct {
		name    string
		pending bool
		history []Event
		wait    bool
	}{
		{"previous change in effect: act", false, []Event{out(5 * time.Second)}, false},
		{"pending inside the cooldown: wait", true, []Event{out(5 * time.Second)}, true},
		{"pending after the cooldown: act", true, []Event{out(31 * time.Second)}, false},
		{"no previous change", true, nil, false},
		{"a scale-in is not a scale-out to wait for", true, []Event{in_(DimReaders, time.Second)}, false},
		{"AWS clock ahead: just now", true, []Event{{DecisionID: "d2", Dimension: DimReaders, Direction: DirOut, At: t0.Add(5 * time.Second)}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, wait := notInEffect(Input{Now: t0, Policy: policy(), History: tc.history}, DimReaders, tc.pending, "creating")
			if wait != tc.wait || (wait && !strings.Contains(reason, "cooldown")) {
				t.Fatalf("wait %v %q, want %v", wait, reason, tc.wait)
			}
		})
	}
}

func TestACUApplied(t *testing.T) {
	raised := Event{DecisionID: "a", Dimension: DimACU, Direction: DirOut, At: t0.Add(-10 * time.Second), From: 32, To: 48}
	for _, tc := range []struct {
		name    string
		history []Event
		busiest *float64
		applied bool
	}{
		{"no raise", nil, nil, true},
		{"the busiest still at the old max", []Event{raised}, ptrf(32), false},
		{"the busiest above the old max", []Event{raised}, ptrf(40), true},
		{"busiest unknown", []Event{raised}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := obs()
			if tc.busiest != nil {
				o.Values[SigBusiestACU] = *tc.busiest
			}
			if got := acuApplied(Input{Now: t0, History: tc.history, Observation: o}); got != tc.applied {
				t.Fatalf("applied %v, want %v", got, tc.applied)
			}
		})
	}
}

func ptrf(v float64) *float64 { return &v }

func TestScaleInAllowed(t *testing.T) {
	ev := func(dir string, ago time.Duration) Event {
		return Event{DecisionID: dir + ago.String(), Dimension: DimASG, Direction: dir, At: t0.Add(-ago)}
	}
	for _, tc := range []struct {
		name    string
		in      Input
		allowed bool
		reason  string
	}{
		{"signals unknown", Input{}, false, "unknown"},
		{"a scale-out signal firing", Input{SignalsKnown: true, ScaleOutFiring: []string{"AuroraAsgCPUAboveTarget"}}, false, "AuroraAsgCPUAboveTarget"},
		{"inside the scale-in cooldown", Input{SignalsKnown: true, History: []Event{ev(DirIn, time.Minute)}}, false, "scale-in cooldown"},
		{"a scale-out since ends it", Input{SignalsKnown: true, History: []Event{ev(DirIn, time.Minute), ev(DirOut, 30*time.Second)}}, true, ""},
		{"after the cooldown", Input{SignalsKnown: true, History: []Event{ev(DirIn, 3*time.Minute)}}, true, ""},
		{"another dimension's scale-in does not count", Input{SignalsKnown: true, History: []Event{in_(DimReaders, time.Second)}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Now, in.Policy = t0, policy()
			reason, ok := scaleInAllowed(in, DimASG)
			if ok != tc.allowed || !strings.Contains(reason, tc.reason) {
				t.Fatalf("%v %q, want %v %q", ok, reason, tc.allowed, tc.reason)
			}
		})
	}
}

func TestACUBaselineTooLow(t *testing.T) {
	tg := clusterTarget()
	tg.ACUBaseline = 16
	cs := cluster()
	cs.MaxACU = 48
	for _, tc := range []struct {
		name string
		o    *Observation
		hold bool
	}{
		{"the baseline carries the busiest instance", obs(SigACUDemand, 4.0), false},
		{"the busiest needs more than the baseline", obs(SigACUDemand, 8.0), true},
		{"unknown: hold", obs(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, hold := acuBaselineTooLow(Input{Observation: tc.o}, cs, tg); hold != tc.hold {
				t.Fatalf("hold %v, want %v", hold, tc.hold)
			}
		})
	}
	// Already at the baseline, or no baseline: nothing to lower.
	at := cluster()
	at.MaxACU = 16
	if _, hold := acuBaselineTooLow(Input{Observation: obs(SigACUDemand, 30.0)}, at, tg); hold {
		t.Error("held a scale-in that lowers nothing")
	}
}
