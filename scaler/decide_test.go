package scaler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)

func policy() Policy {
	return Policy{ScaleOutCooldown: 30 * time.Second, ScaleInCooldown: 2 * time.Minute, StabilizationWindow: 5 * time.Minute,
		MaxActionsPerHour: 3, MaxDataAge: 3 * time.Minute}
}

func cluster(readers ...Instance) *ClusterState {
	cs := &ClusterState{ID: "events-db", Status: "available", Serverless: true, MinACU: 0.5, MaxACU: 32,
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
		Step: step, Fingerprint: "a1b2c3d4e5f60718", StartsAt: t0.Add(-time.Minute), Status: StatusFiring}
	if action == ActionScaleASG {
		r.Kind, r.Name = "asg", "events-web"
	}
	return r
}

func clusterTarget() *ClusterTarget {
	return &ClusterTarget{Name: "events-db", Account: "123456789012", Region: "us-east-1", MaxReaders: 4, MinReaders: 1, ACUStep: 8, ACUCeiling: 48}
}

func TestDecide(t *testing.T) {
	ids := ReaderIDs("events-db", "a1b2c3d4e5f60718", t0.Add(-time.Minute), 3)
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
		{name: "add one reader like the self-managed one", mod: func(in *Input) {}, outcome: OutcomeAct, reason: "add 1 reader",
			check: func(t *testing.T, d Decision) {
				if len(d.Instances) != 1 || d.Instances[0] != ids[0] || d.Class != "db.r6g.large" || d.From != 1 || d.To != 2 {
					t.Errorf("got %+v", d)
				}
			}},
		{name: "configured class wins", mod: func(in *Input) { in.Cluster.ReaderClass = "db.serverless" }, outcome: OutcomeAct,
			check: func(t *testing.T, d Decision) {
				if d.Class != "db.serverless" {
					t.Errorf("class %s", d.Class)
				}
			}},
		{name: "step 2 adds two named readers", mod: func(in *Input) { in.Req.Step = 2 }, outcome: OutcomeAct,
			check: func(t *testing.T, d Decision) {
				if len(d.Instances) != 2 || d.Instances[1] != ids[1] || d.To != 3 {
					t.Errorf("got %+v", d)
				}
			}},
		{name: "bounded by max readers", mod: func(in *Input) { in.Req.Step = 9 }, outcome: OutcomeAct, reason: "capped at 4",
			check: func(t *testing.T, d Decision) {
				if d.To != 4 || len(d.Instances) != 3 {
					t.Errorf("got %+v", d)
				}
			}},
		{name: "at max readers", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("r1"), selfReader("r2"), selfReader("r3"), selfReader("r4"))
		}, outcome: OutcomeRefused, reason: "configured maximum 4"},
		{name: "Aurora's 15-reader limit beats the config", mod: func(in *Input) {
			in.Cluster.MaxReaders = 40
			var rs []Instance
			for i := range 15 {
				rs = append(rs, selfReader("r"+string(rune('a'+i))))
			}
			in.ClusterState = cluster(rs...)
		}, outcome: OutcomeRefused, reason: "maximum 15"},
		{name: "replayed alert is a no-op", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), Instance{ID: ids[0], Status: "creating", Tier: 15, Managed: true})
		}, outcome: OutcomeNoop, reason: "already applied"},
		{name: "instance not available: one change at a time", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), Instance{ID: "other", Status: "creating"})
		}, outcome: OutcomeRefused, reason: "one change per cluster"},
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
		// Application Auto Scaling: +1 from 1 happened 10s ago (1 -> 2,
		// still creating would block; here it is available). A +2 inside
		// the cooldown adds only what the first did not: 1 + 2 = 3.
		{name: "scale-out inside cooldown adds the difference", mod: func(in *Input) {
			in.Req.Step = 2
			in.ClusterState = cluster(selfReader("events-db-reader-1"), managedReader("m1", t0.Add(-10*time.Second)))
			in.History = []Event{out(DimReaders, 10*time.Second, 1, 2)}
		}, outcome: OutcomeAct, reason: "inside its cooldown",
			check: func(t *testing.T, d Decision) {
				if d.From != 2 || d.To != 3 || len(d.Instances) != 1 {
					t.Errorf("got from %g to %g %v, want 2 -> 3 (one reader)", d.From, d.To, d.Instances)
				}
			}},
		{name: "scale-out inside cooldown already covered", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), managedReader("m1", t0.Add(-10*time.Second)))
			in.History = []Event{out(DimReaders, 10*time.Second, 1, 2)}
		}, outcome: OutcomeNoop, reason: "covered"},
		{name: "after the cooldown a new step counts from now", mod: func(in *Input) {
			in.ClusterState = cluster(selfReader("events-db-reader-1"), managedReader("m1", t0.Add(-31*time.Second)))
			in.History = []Event{out(DimReaders, 31*time.Second, 1, 2)}
		}, outcome: OutcomeAct, check: func(t *testing.T, d Decision) {
			if d.To != 3 {
				t.Errorf("to %g", d.To)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionAddReaders, 1), Policy: policy(), Cluster: clusterTarget(),
				ClusterState: cluster(selfReader("events-db-reader-1"))}
			tc.mod(&in)
			d := Decide(in)
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("got %s %q, want %s containing %q", d.Outcome, d.Reason, tc.outcome, tc.reason)
			}
			if d.ID != DecisionID(in.Req) || d.At != t0 {
				t.Errorf("id %s at %s", d.ID, d.At)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}

	for _, tc := range []struct {
		name    string
		mod     func(*Input)
		outcome string
		reason  string
		to      float64
	}{
		{"raise by a step, keep min", func(in *Input) {}, OutcomeAct, "32 -> 40, min 0.5 kept", 40},
		{"step label multiplies", func(in *Input) { in.Req.Step = 2 }, OutcomeAct, "32 -> 48", 48},
		{"capped at the ceiling", func(in *Input) { in.Req.Step = 5 }, OutcomeAct, "capped at the ceiling 48", 48},
		{"at the ceiling", func(in *Input) { in.ClusterState.MaxACU = 48 }, OutcomeRefused, "already at the ceiling", 48},
		{"a creating reader does not block ACU", func(in *Input) {
			in.ClusterState.Instances = append(in.ClusterState.Instances, Instance{ID: "new", Status: "creating"})
		}, OutcomeAct, "32 -> 40", 40},
		{"provisioned cluster", func(in *Input) { in.ClusterState.Serverless = false }, OutcomeRefused, "no Serverless v2", 0},
		{"inside cooldown: measured from before the earlier raise", func(in *Input) {
			in.ClusterState.MaxACU = 40
			in.History = []Event{out(DimACU, 5*time.Second, 32, 40)}
		}, OutcomeNoop, "covered", 40},
		{"inside cooldown with a bigger step", func(in *Input) {
			in.ClusterState.MaxACU, in.Req.Step = 40, 2
			in.History = []Event{out(DimACU, 5*time.Second, 32, 40)}
		}, OutcomeAct, "40 -> 48", 48},
	} {
		t.Run("acu/"+tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionRaiseMaxACU, 1), Policy: policy(), Cluster: clusterTarget(), ClusterState: cluster(selfReader("r1"))}
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

	for _, tc := range []struct {
		name    string
		mod     func(*Input)
		outcome string
		reason  string
		to      float64
	}{
		{"absolute desired", func(in *Input) {}, OutcomeAct, "4 -> 5", 5},
		{"step bounded by max_step", func(in *Input) { in.Req.Step = 50 }, OutcomeAct, "4 -> 7", 7},
		{"within the group's max", func(in *Input) { in.ASGState.Desired = 19; in.Req.Step = 3 }, OutcomeAct, "capped at max 20", 20},
		{"at max", func(in *Input) { in.ASGState.Desired = 20 }, OutcomeRefused, "at its max", 20},
		{"unknown state", func(in *Input) { in.ASGState, in.StateErr = nil, errors.New("timeout") }, OutcomeRefused, "live state unavailable", 0},
		{"cooldown: only the difference", func(in *Input) {
			in.ASGState.Desired, in.Req.Step = 6, 3
			in.History = []Event{out(DimASG, 20*time.Second, 4, 6)}
		}, OutcomeAct, "6 -> 7", 7},
	} {
		t.Run("asg/"+tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionScaleASG, 1), Policy: policy(),
				ASG: &ASGTarget{Name: "events-web", MaxStep: 3}, ASGState: &ASGState{Name: "events-web", Min: 2, Max: 20, Desired: 4}}
			tc.mod(&in)
			d := Decide(in)
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) || d.To != tc.to {
				t.Fatalf("got %s %q to %g, want %s containing %q to %g", d.Outcome, d.Reason, d.To, tc.outcome, tc.reason, tc.to)
			}
		})
	}

	old := t0.Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		mod     func(*Input)
		outcome string
		reason  string
		victim  string
	}{
		{"removes the newest managed reader", func(in *Input) {}, OutcomeAct, "3 -> 2", "m2"},
		{"unknown data age", func(in *Input) { in.DataAgeKnown = false }, OutcomeRefused, "data age unknown", ""},
		{"stale data", func(in *Input) { in.DataAge = 10 * time.Minute }, OutcomeRefused, "stale data", ""},
		{"scale-out signals unknown", func(in *Input) { in.SignalsKnown = false }, OutcomeRefused, "signals unknown", ""},
		{"a scale-out signal still firing", func(in *Input) { in.ScaleOutFiring = []string{"AuroraReaderReadLatencyHigh"} }, OutcomeRefused, "still firing", ""},
		{"unavailable instance", func(in *Input) { in.ClusterState.Instances[1].Status = "modifying" }, OutcomeRefused, "not available", ""},
		{"signal younger than the window", func(in *Input) { in.Req.StartsAt = t0.Add(-time.Minute) }, OutcomeRefused, "stabilisation window", ""},
		{"scale-out in the window holds capacity", func(in *Input) {
			in.History = []Event{out(DimReaders, 4*time.Minute, 2, 3)}
		}, OutcomeRefused, "recommended 3 readers", ""},
		{"scale-in cooldown", func(in *Input) { in.History = []Event{in_(DimReaders, time.Minute)} }, OutcomeRefused, "scale-in cooldown", ""},
		{"a scale-out ends the scale-in cooldown", func(in *Input) {
			in.History = []Event{in_(DimReaders, 100*time.Second), out(DimReaders, 90*time.Second, 2, 3)}
			in.Policy.StabilizationWindow = time.Minute
		}, OutcomeAct, "3 -> 2", "m2"},
		{"never a self-managed reader", func(in *Input) {
			in.ClusterState = cluster(selfReader("r1"), selfReader("r2"))
		}, OutcomeRefused, "no scaler-managed reader", ""},
		{"never below min readers", func(in *Input) {
			in.ClusterState = cluster(managedReader("m1", old))
		}, OutcomeRefused, "minimum 1", ""},
		{"dry run", func(in *Input) { in.Policy.DryRun = true }, OutcomeDryRun, "would remove reader m2", "m2"},
	} {
		t.Run("scale-in/"+tc.name, func(t *testing.T) {
			in := Input{Now: t0, Req: req(ActionRemoveReaders, 1), Policy: policy(), Cluster: clusterTarget(),
				ClusterState: cluster(selfReader("r1"), managedReader("m1", old), managedReader("m2", old.Add(time.Minute))),
				DataAge:      time.Minute, DataAgeKnown: true, SignalsKnown: true}
			in.Req.StartsAt = t0.Add(-20 * time.Minute)
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

func TestReaderIDsAreStableAndValid(t *testing.T) {
	a := ReaderIDs("events-db", "fp", t0, 2)
	b := ReaderIDs("events-db", "fp", t0.In(time.FixedZone("x", 3600)), 2)
	if a[0] != b[0] || a[1] != b[1] || a[0] == a[1] {
		t.Fatalf("ids %v %v: want stable across time zones and distinct per index", a, b)
	}
	if c := ReaderIDs("events-db", "fp", t0.Add(time.Second), 1); c[0] == a[0] {
		t.Error("a new alert episode reuses the identifier")
	}
	long := ReaderIDs(strings.Repeat("a", 60)+"-x", "fp", t0, 1)[0]
	if len(long) > 63 || strings.Contains(long, "--") {
		t.Errorf("identifier %q is not a valid RDS identifier", long)
	}
}
