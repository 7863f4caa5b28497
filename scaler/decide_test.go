package scaler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)

func policy() Policy {
	return Policy{ScaleOutCooldown: 30 * time.Second, ScaleInCooldown: 2 * time.Minute, MaxActionsPerHour: 3, MaxDataAge: 3 * time.Minute}
}

func cluster(readers ...Instance) *ClusterState {
	cs := &ClusterState{ID: "events-db", Status: "available", Engine: "aurora-postgresql", Serverless: true, MinACU: 0.5, MaxACU: 32,
		Instances: []Instance{{ID: "events-db-writer", Status: "available", Class: "db.serverless", Tier: 1, Writer: true}}}
	cs.Instances = append(cs.Instances, readers...)
	return cs
}

func selfReader(id string) Instance {
	return Instance{ID: id, Status: "available", Class: "db.r6g.large", Tier: 1}
}

func managedReader(id string, at time.Time) Instance {
	return Instance{ID: id, Status: "available", Class: "db.serverless", Tier: 15, Managed: true, DecisionID: "d-" + id, DecidedAt: at}
}

func req(action string, step int) Request {
	r := Request{Action: action, Kind: "cluster", Name: "events-db", Account: "123456789012", Region: "us-east-1",
		Step: step, Fingerprint: "a1b2c3d4e5f60718", StartsAt: t0.Add(-time.Minute), Status: StatusFiring, Direction: DirOut}
	switch action {
	case ActionScaleASG:
		r.Kind, r.Name = "asg", "events-web"
	case ActionRemoveReaders:
		r.Direction = DirIn
	}
	return r
}

func clusterTarget() *ClusterTarget {
	return &ClusterTarget{Name: "events-db", Account: "123456789012", Region: "us-east-1", MaxReaders: 4, MinReaders: 1, ACUStep: 8, ACUCeiling: 48, TargetCPU: 0.30}
}

// obs is an observation with the given signals.
func obs(kv ...any) *Observation {
	o := &Observation{At: t0, Values: map[string]float64{}}
	for i := 0; i < len(kv); i += 2 {
		o.Values[kv[i].(string)] = kv[i+1].(float64)
	}
	return o
}

