package scaler

import (
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// skew is how far ahead of the scaler's clock AWS's timestamps are.
const skew = 5 * time.Second

// skewedClock is the scaler's clock running behind AWS's.
type skewedClock struct {
	Clock
	by time.Duration
}

func (c skewedClock) Now() time.Time { return c.Clock.Now().Add(-c.by) }

// Every guardrail that reads a time recovered from AWS (instance and
// cluster tags another replica wrote, Auto Scaling activities) counts a
// time a few seconds in the future as "just now": the guardrail holds.
func TestGuardrailsHoldWithAWSTimesInTheFuture(t *testing.T) {
	future := t0.Add(skew)
	for _, tc := range []struct {
		name    string
		in      func() Input
		outcome string
		reason  string
	}{
		{name: "ACU scale-out cooldown", in: func() Input {
			cs := cluster(selfReader("r1"))
			cs.MaxACU = 40
			return Input{Now: t0, Req: req(ActionRaiseMaxACU, 1), Policy: policy(), Cluster: clusterTarget(), ClusterState: cs,
				Observation: obs(SigACUDemand, 32*0.9, SigBusiestACU, 32.0),
				History:     []Event{{DecisionID: "other-replica", Dimension: DimACU, Direction: DirOut, At: future, From: 32, To: 40}}}
		}, outcome: OutcomeRefused, reason: "cooldown"},
		{name: "ASG scale-out cooldown from an activity", in: func() Input {
			r := req(ActionScaleASG, 1)
			return Input{Now: t0, Req: r, Policy: policy(), ASG: &ASGTarget{Name: "events-web", MaxStep: 5, TargetRequests: 1000},
				ASGState:    &ASGState{Name: "events-web", Min: 2, Max: 20, Desired: 5},
				Observation: obs(SigRequestsPerInstance, 2000.0, SigInService, 4.0),
				History:     []Event{{DecisionID: "activity:1", Dimension: DimASG, Direction: DirOut, At: future, From: 4, To: 5, External: true}}}
		}, outcome: OutcomeRefused, reason: "cooldown"},
		{name: "reader scale-out cooldown from an instance tag", in: func() Input {
			creating := managedReader("events-db-surge-x", future)
			creating.Status = statusCreating
			return Input{Now: t0, Req: req(ActionAddReaders, 1), Policy: policy(), Cluster: clusterTarget(),
				ClusterState: cluster(selfReader("r1"), creating), Observation: obs(SigReaderCPU, 0.95, SigReadersServing, 1.0),
				History: []Event{{DecisionID: "d-events-db-surge-x", Dimension: DimReaders, Direction: DirOut, At: future, From: 1, To: 2}}}
		}, outcome: OutcomeRefused, reason: "cooldown"},
		{name: "scale-in cooldown", in: func() Input {
			in := scaleInInput(cluster(selfReader("r1"), managedReader("m1", t0.Add(-time.Hour)), managedReader("m2", t0.Add(-time.Hour))))
			in.History = []Event{{DecisionID: "other-replica", Dimension: DimReaders, Direction: DirIn, At: future, From: 4, To: 3}}
			return in
		}, outcome: OutcomeRefused, reason: "scale-in cooldown"},
		{name: "breaker", in: func() Input {
			cs := cluster(selfReader("r1"))
			var h []Event
			for i, ago := range []time.Duration{-skew, 10 * time.Minute, 20 * time.Minute} {
				h = append(h, Event{DecisionID: string(rune('a' + i)), Dimension: DimACU, Direction: DirOut, At: t0.Add(-ago), From: 8, To: 16})
			}
			return Input{Now: t0, Req: req(ActionRaiseMaxACU, 1), Policy: policy(), Cluster: clusterTarget(), ClusterState: cs, History: h,
				Observation: obs(SigACUDemand, 32*0.9, SigBusiestACU, 40.0)}
		}, outcome: OutcomeRefused, reason: "breaker open: 3 actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in())
			if d.Outcome != tc.outcome || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("%s %q, want %s naming %q", d.Outcome, d.Reason, tc.outcome, tc.reason)
			}
		})
	}
}

func scaleInInput(cs *ClusterState) Input {
	r := req(ActionRemoveReaders, 1)
	r.StartsAt = t0.Add(-10 * time.Minute)
	return Input{Now: t0, Req: r, Policy: policy(), Cluster: clusterTarget(), ClusterState: cs, Observation: obs(SigReaderLoadWindowMax, 0.1),
		DataAge: 30 * time.Second, DataAgeKnown: true, SignalsKnown: true}
}

// Over the wire: a second replica whose clock is 5 s behind AWS still
// sees the first replica's ACU change (cluster tag) and ASG change
// (scaling activity) inside their cooldowns.
func TestSecondReplicaBehindAWSClockSeesCooldowns(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	first := newHarness(t, env, nil)
	first.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"skw0000000000001", env.World.Clock().Now()))
	first.deliver(t, payload("firing", map[string]string{"alertname": "AuroraAsgRequestsAboveTarget", "action": "scale_asg", "asg": "events-web"},
		"skw0000000000002", env.World.Clock().Now()))
	if c, g := first.cluster(t), first.asg(t, "events-web"); c.MaxACU != 40 || g.Desired != 6 {
		t.Fatalf("first replica: max ACU %g, desired %d", c.MaxACU, g.Desired)
	}
	second := newHarness(t, env, func(o *Options) { o.Clock = skewedClock{Clock: env.World.Clock(), by: skew} })
	// More demand than the first replica's changes cover, before they
	// took effect: only their cooldowns hold the second replica back.
	second.prom.set("events-db", SigACUDemand, 32*0.9)
	second.prom.set("events-web", SigRequestsPerInstance, 3000)
	second.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuAtMaxReaderCreating", "action": "raise_max_acu", "db_cluster": "events-db"},
		"skw0000000000003", env.World.Clock().Now().Add(-time.Minute)))
	if d := second.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "cooldown") {
		t.Errorf("raise inside the first's cooldown, AWS 5 s ahead: %s %q", d.Outcome, d.Reason)
	}
	second.deliver(t, payload("firing", map[string]string{"alertname": "AuroraAsgCPUAboveTarget", "action": "scale_asg", "asg": "events-web"},
		"skw0000000000004", env.World.Clock().Now().Add(-time.Minute)))
	if d := second.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "cooldown") {
		t.Errorf("ASG step inside the first's cooldown, AWS 5 s ahead: %s %q", d.Outcome, d.Reason)
	}
	if c, g := second.cluster(t), second.asg(t, "events-web"); c.MaxACU != 40 || g.Desired != 6 {
		t.Fatalf("after the second replica: max ACU %g, desired %d (each change made twice)", c.MaxACU, g.Desired)
	}
}
