package backtest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

var t0 = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)

func minute(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }

func TestSummarizeCountsSaturationCapacityAndIdleCapacity(t *testing.T) {
	f := Fleet{Onset: minute(10), End: minute(20)}
	var tl []Sample
	for m := 0.0; m <= 40; m++ {
		s := Sample{At: minute(m), ReadersUp: 1, MaxACU: 32, ASGDesired: 4, ACU: 10}
		switch {
		case m >= 10 && m < 13:
			s.ReaderCPU = 90
		case m >= 13 && m < 15:
			s.ReaderCPU = 75
		}
		if m >= 14 && m < 25 {
			s.ReadersUp = 2 // the added reader serves from minute 14 to 25
		}
		tl = append(tl, s)
	}
	actions := []Action{
		{At: minute(11), Kind: "add_readers", From: 1, To: 2},
		{At: minute(12), Kind: "add_readers", From: 2, To: 3, Refused: "cooldown"},
		{At: minute(25), Kind: "remove_readers", From: 2, To: 1},
		{At: minute(30), Kind: "add_readers", From: 1, To: 2}, // undoes the scale-in within 10 min: a flap
	}
	r := summarize("p", f, tl, time.Minute, actions, sim.AppStats{})
	if r.ReaderCPUOver85Minutes != 3 || r.ReaderCPUOver70Minutes != 5 || r.PeakReaderCPU != 90 {
		t.Errorf("CPU minutes over 85/70 and peak: %v %v %v, want 3 5 90", r.ReaderCPUOver85Minutes, r.ReaderCPUOver70Minutes, r.PeakReaderCPU)
	}
	if r.FirstActionAfterOnsetSeconds == nil || *r.FirstActionAfterOnsetSeconds != 60 {
		t.Errorf("first action after onset: %v, want 60 s", r.FirstActionAfterOnsetSeconds)
	}
	if r.CapacityAvailableAfterOnset == nil || *r.CapacityAvailableAfterOnset != 240 {
		t.Errorf("capacity after onset: %v, want 240 s", r.CapacityAvailableAfterOnset)
	}
	if r.IdleCapacityGoneAfterEventSec == nil || *r.IdleCapacityGoneAfterEventSec != 300 {
		t.Errorf("idle capacity gone: %v, want 300 s (minute 25, event end 20)", r.IdleCapacityGoneAfterEventSec)
	}
	if r.Actions != 3 || r.RefusedActions != 1 || r.Flaps != 1 || r.MaxReaders != 2 {
		t.Errorf("actions %d refused %d flaps %d max readers %d, want 3 1 1 2", r.Actions, r.RefusedActions, r.Flaps, r.MaxReaders)
	}
	if r.ACUHours != round(10*40.0/60, 2) {
		t.Errorf("ACU-hours %v, want %v", r.ACUHours, round(10*40.0/60, 2))
	}
}

func TestSummarizeSaysHowMuchIdleCapacityIsLeft(t *testing.T) {
	f := Fleet{Onset: minute(1), End: minute(2)}
	tl := []Sample{{At: minute(0), ReadersUp: 1, MaxACU: 16, ASGDesired: 4}, {At: minute(5), ReadersUp: 3, MaxACU: 64, ASGDesired: 9}}
	r := summarize("p", f, tl, time.Minute, nil, sim.AppStats{})
	if r.IdleCapacityGoneAfterEventSec != nil {
		t.Fatalf("idle capacity reported gone: %v", *r.IdleCapacityGoneAfterEventSec)
	}
	for _, want := range []string{"2 readers", "max ACU +48", "5 ASG instances"} {
		if !strings.Contains(r.IdleCapacityLeft, want) {
			t.Errorf("idle capacity left %q lacks %q", r.IdleCapacityLeft, want)
		}
	}
}

func TestWithLeadShiftsEventsAndFaultsAlike(t *testing.T) {
	sc := &sim.Scenario{
		Fleets: []sim.FleetDef{{Traffic: sim.TrafficDef{EventStart: 10 * time.Minute}}, {Traffic: sim.TrafficDef{EventStart: 15 * time.Minute}}},
		Faults: []sim.FaultDef{{At: 12 * time.Minute}},
	}
	got := withLead(sc, 30*time.Minute)
	if got.Fleets[0].Traffic.EventStart != 30*time.Minute || got.Fleets[1].Traffic.EventStart != 35*time.Minute || got.Faults[0].At != 32*time.Minute {
		t.Errorf("shifted: %v %v %v, want 30m 35m 32m", got.Fleets[0].Traffic.EventStart, got.Fleets[1].Traffic.EventStart, got.Faults[0].At)
	}
	if sc.Fleets[0].Traffic.EventStart != 10*time.Minute || sc.Faults[0].At != 12*time.Minute {
		t.Error("withLead changed the caller's scenario")
	}
	if late := withLead(&got, 30*time.Minute); late.Fleets[0].Traffic.EventStart != 30*time.Minute {
		t.Errorf("a scenario already far enough ahead moved: %v", late.Fleets[0].Traffic.EventStart)
	}
}

