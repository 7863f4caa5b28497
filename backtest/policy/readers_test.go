package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// start is every test scenario's start; the event (T) is 10 minutes in.
var start = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)

const eventAt = 10 * time.Minute

// readerScenario is one writer and one self-managed reader of class
// db.r6g.large (8 ACU: 800 reads/s at 100 % CPU). With one read per user
// per second and no writes, reader CPU % = users / 8 / readers, so every
// datapoint is known in advance. keyframes are relative to T.
func readerScenario(t *testing.T, provisioning time.Duration, keyframes string, extra ...string) *sim.Scenario {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(fmt.Sprintf(`
name: policy-readers
start: %s
params: {provisioning_delay: %s, deletion_delay: 2m}
fleets:
  - name: app
    cluster:
      id: db
      instances:
        - {id: db-writer, class: db.r6g.large, tier: 1, writer: true}
        - {id: db-reader-1, class: db.r6g.large, tier: 1}
    traffic:
      event_start: %s
      reads_per_user_second: 1
      writes_per_user_second: 0
      keyframes: [%s]
%s`, start.Format(time.RFC3339), provisioning, eventAt, keyframes, strings.Join(extra, "\n"))))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// play ticks the policy every 10 s from the scenario start (tick at 0
// included) until until, as the harness does.
func play(t *testing.T, env *simtest.Env, pol Policy, until time.Duration) {
	t.Helper()
	ctx := context.Background()
	for {
		now := env.Clock.Now()
		if err := pol.Tick(ctx, now); err != nil {
			t.Fatalf("tick at %s: %v", now.Format(time.TimeOnly), err)
		}
		if now.Sub(start) >= until {
			return
		}
		env.Advance(t, 10*time.Second)
	}
}

