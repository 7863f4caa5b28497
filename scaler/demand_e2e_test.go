package scaler

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// Decide from current demand, through the webhook against the emulator:
// the alert says which target and direction, the demand Prometheus
// answers says how much.

func asgAlert(env *simtest.Env, asg, fingerprint, direction string) []byte {
	labels := map[string]string{"alertname": "AuroraAsgRequestsStep3", "action": "scale_asg", "step": "3", "asg": asg}
	if direction == DirIn {
		labels = map[string]string{"alertname": "AuroraAsgRequestsBelowTarget", "action": "scale_asg", "direction": "in", "asg": asg}
	}
	return payload("firing", labels, fingerprint, env.World.Clock().Now().Add(-time.Minute))
}

// A still-firing alert keeps acting until the target is met; repeats on
// the same demand change nothing.
func TestStillFiringAlertActsUntilTheTargetIsMet(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	body := asgAlert(env, "events-web", "still0000000001", DirOut)
	// 12,000 req/min over 4 instances: 12 at the 1,000 target, 5 per action.
	h.prom.set("events-web", SigRequestsPerInstance, 3000)
	h.deliver(t, body)
	if g := h.asg(t, "events-web"); g.Desired != 9 {
		t.Fatalf("first action: desired %d, want 4 + max_step 5 = 9", g.Desired)
	}
	// The same notification again, before the new instances serve and
	// inside the cooldown: the same demand asks for the same 12, and what
	// is coming is not added again.
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "has not taken effect") {
		t.Errorf("repeat inside the cooldown: %s %q", d.Outcome, d.Reason)
	}
	// The 9 serve, the load is the same: still above target, so the
	// still-firing alert acts again.
	env.Advance(t, time.Minute)
	h.prom.set("events-web", SigInService, 9)
	h.prom.set("events-web", SigRequestsPerInstance, 12000.0/9)
	h.deliver(t, body)
	if g := h.asg(t, "events-web"); g.Desired != 12 {
		t.Fatalf("second action: desired %d, want 12", g.Desired)
	}
	// Target met: every further repeat is a no-op.
	env.Advance(t, time.Minute)
	h.prom.set("events-web", SigInService, 12)
	h.prom.set("events-web", SigRequestsPerInstance, 1000)
	for range 3 {
		h.deliver(t, body)
		env.Advance(t, time.Minute)
	}
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || d.Count != 3 {
		t.Errorf("at the target: %s %q (x%d), want one no-op folded 3 times", d.Outcome, d.Reason, d.Count)
	}
	if n := env.World.Calls.Count("autoscaling", "SetDesiredCapacity", ""); n != 2 {
		t.Errorf("%d SetDesiredCapacity calls, want 2", n)
	}
	d := h.s.Decisions()[1] // the second action
	if d.Desired == nil || d.Desired.Desired != 12 || d.Observation == nil || d.Observation.Values[SigInService] != 9 {
		t.Errorf("the decision record lacks the observation or the desired state: %+v", d)
	}
}

// An alert that arrives during a decline (the inhibited lower alerts
// reaching the scaler when the top one resolves) changes nothing.
func TestAlertDuringADeclineChangesNothing(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	h.prom.set("events-web", SigRequestsPerInstance, 600)
	h.prom.set("events-db", SigReaderCPU, 0.2)
	h.deliver(t, asgAlert(env, "events-web", "decl00000000001", DirOut))
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "covers it") {
		t.Errorf("ASG: %s %q", d.Outcome, d.Reason)
	}
	h.deliver(t, addReadersAlert(env, "2"))
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "cover it") {
		t.Errorf("readers: %s %q", d.Outcome, d.Reason)
	}
	if n := env.World.Calls.Count("autoscaling", "SetDesiredCapacity", "") + env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 0 {
		t.Errorf("%d changes during a decline", n)
	}
}

