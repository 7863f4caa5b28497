package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// asgScenario is one web ASG (min 1, max 10, 2 instances) behind its
// target group taking every request: requests/min per instance = users /
// in-service instances (one request per user per minute), CPU % = that /
// 20. The cluster takes no reads so reader scaling stays quiet.
func asgScenario(t *testing.T, eventStart time.Duration, keyframes string) *sim.Scenario {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(fmt.Sprintf(`
name: policy-asg
start: %s
params: {asg_launch_delay: 3m}
fleets:
  - name: app
    cluster:
      id: db
      instances:
        - {id: db-writer, class: db.r6g.large, tier: 1, writer: true}
        - {id: db-reader-1, class: db.r6g.large, tier: 1}
    asgs:
      - {name: web, tier: web, min: 1, max: 10, desired: 2, request_share: 1, target_group: web-tg}
    traffic:
      event_start: %s
      reads_per_user_second: 0
      writes_per_user_second: 0
      requests_per_user_minute: 1
      keyframes: [%s]
`, start.Format(time.RFC3339), eventStart, keyframes)))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// EC2 target tracking on CPU (70 %) and requests per target (1,000 for
// web). Before T: 950 req/min and 47.5 % per instance, no alarm. At T
// 2,500 req/min per instance (CPU 100 %): at T+4m the request policy asks
// ceil(2 x 2500 / 1000) = 5 (CPU only ceil(2 x 100 / 70) = 3; the larger
// wins). While the three new instances launch (3 min) the alarm stays
// high but they already count: no second scale-out. At T+10m the load
// drops to 200 req/min per instance; both policies' AlarmLow (15
// datapoints) is in ALARM at T+26m, but the new instances warm up for 30
// min in this test: they launch at the model's first step after the call
// (T+4m01s), are in service from the tick at T+7m10s and warm at
// T+37m10s, so scale-in is refused every minute until T+37m and goes to
// ceil(5 x 200 / 1000) = 1 at T+38m.
func TestAWSTargetTrackingASGWithWarmup(t *testing.T) {
	sc := asgScenario(t, eventAt, "{at: 0s, users: 1900}, {at: 0s, users: 5000}, {at: 10m, users: 5000}, {at: 10m, users: 1000}")
	p := shippedParams(t)
	p.AWSTargetTracking.ASGs.InstanceWarmup = 30 * time.Minute
	env, pol := startPolicy(t, sc, "aws-target-tracking", p)
	play(t, env, pol, eventAt+38*time.Minute)
	acts := pol.Actions()
	set := taken(acts, KindSetASGCapacity)
	if len(set) != 2 {
		t.Fatalf("want one scale-out and one scale-in:%s", dump(acts))
	}
	if out := set[0]; !out.At.Equal(at(4*time.Minute)) || out.From != 2 || out.To != 5 || !strings.Contains(out.Reason, "requests_per_target AlarmHigh 3/3 datapoints > 1000: 2500") {
		t.Errorf("want 2->5 at T+4m on requests per target:%s", dump(acts))
	}
	if in := set[1]; !in.At.Equal(at(38*time.Minute)) || in.From != 5 || in.To != 1 || !strings.Contains(in.Reason, "AlarmLow 15/15") {
		t.Errorf("want 5->1 at T+38m, after the warmup:%s", dump(acts))
	}
	refused := 0
	for _, a := range acts {
		if a.Refused != "" {
			refused++
			if !strings.Contains(a.Refused, "warming up") || a.At.Before(at(26*time.Minute)) {
				t.Errorf("unexpected refusal:%s", dump([]Action{a}))
			}
		}
	}
	if refused != 12 { // T+26m .. T+37m
		t.Errorf("want a warmup refusal every minute from T+26m to T+37m, got %d:%s", refused, dump(acts))
	}
	g := describeGroup(t, env, "web")
	if aws.ToInt32(g.DesiredCapacity) != 1 {
		t.Errorf("desired capacity %d, want 1", aws.ToInt32(g.DesiredCapacity))
	}
}

