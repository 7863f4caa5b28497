package autoscaling_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim"
	simasg "github.com/aurora-surge/aurora-surge/sim/autoscaling"
	"github.com/aurora-surge/aurora-surge/sim/elbv2"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func group(t *testing.T, c *autoscaling.Client, name string) types.AutoScalingGroup {
	t.Helper()
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe %s: %v %v", name, out, err)
	}
	return out.AutoScalingGroups[0]
}

func inService(g types.AutoScalingGroup) (in, pending int) {
	for _, i := range g.Instances {
		if i.LifecycleState == types.LifecycleStateInService {
			in++
		} else {
			pending++
		}
	}
	return
}

func TestScaleOutAndTargetHealth(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simasg.Register, elbv2.Register)
	c := autoscaling.NewFromConfig(env.Config(t, "us-east-1"))
	elb := elasticloadbalancingv2.NewFromConfig(env.Config(t, "us-east-1"))
	g := group(t, c, "events-web")
	if aws.ToInt32(g.DesiredCapacity) != 4 || len(g.TargetGroupARNs) != 1 || len(g.Tags) != 1 {
		t.Fatalf("events-web: %+v", g)
	}
	tagged, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []types.Filter{{Name: aws.String("tag:app"), Values: []string{"events"}}}})
	if err != nil || len(tagged.AutoScalingGroups) != 2 {
		t.Fatalf("by tag: %v %v", tagged, err)
	}

	if _, err := c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("events-web"), DesiredCapacity: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, time.Second)
	if in, pending := inService(group(t, c, "events-web")); in != 4 || pending != 3 {
		t.Fatalf("after scale-out: %d in service, %d pending", in, pending)
	}
	tgArn := g.TargetGroupARNs[0]
	health, err := elb.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgArn)})
	if err != nil {
		t.Fatal(err)
	}
	initial := 0
	for _, d := range health.TargetHealthDescriptions {
		if d.TargetHealth.State == elbtypes.TargetHealthStateEnumInitial {
			initial++
		}
	}
	if len(health.TargetHealthDescriptions) != 7 || initial != 3 {
		t.Fatalf("target health: %d targets, %d initial", len(health.TargetHealthDescriptions), initial)
	}
	env.Advance(t, env.World.P.ASGLaunchDelay)
	if in, _ := inService(group(t, c, "events-web")); in != 7 {
		t.Fatalf("after the launch delay: %d in service", in)
	}

	tgs, err := elb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{TargetGroupArns: []string{tgArn}})
	if err != nil || len(tgs.TargetGroups) != 1 || aws.ToString(tgs.TargetGroups[0].TargetGroupName) != "events-web-tg" || len(tgs.TargetGroups[0].LoadBalancerArns) != 1 {
		t.Fatalf("target group: %v %v", tgs, err)
	}
	_, err = elb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{Names: []string{"nope"}})
	wantCode(t, err, "TargetGroupNotFound")

	_, err = c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("events-web"), DesiredCapacity: aws.Int32(25)})
	wantCode(t, err, "ValidationError")
	_, err = c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(2)})
	wantCode(t, err, "ValidationError")
}

func TestScheduledActionFiresAtItsTime(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simasg.Register)
	c := autoscaling.NewFromConfig(env.Config(t, "us-east-1"))
	at := env.World.Now().Add(20 * time.Minute)
	_, err := c.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{
		AutoScalingGroupName: aws.String("events-web"), ScheduledActionName: aws.String("pre-event"),
		StartTime: aws.Time(at), MinSize: aws.Int32(10), DesiredCapacity: aws.Int32(12),
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String("events-web")})
	if err != nil || len(list.ScheduledUpdateGroupActions) != 1 || aws.ToInt32(list.ScheduledUpdateGroupActions[0].DesiredCapacity) != 12 {
		t.Fatalf("scheduled: %v %v", list, err)
	}
	env.Advance(t, 20*time.Minute-time.Second)
	if g := group(t, c, "events-web"); aws.ToInt32(g.DesiredCapacity) != 4 {
		t.Fatalf("fired early: desired %d", aws.ToInt32(g.DesiredCapacity))
	}
	env.Advance(t, time.Second)
	if g := group(t, c, "events-web"); aws.ToInt32(g.DesiredCapacity) != 12 || aws.ToInt32(g.MinSize) != 10 {
		t.Fatalf("on time: desired %d min %d", aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MinSize))
	}
	list, _ = c.DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String("events-web")})
	if len(list.ScheduledUpdateGroupActions) != 0 {
		t.Fatal("a one-time action should be gone once it ran")
	}

	put := func(in *autoscaling.PutScheduledUpdateGroupActionInput) error {
		in.AutoScalingGroupName, in.ScheduledActionName = aws.String("events-web"), aws.String("x")
		_, err := c.PutScheduledUpdateGroupAction(ctx, in)
		return err
	}
	wantCode(t, put(&autoscaling.PutScheduledUpdateGroupActionInput{StartTime: aws.Time(env.World.Now().Add(-time.Minute)), DesiredCapacity: aws.Int32(5)}), "ValidationError")
	wantCode(t, put(&autoscaling.PutScheduledUpdateGroupActionInput{StartTime: aws.Time(env.World.Now().Add(time.Hour))}), "ValidationError")
	wantCode(t, put(&autoscaling.PutScheduledUpdateGroupActionInput{Recurrence: aws.String("0 9 * * *"), DesiredCapacity: aws.Int32(5)}), "ValidationError")
}

