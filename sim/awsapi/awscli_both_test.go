package awsapi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// cliFlavour is one AWS CLI this image has, found by the Python that
// carries it: Debian's awscli 2.9 (/usr/bin/python3; awsQuery for
// CloudWatch) and the pyenv aws-cli 1.x (botocore 1.43 sends AWS JSON
// 1.0 to CloudWatch). Both commands are called aws, so each is invoked
// explicitly through its own interpreter.
type cliFlavour struct {
	name, python, major, aws string
}

func cliFlavours() []cliFlavour {
	return []cliFlavour{
		{name: "debian-awscli-2", python: "/usr/bin/python3", major: "2", aws: "/usr/bin/aws"},
		{name: "pyenv-awscli-1", python: "/root/.pyenv/shims/python3", major: "1", aws: "/root/.pyenv/shims/aws"},
	}
}

// require skips (or, with AURORA_REQUIRE_AWSCLI set as in CI, fails)
// when the flavour's Python cannot import its awscli.
func (f cliFlavour) require(t *testing.T) {
	t.Helper()
	out, err := exec.Command(f.python, "-c", "import awscli; print(awscli.__version__)").Output()
	v := strings.TrimSpace(string(out))
	if err == nil && strings.HasPrefix(v, f.major+".") {
		return
	}
	msg := fmt.Sprintf("AWS CLI %s.x not importable by %s (got %q, %v)", f.major, f.python, v, err)
	if os.Getenv("AURORA_REQUIRE_AWSCLI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; CI requires it")
}

func cliEnv(t *testing.T) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard", "AWS_PAGER=", "HOME=" + t.TempDir(),
		"PATH=/root/.pyenv/shims:/usr/local/bin:/usr/bin:/bin", "PYENV_VERSION=",
	}
}

// batchRunner runs many CLI commands in one interpreter through the CLI's
// own entry point (argument parsing, botocore, output formatting), so the
// suite pays Python's start-up once per flavour, not per command.
const batchRunner = `
import contextlib, io, json, sys
try:
    from awscli.clidriver import AWSCLIEntryPoint  # v2
    run = AWSCLIEntryPoint().main
except ImportError:
    from awscli.clidriver import create_clidriver  # v1
    run = create_clidriver().main
results = []
for args in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = run(args)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
    results.append({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()})
json.dump(results, sys.__stdout__)
`

// cliStep is one command: on success its JSON output is checked; with
// code set it must fail with that AWS error code.
type cliStep struct {
	args  []string
	code  string
	check func(doc map[string]any) error
}

