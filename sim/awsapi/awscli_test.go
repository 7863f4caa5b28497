package awsapi_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// awsCLI finds Debian's AWS CLI (the one the README documents). CI sets
// AURORA_REQUIRE_AWSCLI so a missing CLI fails instead of skipping.
func awsCLI(t *testing.T) string {
	for _, p := range []string{os.Getenv("AWS_CLI"), "/usr/bin/aws"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("AURORA_REQUIRE_AWSCLI") != "" {
		t.Fatal("AWS CLI not found at /usr/bin/aws (apt-get install awscli)")
	}
	t.Skip("AWS CLI not installed (apt-get install awscli); CI requires it")
	return ""
}

func runCLI(t *testing.T, cli, url string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(cli, append([]string{"--endpoint-url", url, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = []string{
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=", "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin",
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return doc
}

// TestAWSCLI runs the AWS CLI from Debian's packages against the emulator:
// it sends awsQuery to CloudWatch, so this covers the protocol older
// clients and other exporters use.
func TestAWSCLI(t *testing.T) {
	cli := awsCLI(t)
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	env.Advance(t, 15*time.Minute)

	clusters := runCLI(t, cli, env.URL, "rds", "describe-db-clusters")
	list, _ := clusters["DBClusters"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["DBClusterIdentifier"] != "events-db" {
		t.Fatalf("describe-db-clusters: want events-db, got %v", clusters)
	}

	now := env.World.Now()
	query := `[{"Id":"cpu","MetricStat":{"Metric":{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","Dimensions":[{"Name":"DBInstanceIdentifier","Value":"events-db-writer"}]},"Period":60,"Stat":"Average"}}]`
	data := runCLI(t, cli, env.URL, "cloudwatch", "get-metric-data",
		"--start-time", now.Add(-10*time.Minute).Format(time.RFC3339), "--end-time", now.Format(time.RFC3339),
		"--metric-data-queries", query)
	results, _ := data["MetricDataResults"].([]any)
	if len(results) != 1 {
		t.Fatalf("get-metric-data: want 1 result, got %v", data)
	}
	values, _ := results[0].(map[string]any)["Values"].([]any)
	if len(values) < 5 {
		t.Fatalf("get-metric-data: want >= 5 datapoints over 10 minutes, got %v", results[0])
	}

	zones := runCLI(t, cli, env.URL, "route53", "list-hosted-zones")
	hz, _ := zones["HostedZones"].([]any)
	if len(hz) != 1 {
		t.Fatalf("list-hosted-zones: want 1 zone, got %v", zones)
	}
	id := hz[0].(map[string]any)["Id"].(string)
	records := runCLI(t, cli, env.URL, "route53", "list-resource-record-sets", "--hosted-zone-id", id)
	found := false
	for _, r := range records["ResourceRecordSets"].([]any) {
		if r.(map[string]any)["Name"] == "db-read.app.internal." {
			found = true
		}
	}
	if !found {
		t.Fatalf("list-resource-record-sets: db-read.app.internal. missing: %v", records)
	}
}