func TestPagingGroups(t *testing.T) {
	sc, err := sim.ParseScenario([]byte(`
name: many
fleets:
  - name: f
    count: 120
    cluster:
      id: db
      instances: [{id: db-w, class: db.r6g.large, writer: true}]
    asgs: [{name: web, min: 1, max: 3, desired: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.StartScenario(t, sc, simasg.Register, elbv2.Register)
	c := autoscaling.NewFromConfig(env.Config(t, "us-east-1"))
	n, pages := 0, 0
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(c, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.AutoScalingGroups)
		pages++
	}
	if n != 120 || pages != 3 {
		t.Fatalf("%d groups in %d pages", n, pages)
	}
	elb := elasticloadbalancingv2.NewFromConfig(env.Config(t, "us-east-1"))
	tp := elasticloadbalancingv2.NewDescribeTargetGroupsPaginator(elb, &elasticloadbalancingv2.DescribeTargetGroupsInput{PageSize: aws.Int32(50)})
	n = 0
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.TargetGroups)
	}
	if n != 120 {
		t.Fatalf("%d target groups", n)
	}
}

func TestScalingActivitiesRecordCapacityChanges(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simasg.Register)
	c := autoscaling.NewFromConfig(env.Config(t, "us-east-1"))
	if _, err := c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("events-web"), DesiredCapacity: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{
		AutoScalingGroupName: aws.String("events-web"), ScheduledActionName: aws.String("up"),
		StartTime: aws.Time(env.World.Now().Add(time.Minute)), DesiredCapacity: aws.Int32(10),
	}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, 2*time.Minute)
	out, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("events-web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Activities) != 2 {
		t.Fatalf("activities: %d", len(out.Activities))
	}
	newest, oldest := out.Activities[0], out.Activities[1]
	if !strings.Contains(aws.ToString(newest.Cause), "scheduled action") || !strings.Contains(aws.ToString(newest.Cause), "from 7 to 10") ||
		!strings.Contains(aws.ToString(oldest.Cause), "user request explicitly set group desired capacity changing the desired capacity from 4 to 7") ||
		newest.StatusCode != "Successful" || !aws.ToTime(newest.StartTime).After(aws.ToTime(oldest.StartTime)) {
		t.Fatalf("activities: %q / %q", aws.ToString(newest.Cause), aws.ToString(oldest.Cause))
	}
	other, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("events-api")})
	if err != nil || len(other.Activities) != 0 {
		t.Fatalf("untouched group: %v %v", other, err)
	}
}

// DeleteScheduledAction removes a pending action (it then never fires);
// an unknown action or group is a ValidationError, as in AWS.
func TestDeleteScheduledAction(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simasg.Register)
	c := autoscaling.NewFromConfig(env.Config(t, "us-east-1"))
	_, err := c.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{
		AutoScalingGroupName: aws.String("events-web"), ScheduledActionName: aws.String("pre-event"),
		StartTime: aws.Time(env.World.Now().Add(10 * time.Minute)), DesiredCapacity: aws.Int32(12),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteScheduledAction(ctx, &autoscaling.DeleteScheduledActionInput{AutoScalingGroupName: aws.String("events-web"), ScheduledActionName: aws.String("pre-event")}); err != nil {
		t.Fatal(err)
	}
	list, err := c.DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String("events-web")})
	if err != nil || len(list.ScheduledUpdateGroupActions) != 0 {
		t.Fatalf("after delete: %v %v", list, err)
	}
	env.Advance(t, 11*time.Minute)
	if g := group(t, c, "events-web"); aws.ToInt32(g.DesiredCapacity) != 4 {
		t.Fatalf("deleted action fired: desired %d", aws.ToInt32(g.DesiredCapacity))
	}
	_, err = c.DeleteScheduledAction(ctx, &autoscaling.DeleteScheduledActionInput{AutoScalingGroupName: aws.String("events-web"), ScheduledActionName: aws.String("pre-event")})
	wantCode(t, err, "ValidationError")
	_, err = c.DeleteScheduledAction(ctx, &autoscaling.DeleteScheduledActionInput{AutoScalingGroupName: aws.String("nope"), ScheduledActionName: aws.String("x")})
	wantCode(t, err, "ValidationError")
}