func TestDecideAddReaders(t *testing.T) {
	out := func(dim string, ago time.Duration, from, to float64) Event {
		return Event{DecisionID: "prev-" + dim + ago.String(), Dimension: dim, Direction: DirOut, At: t0.Add(-ago), From: from, To: to}
	}
	for _, tc := range []struct {
		name    string
		mod     func(*Input)
		outcome string
		reason  string
		check   func(*testing.T, Decision)
	}{
		{name: "one reader at 60 % needs two: add one like the self-managed one", mod: func(in *Input) {}, outcome: OutcomeAct, reason: "add 1 reader",
			check: func(t *testing.T, d Decision) {
				if len(d.Instances) != 1 || d.Instances[0] != "events-db-surge-01" || d.Class != "db.r6g.large" || d.From != 1 || d.To != 2 || d.Engine != "aurora-postgresql" {
					t.Errorf("got %+v", d)
				}
				if d.Desired == nil || d.Desired.Desired != 2 || d.Observation == nil {
					t.Errorf("record lacks the desired state or the observation: %+v", d)
				}
			}},
		{name: "configured class wins", mod: func(in *Input) { in.Cluster.ReaderClass = "db.serverless" }, outcome: OutcomeAct,
			check: func(t *testing.T, d Decision) {
				if d.Class != "db.serverless" {
					t.Errorf("class %s", d.Class)
				}
			}},
		{name: "the amount comes from demand, not the step", mod: func(in *Input) { in.Req.Step = 2; in.Observation.Values[SigReaderCPU] = 0.85 },
			outcome: OutcomeAct, check: func(t *testing.T, d Decision) {
				// ceil(1 x 0.85/0.30) = 3: two readers.
				if len(d.Instances) != 2 || d.Instances[1] != "events-db-surge-02" || d.To != 3 {
					t.Errorf("got %+v", d)
				}
			}},
		{name: "bounded by max readers", mod: func(in *Input) { in.Observation.Values[SigReaderCPU] = 1; in.Cluster.MaxReaders = 3 }, outcome: OutcomeAct, reason: "capped at the maximum 3",
			check: func(t *testing.T, d Decision) {
				if d.To != 3 || len(d.Instances) != 2 {
					t.Errorf("got %+v", d)
				}
			}},
		{name: "at max readers", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("r1"), selfReader("r2"), selfReader("r3"), selfReader("r4"))
			in.Observation.Values[SigReadersServing] = 4
		}, outcome: OutcomeRefused, reason: "configured maximum"},
		{name: "Aurora's 15-reader limit beats the config", mod: func(in *Input) {
			in.Cluster.MaxReaders = 40
			var rs []Instance
			for i := range 15 {
				rs = append(rs, selfReader("r"+string(rune('a'+i))))
			}
			in.ClusterState = cluster(rs...)
			in.Observation.Values[SigReadersServing] = 15
		}, outcome: OutcomeRefused, reason: "maximum 15"},
		{name: "within the tolerance: nothing to add", mod: func(in *Input) { in.Observation.Values[SigReaderCPU] = 0.32 }, outcome: OutcomeNoop, reason: "tolerance"},
		{name: "an alert during a decline changes nothing", mod: func(in *Input) { in.Observation.Values[SigReaderCPU] = 0.12 }, outcome: OutcomeNoop, reason: "cover it"},
		{name: "a replay after the change is a no-op: the creating reader is capacity coming", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), Instance{ID: "events-db-surge-01", Status: "creating", Tier: 15, Managed: true})
			in.History = []Event{out(DimReaders, 10*time.Second, 1, 2)}
		}, outcome: OutcomeNoop, reason: "the 2 available or creating cover it"},
		{name: "more demand while a reader is created, inside its cooldown: wait", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), Instance{ID: "events-db-surge-01", Status: "creating", Tier: 15, Managed: true})
			in.History = []Event{out(DimReaders, 10*time.Second, 1, 2)}
			in.Observation.Values[SigReaderCPU] = 0.95
		}, outcome: OutcomeRefused, reason: "has not taken effect"},
		{name: "more demand while a reader is created, cooldown passed: add the rest", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), Instance{ID: "events-db-surge-01", Status: "creating", Tier: 15, Managed: true})
			in.History = []Event{out(DimReaders, 40*time.Second, 1, 2)}
			in.Observation.Values[SigReaderCPU] = 0.85
		}, outcome: OutcomeAct, check: func(t *testing.T, d Decision) {
			if d.From != 2 || d.To != 3 || len(d.Instances) != 1 || d.Instances[0] != "events-db-surge-02" {
				t.Errorf("got %+v, want 2 -> 3 with slot 02", d)
			}
		}},
		{name: "a modifying instance blocks", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), Instance{ID: "other", Status: "modifying"})
		}, outcome: OutcomeRefused, reason: "no change while an instance changes"},
		{name: "demand unknown", mod: func(in *Input) { in.Observation = nil }, outcome: OutcomeRefused, reason: "demand unknown"},
		{name: "demand NaN-free but errored", mod: func(in *Input) {
			delete(in.Observation.Values, SigReaderCPU)
			in.Observation.Errors = map[string]string{SigReaderCPU: "no series (absent or stale)"}
		}, outcome: OutcomeRefused, reason: "absent or stale"},
		{name: "cluster not available", mod: func(in *Input) { in.ClusterState.Status = "failing-over" }, outcome: OutcomeRefused, reason: "failing-over"},
		{name: "describe failed: keep the fleet", mod: func(in *Input) { in.ClusterState, in.StateErr = nil, errors.New("Throttling") },
			outcome: OutcomeRefused, reason: "live state unavailable"},
		{name: "resolved alert", mod: func(in *Input) { in.Req.Status = StatusResolved }, outcome: OutcomeNoop, reason: "resolved"},
		{name: "kill switch", mod: func(in *Input) { in.Policy.Paused = true }, outcome: OutcomeRefused, reason: "paused"},
		{name: "dry run", mod: func(in *Input) { in.Policy.DryRun = true }, outcome: OutcomeDryRun, reason: "dry run: would add 1 reader"},
		{name: "breaker", mod: func(in *Input) {
			in.History = []Event{out(DimACU, 50*time.Minute, 8, 16), out(DimACU, 40*time.Minute, 16, 24), out(DimReaders, 30*time.Minute, 0, 1)}
		}, outcome: OutcomeRefused, reason: "breaker open: 3 actions"},
		{name: "breaker forgets after an hour", mod: func(in *Input) {
			in.History = []Event{out(DimACU, 61*time.Minute, 8, 16), out(DimACU, 40*time.Minute, 16, 24), out(DimReaders, 30*time.Minute, 0, 1)}
		}, outcome: OutcomeAct},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionAddReaders, 1), Policy: policy(), Cluster: clusterTarget(),
				ClusterState: cluster(selfReader("events-db-reader-1")), Observation: obs(SigReaderCPU, 0.6, SigReadersServing, 1.0)}
			tc.mod(&in)
			d := Decide(in)
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("got %s %q, want %s containing %q", d.Outcome, d.Reason, tc.outcome, tc.reason)
			}
			if d.ID != DecisionID(in.Req, d.From, d.To) || d.At != t0 {
				t.Errorf("id %s at %s", d.ID, d.At)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func TestDecideRaiseMaxACU(t *testing.T) {
	raised := func(ago time.Duration, from, to float64) Event {
		return Event{DecisionID: "prev-acu", Dimension: DimACU, Direction: DirOut, At: t0.Add(-ago), From: from, To: to}
	}
	for _, tc := range []struct {
		name    string
		mod     func(*Input)
		outcome string
		reason  string
		to      float64
	}{
		// 32 ACU at 90 % CPU is 28.8 busy ACU: 96 ACU at 30 %, capped at 48.
		{"what demand needs in one step, capped at the ceiling", func(in *Input) {}, OutcomeAct, "32 -> 48, min 0.5 kept", 48},
		{"rounded up to the ACU step", func(in *Input) { in.Observation.Values[SigACUDemand] = 32 * 0.35 }, OutcomeAct, "32 -> 40", 40},
		{"the max in force covers it", func(in *Input) { in.Observation.Values[SigACUDemand] = 8 }, OutcomeNoop, "covers it", 32},
		{"never lowered by a scale-out", func(in *Input) { in.Observation.Values[SigACUDemand] = 1 }, OutcomeNoop, "in force", 32},
		{"at the ceiling", func(in *Input) { in.ClusterState.MaxACU = 48 }, OutcomeRefused, "already at the ceiling", 48},
		{"a creating reader does not block ACU", func(in *Input) {
			in.ClusterState.Instances = append(in.ClusterState.Instances, Instance{ID: "new", Status: "creating"})
		}, OutcomeAct, "32 -> 48", 48},
		{"provisioned cluster", func(in *Input) { in.ClusterState.Serverless = false }, OutcomeRefused, "no Serverless v2", 0},
		{"a replay after the raise: same demand, same desired, no-op", func(in *Input) {
			in.ClusterState.MaxACU = 48
			in.History = []Event{raised(5*time.Second, 32, 48)}
			in.Cluster.ACUCeiling = 64
			in.Observation.Values[SigACUDemand] = 32 * 0.45 // 48 ACU at 30 %
		}, OutcomeNoop, "in force", 48},
		{"more demand before the raise applied, inside its cooldown: wait", func(in *Input) {
			in.ClusterState.MaxACU = 40
			in.History = []Event{raised(5*time.Second, 32, 40)}
		}, OutcomeRefused, "has not taken effect", 40},
		{"more demand once the raise applied: act at once", func(in *Input) {
			in.ClusterState.MaxACU = 40
			in.History = []Event{raised(5*time.Second, 32, 40)}
			in.Observation.Values[SigBusiestACU] = 40
		}, OutcomeAct, "40 -> 48", 48},
		{"demand unknown", func(in *Input) { delete(in.Observation.Values, SigACUDemand) }, OutcomeRefused, "demand unknown", 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionRaiseMaxACU, 1), Policy: policy(), Cluster: clusterTarget(), ClusterState: cluster(selfReader("r1")),
				Observation: obs(SigACUDemand, 32*0.9, SigBusiestACU, 32.0)}
			tc.mod(&in)
			d := Decide(in)
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) || d.To != tc.to {
				t.Fatalf("got %s %q to %g, want %s containing %q to %g", d.Outcome, d.Reason, d.To, tc.outcome, tc.reason, tc.to)
			}
			if d.Outcome == OutcomeAct && d.MinACU != 0.5 {
				t.Errorf("min ACU %g not kept", d.MinACU)
			}
		})
	}
}

