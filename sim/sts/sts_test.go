package sts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	simasg "github.com/aurora-surge/aurora-surge/sim/autoscaling"
	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
	simsts "github.com/aurora-surge/aurora-surge/sim/sts"
)

var ctx = context.Background()

func TestAssumeRoleIntoAnotherAccountAndRegion(t *testing.T) {
	env := simtest.Start(t, "steady", simsts.Register, simrds.Register, simasg.Register)
	base := env.Config(t, "us-east-1")
	id, err := sts.NewFromConfig(base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "123456789012" {
		t.Fatalf("caller: %v %v", id, err)
	}

	cfg := env.Config(t, "eu-west-1")
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), "arn:aws:iam::210987654321:role/aurora-surge-readonly"))
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Account) != "210987654321" || aws.ToString(who.Arn) == "" || aws.ToString(who.Arn)[:len("arn:aws:sts::210987654321:assumed-role/aurora-surge-readonly/")] != "arn:aws:sts::210987654321:assumed-role/aurora-surge-readonly/" {
		t.Fatalf("assumed identity: %s %s", aws.ToString(who.Account), aws.ToString(who.Arn))
	}
	clusters, err := rds.NewFromConfig(cfg).DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil || len(clusters.DBClusters) != 1 || aws.ToString(clusters.DBClusters[0].DBClusterIdentifier) != "blog-db" {
		t.Fatalf("second account's clusters: %v %v", clusters, err)
	}
	groups, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(groups.AutoScalingGroups) != 0 {
		t.Fatalf("the second account must not see the first one's groups: %v %v", groups, err)
	}

	_, err = sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/admin"), RoleSessionName: aws.String("x1")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("undeclared role: %v", err)
	}
	_, err = sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("not-an-arn"), RoleSessionName: aws.String("x1")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Fatalf("bad ARN: %v", err)
	}
}