// ASG scale-in from the demand over the stabilisation window, withheld
// while another signal wants more or the group is changing.
func TestASGScaleInWithStabilisation(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	body := asgAlert(env, "events-web", "asgin0000000001", DirIn)
	// The window's peak: 3,800 req/min over 4 is 950 each, above the
	// 900 scale-in mark.
	h.prom.set("events-web", SigRequestsWindowMax, 3800)
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "above the scale-in mark") {
		t.Errorf("peak in the window: %s %q", d.Outcome, d.Reason)
	}
	h.prom.set("events-web", SigRequestsWindowMax, 2000)
	h.prom.firing["events-web"] = []string{"AuroraAsgCPUAboveTarget"}
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "AuroraAsgCPUAboveTarget") {
		t.Errorf("scale-out signal firing: %s %q", d.Outcome, d.Reason)
	}
	delete(h.prom.firing, "events-web")
	h.deliver(t, body)
	if g := h.asg(t, "events-web"); g.Desired != 2 {
		t.Fatalf("desired %d, want 2 (2,000 req/min at the 1,000 target)", g.Desired)
	}
	// The instances are still terminating: the group is changing.
	env.Advance(t, 3*time.Minute)
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "group changes") {
		t.Errorf("while the group changes: %s %q", d.Outcome, d.Reason)
	}
	if n := env.World.Calls.Count("autoscaling", "SetDesiredCapacity", ""); n != 1 {
		t.Errorf("%d SetDesiredCapacity calls, want 1", n)
	}
}

// Dry run keeps what it would have done as the state of its next
// decisions: a repeat is a no-op, not another "would".
func TestDryRunKeepsASimulatedState(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, func(o *Options) { o.DryRun = true })
	acu := payload("firing", map[string]string{"alertname": "AuroraServerlessAcuNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"dryacu000000001", env.World.Clock().Now())
	for _, tc := range []struct {
		body []byte
		what string
	}{
		{addReadersAlert(env, "1"), "would add 1 reader"},
		{asgAlert(env, "events-web", "dryasg000000001", DirOut), "would set desired capacity 4 -> 6"},
		{acu, "would raise max ACU 32 -> 40"},
	} {
		h.deliver(t, tc.body)
		if d := h.lastDecision(t); d.Outcome != OutcomeDryRun || d.Result != ResultSimulated || !strings.Contains(d.Reason, tc.what) {
			t.Errorf("first: %s/%s %q, want dry_run %q", d.Outcome, d.Result, d.Reason, tc.what)
		}
		env.Advance(t, time.Minute)
		h.deliver(t, tc.body)
		if d := h.lastDecision(t); d.Outcome != OutcomeNoop {
			t.Errorf("repeat after %q: %s %q, want a no-op on the simulated state", tc.what, d.Outcome, d.Reason)
		}
	}
	for _, call := range [][2]string{{"rds", "CreateDBInstance"}, {"rds", "ModifyDBCluster"}, {"autoscaling", "SetDesiredCapacity"}} {
		if n := env.World.Calls.Count(call[0], call[1], ""); n != 0 {
			t.Errorf("%d %s calls in dry run", n, call[1])
		}
	}
}

// A reader being deleted is capacity gone, not a change in progress: the
// next scaler-made reader is judged and drained.
func TestScaleInWhileAnotherReaderIsDeleting(t *testing.T) {
	env, cfg := drainWorld(t)
	db := rds.NewFromConfig(env.Config(t, "us-east-1"))
	createManagedReader(t, db, "events-db-surge-0002")
	env.Advance(t, 10*time.Minute)
	// The previous scale-in's reader is still being deleted (2 minutes).
	if _, err := db.DeleteDBInstance(context.Background(), &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-surge-0002")}); err != nil {
		t.Fatal(err)
	}
	r := newReplica(t, env, cfg, env.StartDNS(t), "replica-a", func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil })
	r.deliver(t, removeReadersAlert(env))
	d := r.lastDecision(t)
	if d.Outcome != OutcomeAct || len(d.Instances) != 1 || d.Instances[0] != "events-db-surge-0001" || d.From != 2 || d.To != 1 {
		t.Fatalf("decision while a reader is deleting: %s %q %v", d.Outcome, d.Reason, d.Instances)
	}
	r.procs.Wait()
	if n := env.World.Calls.Count("rds", "DeleteDBInstance", ""); n != 2 {
		t.Errorf("%d DeleteDBInstance calls, want the test's and the scaler's", n)
	}
}