func TestDecideScaleASG(t *testing.T) {
	ev := func(dir string, ago time.Duration, from, to float64) Event {
		return Event{DecisionID: "prev-" + dir + ago.String(), Dimension: DimASG, Direction: dir, At: t0.Add(-ago), From: from, To: to}
	}
	for _, tc := range []struct {
		name    string
		dir     string
		mod     func(*Input)
		outcome string
		reason  string
		to      float64
	}{
		// 4 instances at 1,500 req/min is 6,000: 6 at the 1,000 target.
		{"desired from demand", DirOut, func(in *Input) {}, OutcomeAct, "4 -> 6", 6},
		{"bounded by max_step", DirOut, func(in *Input) { in.Observation.Values[SigRequestsPerInstance] = 5000 }, OutcomeAct, "max_step 3", 7},
		{"within the group's max", DirOut, func(in *Input) {
			in.ASGState.Desired = 19
			in.Observation.Values[SigInService] = 19
		}, OutcomeAct, "capped at the maximum 20", 20},
		{"at max", DirOut, func(in *Input) { in.ASGState.Desired = 20; in.Observation.Values[SigInService] = 20 }, OutcomeRefused, "at its max", 20},
		{"during a decline: nothing", DirOut, func(in *Input) { in.Observation.Values[SigRequestsPerInstance] = 600 }, OutcomeNoop, "covers it", 4},
		{"a replay after the change: pending instances cover it", DirOut, func(in *Input) {
			in.ASGState.Desired = 6
			in.History = []Event{ev(DirOut, 10*time.Second, 4, 6)}
		}, OutcomeNoop, "covers it", 6},
		{"still above target once the change is in service: keeps acting", DirOut, func(in *Input) {
			in.ASGState.Desired = 6
			in.History = []Event{ev(DirOut, 10*time.Second, 4, 6)}
			in.Observation.Values[SigInService] = 6
			in.Observation.Values[SigRequestsPerInstance] = 1300
		}, OutcomeAct, "6 -> 8", 8},
		{"more demand, change not in service, inside the cooldown: wait", DirOut, func(in *Input) {
			in.ASGState.Desired = 6
			in.History = []Event{ev(DirOut, 10*time.Second, 4, 6)}
			in.Observation.Values[SigRequestsPerInstance] = 2500
		}, OutcomeRefused, "has not taken effect", 6},
		{"unknown state", DirOut, func(in *Input) { in.ASGState, in.StateErr = nil, errors.New("timeout") }, OutcomeRefused, "live state unavailable", 0},
		{"demand unknown", DirOut, func(in *Input) { in.Observation = nil }, OutcomeRefused, "demand unknown", 4},

		// Scale-in: 4 instances; highest over the window 2,000 req/min in
		// all: 2 instances at the 1,000 target.
		{"scale in from the stabilised demand", DirIn, func(in *Input) {}, OutcomeAct, "4 -> 2", 2},
		{"scale in to the stabilised demand at once, max_step or not", DirIn, func(in *Input) {
			in.ASGState.Desired = 10
			in.Observation.Values[SigInService] = 10
		}, OutcomeAct, "10 -> 2", 2},
		{"scale in not below the group's min", DirIn, func(in *Input) { in.Observation.Values[SigRequestsWindowMax] = 100 }, OutcomeAct, "raised to the minimum 2", 2},
		{"the window's peak holds capacity", DirIn, func(in *Input) { in.Observation.Values[SigRequestsWindowMax] = 3800 }, OutcomeNoop, "above the scale-in mark", 4},
		{"stale data", DirIn, func(in *Input) { in.DataAge = 10 * time.Minute }, OutcomeRefused, "stale data", 4},
		{"a scale-out signal firing", DirIn, func(in *Input) { in.ScaleOutFiring = []string{"AuroraAsgCPUAboveTarget"} }, OutcomeRefused, "still firing", 4},
		{"group changing", DirIn, func(in *Input) { in.Observation.Values[SigInService] = 3 }, OutcomeRefused, "group changes", 4},
		{"scale-in cooldown", DirIn, func(in *Input) { in.History = []Event{ev(DirIn, time.Minute, 5, 4)} }, OutcomeRefused, "scale-in cooldown", 4},
		{"after the scale-in cooldown", DirIn, func(in *Input) { in.History = []Event{ev(DirIn, 3*time.Minute, 5, 4)} }, OutcomeAct, "4 -> 2", 2},
	} {
		t.Run(tc.dir+"/"+tc.name, func(t *testing.T) {
			r := req(ActionScaleASG, 1)
			r.Direction = tc.dir
			in := Input{Now: t0, Req: r, Policy: policy(),
				ASG: &ASGTarget{Name: "events-web", MaxStep: 3, TargetRequests: 1000}, ASGState: &ASGState{Name: "events-web", Min: 2, Max: 20, Desired: 4},
				Observation: obs(SigRequestsPerInstance, 1500.0, SigInService, 4.0, SigRequestsWindowMax, 2000.0),
				DataAge:     time.Minute, DataAgeKnown: true, SignalsKnown: true}
			tc.mod(&in)
			d := Decide(in)
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) || d.To != tc.to {
				t.Fatalf("got %s %q to %g, want %s containing %q to %g", d.Outcome, d.Reason, d.To, tc.outcome, tc.reason, tc.to)
			}
		})
	}
}

