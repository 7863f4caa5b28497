package sts_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim/simtest"
	simsts "github.com/aurora-surge/aurora-surge/sim/sts"
)

// Temporary credentials look like AWS's: a 20-character ASIA key and an
// expiration without sub-millisecond digits.
func TestAssumeRoleCredentialsLookLikeAWSs(t *testing.T) {
	env := simtest.Start(t, "steady", simsts.Register)
	env.Advance(t, 1523*time.Nanosecond)
	cfg := env.Config(t, "us-east-1")
	bodies := simtest.CaptureBodies(&cfg)
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/aurora-surge-readonly"), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatal(err)
	}
	key := aws.ToString(out.Credentials.AccessKeyId)
	if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(key) {
		t.Fatalf("access key id %q: want ASIA and 16 more characters (20 in all)", key)
	}
	if want := env.World.Now().Add(time.Hour).Truncate(time.Second); !aws.ToTime(out.Credentials.Expiration).Equal(want) {
		t.Fatalf("expiration %v, want %v", aws.ToTime(out.Credentials.Expiration), want)
	}
	for _, b := range bodies.All() {
		if m := regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d{4,}Z`).FindString(b); m != "" {
			t.Fatalf("timestamp with sub-millisecond digits on the wire: %s", m)
		}
	}
}

// Temporary credentials expire: past the session's duration, STS answers
// AssumeRole with its documented ExpiredTokenException (the SDK's type)
// and GetCallerIdentity with the common ExpiredToken.
func TestExpiredSessionCredentials(t *testing.T) {
	env := simtest.Start(t, "steady", simsts.Register)
	base := sts.NewFromConfig(env.Config(t, "us-east-1"))
	out, err := base.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/aurora-surge-readonly"),
		RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	session := sts.NewFromConfig(env.ConfigWithKey(t, "us-east-1", aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey)))
	chain := &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/aurora-surge-readonly"), RoleSessionName: aws.String("chained")}
	if _, err := session.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("a fresh session: %v", err)
	}
	if _, err := session.AssumeRole(ctx, chain); err != nil {
		t.Fatalf("role chaining from a fresh session: %v", err)
	}
	env.Advance(t, 15*time.Minute)
	_, err = session.AssumeRole(ctx, chain)
	var expired *types.ExpiredTokenException
	if !errors.As(err, &expired) {
		t.Fatalf("AssumeRole with expired credentials: want ExpiredTokenException, got %v", err)
	}
	_, err = session.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredToken" {
		t.Fatalf("GetCallerIdentity with expired credentials: want ExpiredToken, got %v", err)
	}
	if _, err := base.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("long-term credentials do not expire: %v", err)
	}
}
