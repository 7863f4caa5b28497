package route53_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	simr53 "github.com/aurora-surge/aurora-surge/sim/route53"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

func duplicateA(zone string) *route53.ChangeResourceRecordSetsInput {
	return &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{
		Action: types.ChangeActionCreate,
		ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("db-read.app.internal."), Type: types.RRTypeCname, TTL: aws.Int64(5),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String("x.example.")}}},
	}}}}
}

// The SDK reads InvalidChangeBatch's code, message and every problem.
func TestInvalidChangeBatchThroughTheSDK(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simr53.Register)
	c := route53.NewFromConfig(env.Config(t, "us-east-1"))
	zone := zoneID(t, c, "app.internal.")
	_, err := c.ChangeResourceRecordSets(ctx, duplicateA(zone))
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) || len(icb.Messages) != 1 || !strings.Contains(icb.Messages[0], "already exists") {
		t.Fatalf("duplicate create: %v", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidChangeBatch" || !strings.Contains(ae.ErrorMessage(), "already exists") {
		t.Fatalf("code and message: %v", err)
	}

	// Over 1000 records is a batch problem too, in the same shape.
	big := &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: &types.ChangeBatch{}}
	for i := 0; i < 1001; i++ {
		big.ChangeBatch.Changes = append(big.ChangeBatch.Changes, types.Change{Action: types.ChangeActionUpsert,
			ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String(fmt.Sprintf("h%d.app.internal.", i)), Type: types.RRTypeA, TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String("10.0.0.1")}}}})
	}
	_, err = c.ChangeResourceRecordSets(ctx, big)
	if !errors.As(err, &icb) || len(icb.Messages) != 1 || !strings.Contains(icb.Messages[0], "1000") {
		t.Fatalf("1001 changes: %v", err)
	}
}

// awsCLIs lists the AWS CLIs installed here: botocore-based v1 from
// pyenv and Debian's awscli (v2's botocore).
func awsCLIs(t *testing.T) []string {
	var out []string
	for _, p := range []string{os.Getenv("AWS_CLI"), "/usr/bin/aws", "/root/.pyenv/versions/3.11.7/bin/aws"} {
		if _, err := os.Stat(p); p != "" && err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		if os.Getenv("AURORA_REQUIRE_AWSCLI") != "" {
			t.Fatal("no AWS CLI found (apt-get install awscli)")
		}
		t.Skip("no AWS CLI installed (apt-get install awscli)")
	}
	return out
}

// Both AWS CLIs (botocore) report InvalidChangeBatch with its code and
// message, as they do against Route 53.
func TestInvalidChangeBatchThroughTheAWSCLIs(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simr53.Register)
	c := route53.NewFromConfig(env.Config(t, "us-east-1"))
	zone := zoneID(t, c, "app.internal.")
	batch := `{"Changes":[{"Action":"CREATE","ResourceRecordSet":{"Name":"db-read.app.internal.","Type":"CNAME","TTL":5,"ResourceRecords":[{"Value":"x.example."}]}}]}`
	for _, cli := range awsCLIs(t) {
		cmd := exec.Command(cli, "--endpoint-url", env.URL, "--region", "us-east-1", "--output", "json",
			"route53", "change-resource-record-sets", "--hosted-zone-id", zone, "--change-batch", batch)
		cmd.Env = []string{
			"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=", "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin",
		}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s: a duplicate CREATE succeeded:\n%s", cli, out)
		}
		// v2 adds "(reached max retries: 0)" before the colon.
		if !regexp.MustCompile(`An error occurred \(InvalidChangeBatch\) when calling the ChangeResourceRecordSets operation[^[]*: \[Tried to create resource record set .* but it already exists\]`).Match(out) {
			t.Errorf("%s does not see the code and message:\n%s", cli, out)
		}
	}
}