// The field's scheduled action runs lead (20 min) before the event:
// MinSize and DesiredCapacity to the tier's 12, clamped to the group's
// max of 10; hold (80 min) after the event the minimum goes back to 1.
func TestFieldScheduledAction(t *testing.T) {
	sc := asgScenario(t, 30*time.Minute, "{at: 0s, users: 1900}")
	env, pol := startPolicy(t, sc, "field", nil)
	if err := pol.Tick(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	acts := taken(pol.Actions(), KindScheduledAction)
	if len(acts) != 2 || acts[0].To != 10 || !strings.Contains(acts[0].Reason, "2026-11-24T18:10:00Z") || !strings.Contains(acts[1].Reason, "2026-11-24T19:50:00Z") {
		t.Fatalf("want the pre-event action at 18:10 (to 10) and the post-event one at 19:50:%s", dump(pol.Actions()))
	}
	env.Advance(t, 10*time.Minute-time.Second)
	if g := describeGroup(t, env, "web"); aws.ToInt32(g.DesiredCapacity) != 2 {
		t.Fatalf("scheduled action ran early: desired %d", aws.ToInt32(g.DesiredCapacity))
	}
	env.Advance(t, 2*time.Second)
	if g := describeGroup(t, env, "web"); aws.ToInt32(g.DesiredCapacity) != 10 || aws.ToInt32(g.MinSize) != 10 {
		t.Fatalf("after 18:10 want desired 10, min 10; got %d, %d", aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MinSize))
	}
	env.Advance(t, 100*time.Minute)
	if g := describeGroup(t, env, "web"); aws.ToInt32(g.MinSize) != 1 {
		t.Fatalf("after 19:50 want min 1 again; got %d", aws.ToInt32(g.MinSize))
	}
}

// A run that starts inside the lead time runs the pre-event action at the
// next minute (Auto Scaling refuses a start time in the past) and says so.
func TestFieldScheduledActionInsideTheLead(t *testing.T) {
	sc := asgScenario(t, 10*time.Minute, "{at: 0s, users: 1900}")
	env, pol := startPolicy(t, sc, "field", nil)
	if err := pol.Tick(context.Background(), start.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	acts := pol.Actions()
	if len(acts) != 2 || acts[0].Refused != "" || !strings.Contains(acts[0].Reason, "at 2026-11-24T18:01:00Z") || !strings.Contains(acts[0].Reason, "already past") {
		t.Fatalf("want the pre-event action moved to 18:01 and the reason to say why:%s", dump(acts))
	}
	env.Advance(t, 61*time.Second)
	if g := describeGroup(t, env, "web"); aws.ToInt32(g.DesiredCapacity) != 10 {
		t.Fatalf("after 18:01 want desired 10, got %d", aws.ToInt32(g.DesiredCapacity))
	}
}

func describeGroup(t *testing.T, env *simtest.Env, name string) *astypes.AutoScalingGroup {
	t.Helper()
	out, err := autoscaling.NewFromConfig(env.Config(t, "us-east-1")).DescribeAutoScalingGroups(context.Background(),
		&autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups %s: %v", name, err)
	}
	return &out.AutoScalingGroups[0]
}

// The field's burst step on requests per target: above 1,800 per
// instance adds 2, above 2,200 adds 3, on one datapoint (T+2m). Its 60 s
// cooldown is over at the next evaluation, and the metric still shows the
// two old instances (the new ones launch for 3 min): T+3m adds again.
// The scheduled action is left out so the group starts at 2.
func TestFieldASGBurstStep(t *testing.T) {
	for _, tc := range []struct {
		users     int
		at2, at3  float64
		perTarget string
	}{
		{4000, 4, 6, "1982"}, // the minute [T, T+1m) holds one second of the old load,
		{4600, 5, 8, "2277"},
	} {
		t.Run(fmt.Sprint(tc.users), func(t *testing.T) {
			sc := asgScenario(t, eventAt, fmt.Sprintf("{at: 0s, users: 1900}, {at: 0s, users: %d}", tc.users))
			p := shippedParams(t)
			p.Field.ASGs.Scheduled = nil
			env, pol := startPolicy(t, sc, "field", p)
			play(t, env, pol, eventAt+3*time.Minute)
			set := taken(pol.Actions(), KindSetASGCapacity)
			if len(set) != 2 || !set[0].At.Equal(at(2*time.Minute)) || set[0].To != tc.at2 || !set[1].At.Equal(at(3*time.Minute)) || set[1].To != tc.at3 ||
				!strings.Contains(set[0].Reason, "burst-step 1/1 datapoints > 1800: "+tc.perTarget) {
				t.Fatalf("want 2->%g at T+2m and ->%g at T+3m on the burst step:%s", tc.at2, tc.at3, dump(pol.Actions()))
			}
		})
	}
}