// Demand that cannot be read (absent, stale, NaN) changes nothing: the
// decision says which signal, and the metric counts it.
func TestUnknownDemandKeepsTheFleet(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	h.prom.unset("events-db", SigReaderCPU)
	h.deliver(t, addReadersAlert(env, "2"))
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "demand unknown (reader_cpu unknown: no series") {
		t.Errorf("absent CPU: %s %q", d.Outcome, d.Reason)
	}
	h.prom.set("events-web", SigRequestsPerInstance, math.NaN())
	h.deliver(t, asgAlert(env, "events-web", "nan000000000001", DirOut))
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "demand unknown") {
		t.Errorf("NaN requests: %s %q", d.Outcome, d.Reason)
	}
	if v := metricValue(h.s.m.unknown.WithLabelValues(SigReaderCPU)); v != 1 {
		t.Errorf("demand_signals_unknown_total{reader_cpu} = %g", v)
	}
	if v := metricValue(h.s.m.unknown.WithLabelValues(SigRequestsPerInstance)); v != 1 {
		t.Errorf("demand_signals_unknown_total{requests_per_instance_per_minute} = %g", v)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", "") + env.World.Calls.Count("autoscaling", "SetDesiredCapacity", ""); n != 0 {
		t.Errorf("%d changes on unknown demand", n)
	}
}

// Serverless v2 readers above the bound are held at max ACU: the fresh
// reader CPU raises max ACU to max x CPU / target in one action, while
// CloudWatch's busy ACU still shows the minute before the surge; a
// provisioned reader turns that estimate off.
func TestFreshReaderCPURaisesMaxACUInOneAction(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, func(o *Options) { o.Config.Clusters[0].ACUCeiling = 128 })
	if c := h.cluster(t); c.MaxACU != 32 {
		t.Fatalf("field-avalanche starts at max ACU %g, the test assumes 32", c.MaxACU)
	}
	// The readers' fresh CPU is 90 %; CloudWatch's busiest ACU is the
	// pre-surge 32 at 30 % (9.6 busy ACU: 32 at the target, covered).
	h.prom.set("events-db", SigReaderCPU, 0.9)
	h.prom.set("events-db", SigACUDemand, 32*0.3)
	body := payload("firing", map[string]string{"alertname": "AuroraServerlessReadersCPUBound", "action": "raise_max_acu", "signal": "fresh",
		"db_cluster": "events-db", "severity": "warning"}, "bound0000000001", env.World.Clock().Now())
	h.deliver(t, body)
	d := h.lastDecision(t)
	if d.Outcome != OutcomeAct || d.To != 96 || !strings.Contains(d.Reason, "readers held at max: max ACU in force 32 x reader CPU 0.9 / target CPU 0.3 = 96 ACU") ||
		!strings.Contains(d.Reason, "larger than the busy-ACU estimate 32") {
		t.Fatalf("fresh CPU above the bound: %s %q, want a raise to 96 from the readers-at-max estimate", d.Outcome, d.Reason)
	}
	if c := h.cluster(t); c.MaxACU != 96 {
		t.Fatalf("emulator max ACU %g, want 96", c.MaxACU)
	}
	// A replay before the readers use the new max: no second raise.
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome == OutcomeAct {
		t.Errorf("replay raised again: %q", d.Reason)
	}
	if n := env.World.Calls.Count("rds", "ModifyDBCluster", ""); n != 1 {
		t.Fatalf("%d ModifyDBCluster calls, want 1", n)
	}

	// Below the bound the readers' CPU is Aurora's own steering: only
	// the busy ACU counts, and 96 covers it.
	env.Advance(t, 10*time.Minute)
	h.prom.set("events-db", SigBusiestACU, 96)
	h.prom.set("events-db", SigReaderCPU, 0.65)
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "covers it") || strings.Contains(d.Reason, "readers held at max") {
		t.Errorf("below the bound: %s %q, want a no-op on the busy ACU", d.Outcome, d.Reason)
	}

	// A provisioned reader: the readers' CPU says nothing about max ACU.
	db := rds.NewFromConfig(env.Config(t, "us-east-1"))
	if _, err := db.CreateDBInstance(context.Background(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-prov"), DBClusterIdentifier: aws.String("events-db"), Engine: aws.String("aurora-postgresql"),
		DBInstanceClass: aws.String("db.r6g.large"), PromotionTier: aws.Int32(15),
	}); err != nil {
		t.Fatal(err)
	}
	h.prom.set("events-db", SigReaderCPU, 0.9)
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || strings.Contains(d.Reason, "readers held at max") {
		t.Errorf("with a provisioned reader: %s %q, want a no-op on the busy ACU", d.Outcome, d.Reason)
	}
	if n := env.World.Calls.Count("rds", "ModifyDBCluster", ""); n != 1 {
		t.Errorf("%d ModifyDBCluster calls, want 1", n)
	}
}
