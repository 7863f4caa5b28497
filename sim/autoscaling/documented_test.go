package autoscaling_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	simasg "github.com/aurora-surge/aurora-surge/sim/autoscaling"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// The Describe operations document InvalidNextToken for a token they did
// not hand out; the SDK decodes it into its type.
func TestBadNextTokenIsInvalidNextToken(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simasg.Register)
	c := autoscaling.NewFromConfig(env.Config(t, "us-east-1"))
	var bad *types.InvalidNextToken
	_, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("not-a-token")})
	if !errors.As(err, &bad) {
		t.Fatalf("DescribeAutoScalingGroups: want InvalidNextToken, got %v", err)
	}
	_, err = c.DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{NextToken: aws.String("not-a-token")})
	if !errors.As(err, &bad) {
		t.Fatalf("DescribeScheduledActions: want InvalidNextToken, got %v", err)
	}
	_, err = c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{NextToken: aws.String("not-a-token")})
	if !errors.As(err, &bad) {
		t.Fatalf("DescribeScalingActivities: want InvalidNextToken, got %v", err)
	}
	_, err = c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{MaxRecords: aws.Int32(500)})
	wantCode(t, err, "ValidationError")
}

func TestActivityTimesHaveAtMostMillisecondPrecision(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simasg.Register)
	env.Advance(t, 1523*time.Nanosecond)
	cfg := env.Config(t, "us-east-1")
	bodies := simtest.CaptureBodies(&cfg)
	c := autoscaling.NewFromConfig(cfg)
	if _, err := c.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("events-web"), DesiredCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("events-web")})
	if err != nil || len(out.Activities) != 1 {
		t.Fatalf("activities: %v %v", out, err)
	}
	for _, b := range bodies.All() {
		if m := regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d{4,}Z`).FindString(b); m != "" {
			t.Fatalf("timestamp with sub-millisecond digits on the wire: %s", m)
		}
	}
}