type cliResult struct {
	RC     int    `json:"rc"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

// runBatch runs the steps and returns each one's decoded output.
func (f cliFlavour) runBatch(t *testing.T, url string, steps []cliStep) []map[string]any {
	t.Helper()
	var cmds [][]string
	for _, s := range steps {
		cmds = append(cmds, append([]string{"--endpoint-url", url, "--region", "us-east-1", "--output", "json"}, s.args...))
	}
	in, _ := json.Marshal(cmds)
	script := filepath.Join(t.TempDir(), "batch.py")
	if err := os.WriteFile(script, []byte(batchRunner), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(f.python, script)
	cmd.Env = cliEnv(t)
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s batch runner: %v\n%s", f.name, err, stderr.String())
	}
	t.Logf("%s: %d commands in %s", f.name, len(steps), time.Since(began).Round(time.Millisecond))
	var results []cliResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(steps) {
		t.Fatalf("%s batch output (%d results for %d steps): %v\n%s", f.name, len(results), len(steps), err, out)
	}
	docs := make([]map[string]any, len(steps))
	for i, s := range steps {
		r := results[i]
		what := f.name + ": aws " + strings.Join(s.args, " ")
		if s.code != "" {
			if r.RC == 0 || !strings.Contains(r.Stderr, "("+s.code+")") {
				t.Errorf("%s: want error %s, got rc %d\nstdout: %s\nstderr: %s", what, s.code, r.RC, r.Stdout, r.Stderr)
			}
			continue
		}
		if r.RC != 0 {
			t.Errorf("%s: rc %d\n%s", what, r.RC, r.Stderr)
			continue
		}
		doc := map[string]any{}
		if strings.TrimSpace(r.Stdout) != "" {
			if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
				t.Errorf("%s: output is not JSON: %v\n%s", what, err, r.Stdout)
				continue
			}
		}
		docs[i] = doc
		if s.check != nil {
			if err := s.check(doc); err != nil {
				t.Errorf("%s: %v\noutput: %s", what, err, r.Stdout)
			}
		}
	}
	return docs
}

// at walks a decoded JSON document: at(doc, "DBClusters", 0, "Status").
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func want(v any, path ...any) func(map[string]any) error {
	return func(doc map[string]any) error {
		got := at(doc, path[:len(path)-1]...)
		if fmt.Sprint(got) != fmt.Sprint(v) {
			return fmt.Errorf("%v = %v, want %v", path[:len(path)-1], got, v)
		}
		return nil
	}
}

func wantLen(n int, path ...any) func(map[string]any) error {
	return func(doc map[string]any) error {
		l, _ := at(doc, path...).([]any)
		if len(l) != n {
			return fmt.Errorf("%v has %d entries, want %d", path, len(l), n)
		}
		return nil
	}
}

// TestAWSCLIFlavours runs every operation the product uses, and
// GetMetricStatistics, through both AWS CLIs, checking each success
// output and at least one AWS error code per service (per operation
// where the emulator has one that is settled).
func TestAWSCLIFlavours(t *testing.T) {
	for _, f := range cliFlavours() {
		t.Run(f.name, func(t *testing.T) {
			f.require(t)
			t.Parallel()
			testCLIFlavour(t, f)
		})
	}
}

func testCLIFlavour(t *testing.T, f cliFlavour) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	env.Advance(t, 15*time.Minute)
	now := env.World.Now()
	var zoneID, tgARN string
	env.World.Do(func(time.Time) {
		a := env.World.Accounts()[0]
		for _, z := range a.HostedZones {
			zoneID = z.ID
		}
		for _, g := range a.Regions["us-east-1"].SortedASGs() {
			if g.Name == "events-web" {
				tgARN = g.TargetGroups[0].ARN
			}
		}
	})
	start, end := now.Add(-10*time.Minute).Format(time.RFC3339), now.Format(time.RFC3339)
	cpuQuery := func(stat string) string {
		return `[{"Id":"cpu","MetricStat":{"Metric":{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","Dimensions":[{"Name":"DBInstanceIdentifier","Value":"events-db-writer"}]},"Period":60,"Stat":"` + stat + `"}}]`
	}
	stats := func(extra ...string) []string {
		return append([]string{"cloudwatch", "get-metric-statistics", "--namespace", "AWS/RDS", "--metric-name", "CPUUtilization",
			"--dimensions", "Name=DBClusterIdentifier,Value=events-db", "--start-time", start, "--end-time", end}, extra...)
	}
	clusterARN := "arn:aws:rds:us-east-1:123456789012:cluster:events-db"
	change := `{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"db-read.app.internal.","Type":"CNAME","TTL":5,"ResourceRecords":[{"Value":"events-db-reader-1.example."}]}}]}`

	steps := []cliStep{
		// RDS
		{args: []string{"rds", "describe-db-clusters"}, check: want("events-db", "DBClusters", 0, "DBClusterIdentifier", nil)},
		{args: []string{"rds", "describe-db-clusters", "--db-cluster-identifier", "nosuch"}, code: "DBClusterNotFoundFault"},
		{args: []string{"rds", "describe-db-instances"}, check: wantLen(2, "DBInstances")},
		{args: []string{"rds", "describe-db-instances", "--db-instance-identifier", "nosuch"}, code: "DBInstanceNotFound"},
		{args: []string{"rds", "describe-db-cluster-endpoints", "--db-cluster-identifier", "events-db"}, check: func(doc map[string]any) error {
			for _, e := range at(doc, "DBClusterEndpoints").([]any) {
				if at(e, "DBClusterEndpointIdentifier") == "events-reporting" {
					return nil
				}
			}
			return fmt.Errorf("custom endpoint events-reporting missing")
		}},
		{args: []string{"rds", "describe-db-proxies"}, check: want("events-proxy", "DBProxies", 0, "DBProxyName", nil)},
		{args: []string{"rds", "describe-db-proxies", "--db-proxy-name", "nosuch"}, code: "DBProxyNotFoundFault"},
		{args: []string{"rds", "describe-db-proxy-targets", "--db-proxy-name", "events-proxy"}, check: func(doc map[string]any) error {
			if l, _ := at(doc, "Targets").([]any); len(l) == 0 {
				return fmt.Errorf("no proxy targets")
			}
			return nil
		}},
		{args: []string{"rds", "describe-db-proxy-targets", "--db-proxy-name", "nosuch"}, code: "DBProxyNotFoundFault"},
		{args: []string{"rds", "add-tags-to-resource", "--resource-name", clusterARN, "--tags", "Key=team,Value=events"}},
		{args: []string{"rds", "add-tags-to-resource", "--resource-name", strings.Replace(clusterARN, "events-db", "nosuch", 1), "--tags", "Key=team,Value=events"}, code: "DBClusterNotFoundFault"},
		{args: []string{"rds", "modify-db-instance", "--db-instance-identifier", "events-db-reader-1", "--promotion-tier", "2", "--apply-immediately"},
			check: want("events-db-reader-1", "DBInstance", "DBInstanceIdentifier", nil)},
		{args: []string{"rds", "modify-db-instance", "--db-instance-identifier", "nosuch", "--promotion-tier", "2"}, code: "DBInstanceNotFound"},
		{args: []string{"rds", "modify-db-cluster", "--db-cluster-identifier", "events-db", "--serverless-v2-scaling-configuration", "MinCapacity=1,MaxCapacity=32", "--apply-immediately"},
			check: want(1, "DBCluster", "ServerlessV2ScalingConfiguration", "MinCapacity", nil)},
		{args: []string{"rds", "modify-db-cluster", "--db-cluster-identifier", "nosuch", "--apply-immediately"}, code: "DBClusterNotFoundFault"},
		{args: []string{"rds", "modify-db-cluster-endpoint", "--db-cluster-endpoint-identifier", "events-reporting", "--excluded-members", "events-db-writer"},
			check: want("[events-db-writer]", "ExcludedMembers", nil)},
		{args: []string{"rds", "modify-db-cluster-endpoint", "--db-cluster-endpoint-identifier", "nosuch", "--excluded-members", "events-db-writer"}, code: "DBClusterEndpointNotFoundFault"},
		{args: []string{"rds", "delete-db-instance", "--db-instance-identifier", "nosuch"}, code: "DBInstanceNotFound"},
		{args: []string{"rds", "failover-db-cluster", "--db-cluster-identifier", "nosuch"}, code: "DBClusterNotFoundFault"},
		{args: []string{"rds", "create-db-instance", "--db-instance-identifier", "events-db-reader-9", "--db-cluster-identifier", "events-db",
			"--db-instance-class", "db.serverless", "--engine", "aurora-postgresql", "--promotion-tier", "15"}, check: want("creating", "DBInstance", "DBInstanceStatus", nil)},
		{args: []string{"rds", "create-db-instance", "--db-instance-identifier", "events-db-reader-9", "--db-cluster-identifier", "events-db",
			"--db-instance-class", "db.serverless", "--engine", "aurora-postgresql"}, code: "DBInstanceAlreadyExists"},
		// CloudWatch
		{args: []string{"cloudwatch", "get-metric-data", "--start-time", start, "--end-time", end, "--metric-data-queries", cpuQuery("Average")},
			check: func(doc map[string]any) error {
				if l, _ := at(doc, "MetricDataResults", 0, "Values").([]any); len(l) != 9 {
					return fmt.Errorf("want 9 datapoints over 10 minutes, got %d", len(l))
				}
				return nil
			}},
		{args: []string{"cloudwatch", "get-metric-data", "--start-time", start, "--end-time", end, "--metric-data-queries", cpuQuery("p99")}, code: "InvalidParameterValue"},
		{args: stats("--period", "60", "--statistics", "Average", "Maximum", "SampleCount"), check: func(doc map[string]any) error {
			dps, _ := at(doc, "Datapoints").([]any)
			if len(dps) != 9 || at(doc, "Label") != "CPUUtilization" {
				return fmt.Errorf("want 9 datapoints labelled CPUUtilization, got %d", len(dps))
			}
			for _, d := range dps {
				if at(d, "SampleCount") != 2.0 || at(d, "Unit") != "Percent" || at(d, "Maximum") == nil || at(d, "Sum") != nil {
					return fmt.Errorf("datapoint %v: want SampleCount 2 (two instances), unit Percent, only the asked statistics", d)
				}
			}
			return nil
		}},
		{args: stats("--period", "60", "--statistics", "Average", "--unit", "Count"), check: wantLen(0, "Datapoints")},
		{args: stats("--period", "1", "--statistics", "Average", "--start-time", now.Add(-24*time.Hour).Format(time.RFC3339)), code: "InvalidParameterCombination"},
		{args: stats("--period", "90", "--statistics", "Average"), code: "InvalidParameterValue"},
		{args: stats("--period", "60", "--extended-statistics", "p99"), code: "InvalidParameterValue"},
		{args: stats("--period", "60"), code: "InvalidParameterCombination"},
		{args: []string{"cloudwatch", "list-metrics", "--namespace", "AWS/RDS", "--metric-name", "CPUUtilization", "--dimensions", "Name=Role"}, check: wantLen(2, "Metrics")},
		{args: []string{"cloudwatch", "list-metrics", "--recently-active", "PT1H"}, code: "ValidationError"},
		// Auto Scaling
		{args: []string{"autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "events-web"}, check: want(4, "AutoScalingGroups", 0, "DesiredCapacity", nil)},
		{args: []string{"autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "events-web", "--desired-capacity", "6"}},
		{args: []string{"autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "events-web"}, check: want(6, "AutoScalingGroups", 0, "DesiredCapacity", nil)},
		{args: []string{"autoscaling", "set-desired-capacity", "--auto-scaling-group-name", "events-web", "--desired-capacity", "100"}, code: "ValidationError"},
		{args: []string{"autoscaling", "put-scheduled-update-group-action", "--auto-scaling-group-name", "events-web", "--scheduled-action-name", "pre-event",
			"--start-time", now.Add(time.Hour).Format(time.RFC3339), "--desired-capacity", "8"}},
		{args: []string{"autoscaling", "put-scheduled-update-group-action", "--auto-scaling-group-name", "nosuch", "--scheduled-action-name", "pre-event",
			"--start-time", now.Add(time.Hour).Format(time.RFC3339), "--desired-capacity", "8"}, code: "ValidationError"},
		{args: []string{"autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", "events-web"}, check: func(doc map[string]any) error {
			if l, _ := at(doc, "Activities").([]any); len(l) == 0 {
				return fmt.Errorf("no activity after set-desired-capacity")
			}
			return nil
		}},
		// ELBv2
		{args: []string{"elbv2", "describe-target-groups"}, check: wantLen(2, "TargetGroups")},
		{args: []string{"elbv2", "describe-target-groups", "--names", "nosuch"}, code: "TargetGroupNotFound"},
		{args: []string{"elbv2", "describe-target-health", "--target-group-arn", tgARN}, check: wantLen(4, "TargetHealthDescriptions")},
		{args: []string{"elbv2", "describe-target-health", "--target-group-arn", strings.Replace(tgARN, "events-web-tg", "nosuch", 1)}, code: "TargetGroupNotFound"},
		// Route 53
		{args: []string{"route53", "list-hosted-zones"}, check: want("app.internal.", "HostedZones", 0, "Name", nil)},
		{args: []string{"route53", "list-resource-record-sets", "--hosted-zone-id", zoneID}, check: func(doc map[string]any) error {
			for _, r := range at(doc, "ResourceRecordSets").([]any) {
				if at(r, "Name") == "db-read.app.internal." {
					return nil
				}
			}
			return fmt.Errorf("db-read.app.internal. missing")
		}},
		{args: []string{"route53", "list-resource-record-sets", "--hosted-zone-id", "ZNOSUCHZONE0000000000"}, code: "NoSuchHostedZone"},
		{args: []string{"route53", "change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", change}, check: want("PENDING", "ChangeInfo", "Status", nil)},
		{args: []string{"route53", "change-resource-record-sets", "--hosted-zone-id", "ZNOSUCHZONE0000000000", "--change-batch", change}, code: "NoSuchHostedZone"},
		{args: []string{"route53", "get-change", "--id", "CNOSUCHCHANGE00000000"}, code: "NoSuchChange"},
		// STS
		{args: []string{"sts", "get-caller-identity"}, check: want("123456789012", "Account", nil)},
		{args: []string{"sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/aurora-surge", "--role-session-name", "cli"},
			check: want("arn:aws:sts::123456789012:assumed-role/aurora-surge/cli", "AssumedRoleUser", "Arn", nil)},
		{args: []string{"sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/nosuch", "--role-session-name", "cli"}, code: "AccessDenied"},
	}
	docs := f.runBatch(t, env.URL, steps)

	// GetChange needs the id the change returned; the change is INSYNC
	// once Route 53's propagation delay has passed. A failover waits for
	// the new reader to be available.
	changeID := ""
	for i, s := range steps {
		if s.args[1] == "change-resource-record-sets" && s.code == "" {
			changeID, _ = at(docs[i], "ChangeInfo", "Id").(string)
		}
	}
	if changeID == "" {
		t.Fatal("change-resource-record-sets returned no change id")
	}
	env.Advance(t, env.World.P.ProvisioningDelay+env.World.P.Route53Propagation)
	f.runBatch(t, env.URL, []cliStep{
		{args: []string{"route53", "get-change", "--id", changeID}, check: want("INSYNC", "ChangeInfo", "Status", nil)},
		{args: []string{"rds", "delete-db-instance", "--db-instance-identifier", "events-db-reader-9"}, check: want("deleting", "DBInstance", "DBInstanceStatus", nil)},
		{args: []string{"rds", "failover-db-cluster", "--db-cluster-identifier", "events-db"}, check: want("events-db", "DBCluster", "DBClusterIdentifier", nil)},
		{args: []string{"rds", "failover-db-cluster", "--db-cluster-identifier", "events-db"}, code: "InvalidDBClusterStateFault"},
	})

	// One real start of the aws command itself, as users run it.
	cmd := exec.Command(f.aws, "--endpoint-url", env.URL, "--region", "us-east-1", "--output", "json",
		"cloudwatch", "get-metric-statistics", "--namespace", "AWS/RDS", "--metric-name", "CPUUtilization",
		"--dimensions", "Name=DBInstanceIdentifier,Value=events-db-writer", "--start-time", start, "--end-time", end,
		"--period", "300", "--statistics", "Sum")
	cmd.Env = cliEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", f.aws, err, out)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil || len(at(doc, "Datapoints").([]any)) != 2 {
		t.Fatalf("%s get-metric-statistics: %v\n%s", f.aws, err, out)
	}
}