func TestDecideRemoveReaders(t *testing.T) {
	old := t0.Add(-time.Hour)
	out := func(ago time.Duration, from, to float64) Event {
		return Event{DecisionID: "prev-out", Dimension: DimReaders, Direction: DirOut, At: t0.Add(-ago), From: from, To: to}
	}
	for _, tc := range []struct {
		name    string
		mod     func(*Input)
		outcome string
		reason  string
		victim  string
	}{
		// 3 readers, at most 0.5 readers of load over the window: 2 at 30 %.
		{"removes the newest managed reader", func(in *Input) {}, OutcomeAct, "3 -> 2", "m2"},
		{"one at a time even when demand allows more", func(in *Input) { in.Observation.Values[SigReaderLoadWindowMax] = 0.1 }, OutcomeAct, "3 -> 2, one at a time toward 1", "m2"},
		{"a reader in deletion does not block the next", func(in *Input) {
			in.ClusterState.Instances[3].Status = statusDeleting
			in.History = []Event{in_(DimReaders, 3*time.Minute)}
			in.Observation.Values[SigReaderLoadWindowMax] = 0.2
		}, OutcomeAct, "2 -> 1", "m1"},
		{"the window's peak holds capacity", func(in *Input) { in.Observation.Values[SigReaderLoadWindowMax] = 0.85 }, OutcomeNoop, "above the scale-in mark", ""},
		{"unknown data age", func(in *Input) { in.DataAgeKnown = false }, OutcomeRefused, "data age unknown", ""},
		{"stale data", func(in *Input) { in.DataAge = 10 * time.Minute }, OutcomeRefused, "stale data", ""},
		{"scale-out signals unknown", func(in *Input) { in.SignalsKnown = false }, OutcomeRefused, "signals unknown", ""},
		{"a scale-out signal still firing", func(in *Input) { in.ScaleOutFiring = []string{"AuroraReaderReadLatencyHigh"} }, OutcomeRefused, "still firing", ""},
		{"a modifying instance blocks", func(in *Input) { in.ClusterState.Instances[1].Status = "modifying" }, OutcomeRefused, "no scale-in while an instance", ""},
		{"a creating instance blocks", func(in *Input) {
			in.ClusterState.Instances = append(in.ClusterState.Instances, Instance{ID: "new", Status: statusCreating})
		}, OutcomeRefused, "no scale-in while an instance", ""},
		{"demand unknown", func(in *Input) { in.Observation = nil }, OutcomeRefused, "demand unknown", ""},
		{"scale-in cooldown", func(in *Input) { in.History = []Event{in_(DimReaders, time.Minute)} }, OutcomeRefused, "scale-in cooldown", ""},
		{"a scale-out ends the scale-in cooldown", func(in *Input) {
			in.History = []Event{in_(DimReaders, 100*time.Second), out(90*time.Second, 2, 3)}
		}, OutcomeAct, "3 -> 2", "m2"},
		{"never a scheduled event's reader", func(in *Input) {
			in.ClusterState.Instances[2].Event, in.ClusterState.Instances[3].Event = "launch", "launch"
		}, OutcomeRefused, "a scheduled event's readers go with its revert", ""},
		{"never a self-managed reader", func(in *Input) {
			in.ClusterState = cluster(selfReader("r1"), selfReader("r2"))
			in.Observation.Values[SigReaderLoadWindowMax] = 0.1
		}, OutcomeRefused, "no scaler-managed reader", ""},
		{"never below min readers", func(in *Input) {
			in.ClusterState = cluster(managedReader("m1", old))
		}, OutcomeNoop, "keep 1", ""},
		{"dry run", func(in *Input) { in.Policy.DryRun = true }, OutcomeDryRun, "would remove reader m2", "m2"},
		// The scale-in lowers max ACU to acu_baseline: not while the
		// busiest instance needs more (it would be raised again at once).
		{"max ACU baseline too low for the busiest instance", func(in *Input) {
			in.Cluster.ACUBaseline = 16
			in.Observation.Values[SigACUDemand] = 8 // 27 ACU at 30 %
		}, OutcomeRefused, "lowers max ACU 32 to the baseline 16, but demand needs 32", ""},
		{"max ACU baseline enough", func(in *Input) {
			in.Cluster.ACUBaseline = 16
			in.Observation.Values[SigACUDemand] = 4
		}, OutcomeAct, "3 -> 2", "m2"},
		// Serverless v2 readers only: Aurora holds their CPU near its own
		// target, so the busy ACU decides, at the ACU a reader keeps after
		// the scale-in (acu_baseline 16). 3 readers, 20 busy ACU at most:
		// 20/16 = 1.25 readers at 100 %, ceil(1.25/0.3) = 5 at 30 %: keep.
		{"serverless readers: busy ACU at the baseline holds them", func(in *Input) {
			in.ClusterState = cluster(managedReader("s0", old.Add(-time.Minute)), managedReader("m1", old), managedReader("m2", old.Add(time.Minute)))
			in.Cluster.ACUBaseline = 16
			in.Observation.Values[SigReaderBusyACUWindowMax] = 20
			in.Observation.Values[SigReaderLoadWindowMax] = 0.1 // CPU alone would say 1 reader
		}, OutcomeNoop, "keep 3", ""},
		// 6 busy ACU at 16 per reader: 0.375 readers at 100 %, 2 at 30 %.
		{"serverless readers: light load lets one go", func(in *Input) {
			in.ClusterState = cluster(managedReader("s0", old.Add(-time.Minute)), managedReader("m1", old), managedReader("m2", old.Add(time.Minute)))
			in.Cluster.ACUBaseline = 16
			in.Observation.Values[SigReaderBusyACUWindowMax] = 6
		}, OutcomeAct, "3 -> 2", "m2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionRemoveReaders, 1), Policy: policy(), Cluster: clusterTarget(),
				ClusterState: cluster(selfReader("r1"), managedReader("m1", old), managedReader("m2", old.Add(time.Minute))),
				Observation:  obs(SigReaderLoadWindowMax, 0.5, SigReaderBusyACUWindowMax, 2.0, SigACUDemand, 2.0),
				DataAge:      time.Minute, DataAgeKnown: true, SignalsKnown: true}
			tc.mod(&in)
			d := Decide(in)
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("got %s %q, want %s containing %q", d.Outcome, d.Reason, tc.outcome, tc.reason)
			}
			if tc.victim != "" && (len(d.Instances) != 1 || d.Instances[0] != tc.victim) {
				t.Errorf("victims %v, want %s", d.Instances, tc.victim)
			}
		})
	}
}

func in_(dim string, ago time.Duration) Event {
	return Event{DecisionID: "in-" + ago.String(), Dimension: dim, Direction: DirIn, At: t0.Add(-ago), From: 3, To: 2}
}

func TestReaderIDsAreSlots(t *testing.T) {
	cs := cluster(selfReader("r1"), Instance{ID: "events-db-surge-01", Status: statusDeleting}, managedReader("events-db-surge-03", t0))
	if got := ReaderIDs(cs, 3); strings.Join(got, ",") != "events-db-surge-02,events-db-surge-04,events-db-surge-05" {
		t.Errorf("ids %v: want the lowest slots no member holds, a deleting one included", got)
	}
	// Replicas deciding on the same state want the same identifiers.
	if a, b := ReaderIDs(cluster(), 2), ReaderIDs(cluster(), 2); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("%v != %v", a, b)
	}
	long := &ClusterState{ID: strings.Repeat("a", 60) + "-x"}
	if id := ReaderIDs(long, 1)[0]; len(id) > 63 || strings.Contains(id, "--") {
		t.Errorf("identifier %q is not a valid RDS identifier", id)
	}
}
