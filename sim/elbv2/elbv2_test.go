package elbv2_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim/autoscaling"
	"github.com/aurora-surge/aurora-surge/sim/elbv2"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

// TestTargetGroupsAndHealthThroughTheSDK covers both operations over HTTP:
// every selector of DescribeTargetGroups, target health as the group
// scales, and the documented errors decoded into the SDK's types.
func TestTargetGroupsAndHealthThroughTheSDK(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", elbv2.Register, autoscaling.Register)
	c := elb.NewFromConfig(env.Config(t, "us-east-1"))

	all, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(all.TargetGroups) != 2 {
		t.Fatalf("all target groups: %v %v", all, err)
	}
	byName := map[string]types.TargetGroup{}
	for _, tg := range all.TargetGroups {
		byName[aws.ToString(tg.TargetGroupName)] = tg
	}
	web, ok := byName["events-web-tg"]
	if !ok || aws.ToInt32(web.Port) != 8080 || web.Protocol != types.ProtocolEnumHttp || aws.ToInt32(web.HealthCheckIntervalSeconds) != 30 ||
		web.TargetType != types.TargetTypeEnumInstance || len(web.LoadBalancerArns) != 1 {
		t.Fatalf("events-web-tg: %+v", web)
	}
	lb := web.LoadBalancerArns[0]
	for name, in := range map[string]*elb.DescribeTargetGroupsInput{
		"by ARN":  {TargetGroupArns: []string{aws.ToString(web.TargetGroupArn)}},
		"by name": {Names: []string{"events-web-tg"}},
	} {
		out, err := c.DescribeTargetGroups(ctx, in)
		if err != nil || len(out.TargetGroups) != 1 || aws.ToString(out.TargetGroups[0].TargetGroupArn) != aws.ToString(web.TargetGroupArn) {
			t.Fatalf("%s: %v %v", name, out, err)
		}
	}
	onLB, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lb)})
	if err != nil || len(onLB.TargetGroups) != 2 {
		t.Fatalf("by load balancer: %v %v", onLB, err)
	}
	pages, n := 0, 0
	for p := elb.NewDescribeTargetGroupsPaginator(c, &elb.DescribeTargetGroupsInput{PageSize: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages, n = pages+1, n+len(page.TargetGroups)
	}
	if pages != 2 || n != 2 {
		t.Fatalf("paging by 1: %d groups in %d pages", n, pages)
	}

	health, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: web.TargetGroupArn})
	if err != nil || len(health.TargetHealthDescriptions) != 4 {
		t.Fatalf("health: %v %v", health, err)
	}
	for _, d := range health.TargetHealthDescriptions {
		if d.TargetHealth.State != types.TargetHealthStateEnumHealthy || aws.ToInt32(d.Target.Port) != 8080 {
			t.Fatalf("a seeded InService instance: %+v", d)
		}
	}

	var noTG *types.TargetGroupNotFoundException
	_, err = c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"nope"}})
	if !errors.As(err, &noTG) {
		t.Fatalf("unknown name: want TargetGroupNotFoundException, got %v", err)
	}
	_, err = c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(aws.ToString(web.TargetGroupArn) + "x")})
	if !errors.As(err, &noTG) {
		t.Fatalf("unknown ARN: want TargetGroupNotFoundException, got %v", err)
	}
	var noLB *types.LoadBalancerNotFoundException
	_, err = c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lb + "x")})
	if !errors.As(err, &noLB) {
		t.Fatalf("unknown load balancer: want LoadBalancerNotFoundException, got %v", err)
	}
	var ae smithy.APIError
	_, err = c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{PageSize: aws.Int32(401)})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Fatalf("PageSize 401: want ValidationError, got %v", err)
	}
}