func newPolicy(t *testing.T, env *simtest.Env, sc *sim.Scenario, name string, p *Params) Policy {
	t.Helper()
	if p == nil {
		p = shippedParams(t)
	}
	pol, err := New(name, p, env.Config(t, "us-east-1"), FleetFromScenario(sc, start))
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// startPolicy starts sc's world and the named policy on it (p nil: the
// embedded parameters).
func startPolicy(t *testing.T, sc *sim.Scenario, name string, p *Params) (*simtest.Env, Policy) {
	t.Helper()
	env := simtest.StartScenario(t, sc, awsapi.Services...)
	return env, newPolicy(t, env, sc, name, p)
}

// shippedParams are the embedded parameters, for a test to change.
func shippedParams(t *testing.T) *Params {
	t.Helper()
	p, err := LoadParams("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// at is T + d.
func at(d time.Duration) time.Time { return start.Add(eventAt + d) }

func taken(acts []Action, kind string) []Action {
	var out []Action
	for _, a := range acts {
		if a.Kind == kind && a.Refused == "" {
			out = append(out, a)
		}
	}
	return out
}

func dump(acts []Action) string {
	var b strings.Builder
	for _, a := range acts {
		fmt.Fprintf(&b, "\n  T%+v %s %s %g->%g %q refused=%q", a.At.Sub(at(0)), a.Kind, a.Target, a.From, a.To, a.Reason, a.Refused)
	}
	return b.String()
}

// AlarmHigh needs three 1-minute datapoints above the target. CPU steps
// from 12.5 % to 40 % at T; the minute [T, T+1m) is published at T+2m, so
// the third high datapoint is visible at T+4m: the scale-out happens then,
// not at T+3m (two datapoints), and adds ceil(1 x 40 / 30) - 1 = 1 reader
// like the writer, at promotion tier 15. While it is created, nothing else
// is done.
func TestAWSTargetTrackingScaleOutAfterThreeDatapoints(t *testing.T) {
	sc := readerScenario(t, 8*time.Minute, "{at: 0s, users: 100}, {at: 0s, users: 320}")
	env, pol := startPolicy(t, sc, "aws-target-tracking", nil)
	play(t, env, pol, eventAt+3*time.Minute)
	if acts := pol.Actions(); len(acts) != 0 {
		t.Fatalf("acted before the third datapoint above the target:%s", dump(acts))
	}
	play(t, env, pol, eventAt+10*time.Minute)
	acts := pol.Actions()
	added := taken(acts, KindAddReaders)
	if len(added) != 1 || !added[0].At.Equal(at(4*time.Minute)) || added[0].From != 1 || added[0].To != 2 || !strings.Contains(added[0].Reason, "AlarmHigh 3/3 datapoints > 30") {
		t.Fatalf("want one add_readers 1->2 at T+4m on AlarmHigh 3/3; got:%s", dump(acts))
	}
	// Every later minute the alarm is still high (the new reader takes no
	// traffic yet): refused, inside the 300 s cooldown because the reader
	// just added already covers the computed capacity, after it because
	// the reader is still creating.
	for _, a := range acts[1:] {
		want := "instance not available"
		if a.At.Before(at(9 * time.Minute)) {
			want = "scale-out cooldown"
		}
		if !strings.Contains(a.Refused, want) {
			t.Fatalf("at T%+v want a refusal %q:%s", a.At.Sub(at(0)), want, dump(acts))
		}
	}
	if len(acts) != 7 { // T+5m .. T+10m, once a minute
		t.Errorf("want 6 refusals, one a minute from T+5m to T+10m:%s", dump(acts))
	}
	out, err := rds.NewFromConfig(env.Config(t, "us-east-1")).DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{
		Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{"db"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var made []rdstypes.DBInstance
	for _, in := range out.DBInstances {
		if strings.HasPrefix(aws.ToString(in.DBInstanceIdentifier), "application-autoscaling-") {
			made = append(made, in)
		}
	}
	if len(made) != 1 || aws.ToString(made[0].DBInstanceClass) != "db.r6g.large" || aws.ToInt32(made[0].PromotionTier) != 15 || aws.ToString(made[0].DBInstanceStatus) != "creating" {
		t.Fatalf("want one creating db.r6g.large reader at tier 15, got %+v", made)
	}
}

// AlarmLow needs fifteen datapoints below 90 % of the target and removes
// one reader at a time, only one the policy created. 448 users: one
// reader runs at 56 % (scale out to 2 at T+4m), two at 28 %, between the
// alarms. At T+20m the load drops to 100 users (6.25 % on two readers):
// the fifteenth low datapoint, minute [T+34m, T+35m), is visible at T+36m.
func TestAWSTargetTrackingScaleInAfterFifteenDatapoints(t *testing.T) {
	sc := readerScenario(t, time.Minute, "{at: 0s, users: 100}, {at: 0s, users: 448}, {at: 20m, users: 448}, {at: 20m, users: 100}")
	env, pol := startPolicy(t, sc, "aws-target-tracking", nil)
	play(t, env, pol, eventAt+35*time.Minute)
	if removed := taken(pol.Actions(), KindRemoveReader); len(removed) != 0 {
		t.Fatalf("scaled in before fifteen low datapoints:%s", dump(pol.Actions()))
	}
	play(t, env, pol, eventAt+40*time.Minute)
	acts := pol.Actions()
	added, removed := taken(acts, KindAddReaders), taken(acts, KindRemoveReader)
	if len(added) != 1 || !added[0].At.Equal(at(4*time.Minute)) || added[0].To != 2 {
		t.Fatalf("want one scale-out to 2 at T+4m:%s", dump(acts))
	}
	if len(removed) != 1 || !removed[0].At.Equal(at(36*time.Minute)) || removed[0].From != 2 || removed[0].To != 1 ||
		!strings.Contains(removed[0].Reason, "AlarmLow 15/15 datapoints < 27") || !strings.Contains(removed[0].Reason, "application-autoscaling-") {
		t.Fatalf("want one remove_reader 2->1 of the policy's reader at T+36m:%s", dump(acts))
	}
	// Right after the scale-out the metric still shows one reader at 56 %:
	// the scale-out cooldown counts the reader just added, so T+5m and
	// T+6m are refused, not a second scale-out.
	for _, a := range acts {
		if a.Kind == KindAddReaders && a.Refused != "" && !strings.Contains(a.Refused, "scale-out cooldown") {
			t.Errorf("unexpected refusal: %+v", a)
		}
	}
	if n := len(acts) - 2; n != 2 {
		t.Errorf("want exactly two cooldown refusals (T+5m, T+6m):%s", dump(acts))
	}
	if _, err := rds.NewFromConfig(env.Config(t, "us-east-1")).DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("db-reader-1")}); err != nil {
		t.Fatalf("the self-managed reader must stay: %v", err)
	}
}

// During the scale-out cooldown target tracking still scales out when the
// metric asks for more than the previous scale-out made: at T+5m the load
// jumps to 1,600 users (100 % on two readers); at T+7m the newest
// datapoint is 100 % and, counted from the one reader before the
// cooldown's scale-out, asks for ceil(1 x 100 / 30) = 4: two more.
func TestAWSTargetTrackingScaleOutInsideCooldown(t *testing.T) {
	sc := readerScenario(t, time.Minute, "{at: 0s, users: 100}, {at: 0s, users: 448}, {at: 5m, users: 448}, {at: 5m, users: 1600}")
	env, pol := startPolicy(t, sc, "aws-target-tracking", nil)
	play(t, env, pol, eventAt+7*time.Minute)
	acts := pol.Actions()
	added := taken(acts, KindAddReaders)
	if len(added) != 2 || !added[0].At.Equal(at(4*time.Minute)) || added[0].To != 2 ||
		!added[1].At.Equal(at(7*time.Minute)) || added[1].From != 2 || added[1].To != 4 {
		t.Fatalf("want 1->2 at T+4m and 2->4 inside the cooldown at T+7m:%s", dump(acts))
	}
}

// The field's step alarms act on one datapoint: > 70 % adds one reader,
// > 85 % two, at T+2m (the first high minute's publication), before
// target tracking's three datapoints.
func TestFieldStepAlarms(t *testing.T) {
	for _, tc := range []struct {
		users  int
		want   float64
		reason string
	}{
		{600, 2, "reader-cpu-step 1/1 datapoints > 70"}, // 75 %
		{720, 3, "reader-cpu-step 1/1 datapoints > 70"}, // 90 %
	} {
		t.Run(fmt.Sprint(tc.users), func(t *testing.T) {
			sc := readerScenario(t, 8*time.Minute, fmt.Sprintf("{at: 0s, users: 100}, {at: 0s, users: %d}", tc.users))
			env, pol := startPolicy(t, sc, "field", nil)
			play(t, env, pol, eventAt+time.Minute)
			if len(pol.Actions()) != 0 {
				t.Fatalf("acted before the first high datapoint was published:%s", dump(pol.Actions()))
			}
			play(t, env, pol, eventAt+2*time.Minute)
			added := taken(pol.Actions(), KindAddReaders)
			if len(added) != 1 || !added[0].At.Equal(at(2*time.Minute)) || added[0].To != tc.want || !strings.Contains(added[0].Reason, tc.reason) {
				t.Fatalf("want add_readers 1->%g at T+2m (%s):%s", tc.want, tc.reason, dump(pol.Actions()))
			}
		})
	}
}

func TestNonePolicyDoesNothing(t *testing.T) {
	sc := readerScenario(t, time.Minute, "{at: 0s, users: 100}, {at: 0s, users: 800}")
	env, pol := startPolicy(t, sc, "none", nil)
	play(t, env, pol, eventAt+10*time.Minute)
	if len(pol.Actions()) != 0 {
		t.Fatalf("none acted:%s", dump(pol.Actions()))
	}
	if _, err := New("nope", nil, aws.Config{}, Fleet{}); err == nil || !strings.Contains(err.Error(), "unknown policy") {
		t.Fatalf("unknown name: %v", err)
	}
}

// CloudWatch throttled from T+3m to T+6m: the evaluations of T+3m, T+4m
// and T+5m fail (Tick returns the error, nothing is changed on missing
// data), and the scale-out happens at the first evaluation that can read
// the metric again.
func TestTargetTrackingWaitsOutCloudWatchThrottling(t *testing.T) {
	sc := readerScenario(t, 8*time.Minute, "{at: 0s, users: 100}, {at: 0s, users: 320}",
		"faults:\n  - {at: 13m, duration: 3m, kind: throttle, service: monitoring}")
	env, pol := startPolicy(t, sc, "aws-target-tracking", nil)
	var failed []time.Duration
	for now := env.Clock.Now(); now.Sub(start) <= eventAt+6*time.Minute; now = env.Clock.Now() {
		if err := pol.Tick(context.Background(), now); err != nil {
			if !strings.Contains(err.Error(), "Throttling") {
				t.Fatalf("tick at %s: %v", now.Format(time.TimeOnly), err)
			}
			failed = append(failed, now.Sub(at(0)))
		}
		env.Advance(t, 10*time.Second)
	}
	if len(failed) != 3 || failed[0] != 3*time.Minute || failed[2] != 5*time.Minute {
		t.Fatalf("want failed evaluations at T+3m, T+4m, T+5m; got %v", failed)
	}
	added := taken(pol.Actions(), KindAddReaders)
	if len(added) != 1 || !added[0].At.Equal(at(6*time.Minute)) || added[0].To != 2 {
		t.Fatalf("want the scale-out at T+6m, once CloudWatch answers:%s", dump(pol.Actions()))
	}
}