func TestCopyScenarioIsDeep(t *testing.T) {
	sc, err := sim.LoadScenario("field-avalanche")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := copyScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sc, cp) {
		t.Fatalf("the copy differs:\n%+v\n%+v", sc, cp)
	}
	cp.Accounts[0].HostedZones[0].Records[0].Values[0] = "changed"
	if sc.Accounts[0].HostedZones[0].Records[0].Values[0] == "changed" {
		t.Error("the copy shares the records with the original")
	}
}

func TestADrainUndoneWithinTenMinutesIsAFlap(t *testing.T) {
	actions := []Action{
		{At: minute(0), Kind: "remove_readers", Target: "cluster/db"}, // a drain's decision carries no counts
		{At: minute(8), Kind: "add_readers", Target: "cluster/db", From: 1, To: 2},
		{At: minute(9), Kind: "raise_max_acu", Target: "cluster/db", From: 32, To: 40}, // another capacity: not the same flap
	}
	if n := flaps(actions); n != 1 {
		t.Errorf("flaps = %d, want 1", n)
	}
}

// The claims about a sustained avalanche: ASG capacity keeps up
// with requests, max ACU in one raise, nothing added after the peak.
func TestSummarizeMeasuresTheDemandClaims(t *testing.T) {
	f := Fleet{Onset: minute(10), End: minute(30)}
	var tl []Sample
	for m := 0.0; m <= 40; m++ {
		s := Sample{At: minute(m), Users: 200, ReadersUp: 1, MaxACU: 32, ASGDesired: 4}
		if m >= 10 && m <= 20 {
			s.Users = 8000 // the peak ends at minute 20
		}
		if m >= 10 && m < 14 {
			s.ASGOverTarget = 1 // within the target from minute 14
		}
		tl = append(tl, s)
	}
	actions := []Action{
		{At: minute(11), Kind: "raise_max_acu", From: 32, To: 64},
		{At: minute(12), Kind: "raise_max_acu", From: 64, To: 64, Refused: "ceiling"},
		{At: minute(12), Kind: "scale_asg", From: 4, To: 9},
		{At: minute(22), Kind: "scale_asg", From: 9, To: 6},
		{At: minute(23), Kind: "raise_max_acu", From: 32, To: 40}, // after the peak
	}
	r := summarize("surge", f, tl, time.Minute, actions, sim.AppStats{})
	if r.ASGWithinTargetAfterOnsetSec == nil || *r.ASGWithinTargetAfterOnsetSec != 240 {
		t.Errorf("ASG within target after %v, want 240 s", r.ASGWithinTargetAfterOnsetSec)
	}
	if r.MaxACURaises != 1 || r.ScaleOutsAfterPeak != 1 {
		t.Errorf("max ACU raises %d, scale-outs after the peak %d, want 1 and 1", r.MaxACURaises, r.ScaleOutsAfterPeak)
	}
	byClaim := map[string]Target{}
	for _, tg := range checkTargets([]PolicyReport{r}) {
		byClaim[tg.Claim] = tg
	}
	for claim, met := range map[string]bool{
		"surge: ASG capacity rises until requests per instance are within 10 % of the target, within 10 minutes of the onset": true,
		"surge: max ACU reaches what demand needs in one action":                                                              true,
		"surge: no scale-out after the peak":                                                                                  false,
	} {
		if tg, ok := byClaim[claim]; !ok || tg.Met != met {
			t.Errorf("%q: %+v, want met=%v", claim, tg, met)
		}
	}
	// An ASG over its target at the end of the peak: never within.
	tl[20].ASGOverTarget = 1
	if r := summarize("surge", f, tl, time.Minute, nil, sim.AppStats{}); r.ASGWithinTargetAfterOnsetSec != nil {
		t.Errorf("within the target after %v with an ASG over it at the peak's end", *r.ASGWithinTargetAfterOnsetSec)
	}
}
