package awsapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// botoScript reads CloudWatch the way Python tools do (boto3, AWS JSON
// 1.0 with botocore 1.43) and checks errors surface as ClientError
// with AWS's codes. It prints OK or raises.
const botoScript = `
import sys, datetime, boto3, botocore
from botocore.exceptions import ClientError
url, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cw = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1",
                  config=botocore.config.Config(retries={"max_attempts": 1}))
assert cw.meta.service_model.resolved_protocol == "json", cw.meta.service_model.resolved_protocol
t0, t1 = datetime.datetime.fromtimestamp(start, datetime.timezone.utc), datetime.datetime.fromtimestamp(end, datetime.timezone.utc)
dims = [{"Name": "DBInstanceIdentifier", "Value": "events-db-writer"}]
r = cw.get_metric_data(StartTime=t0, EndTime=t1, ScanBy="TimestampAscending", MetricDataQueries=[{"Id": "cpu",
    "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Dimensions": dims}, "Period": 60, "Stat": "Average"}}])
res = r["MetricDataResults"][0]
assert len(res["Values"]) == 9 and res["Timestamps"][0] == t0, res
s = cw.get_metric_statistics(Namespace="AWS/RDS", MetricName="CPUUtilization", Dimensions=dims, StartTime=t0, EndTime=t1,
    Period=60, Statistics=["Average", "SampleCount"])
assert s["Label"] == "CPUUtilization" and len(s["Datapoints"]) == 9, s
assert all(d["SampleCount"] == 1.0 and d["Unit"] == "Percent" and "Sum" not in d for d in s["Datapoints"]), s
pages = list(cw.get_paginator("list_metrics").paginate(Namespace="AWS/RDS", MetricName="CPUUtilization", Dimensions=[{"Name": "Role"}]))
assert sum(len(p["Metrics"]) for p in pages) == 2, pages
def code(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("no error")
assert code(cw.get_metric_statistics, Namespace="AWS/RDS", MetricName="CPUUtilization", StartTime=t0 - datetime.timedelta(days=2),
    EndTime=t1, Period=60, Statistics=["Average"]) == ("InvalidParameterCombination", 400)
assert code(cw.get_metric_statistics, Namespace="AWS/RDS", MetricName="CPUUtilization", StartTime=t0, EndTime=t1, Period=60,
    ExtendedStatistics=["p99"]) == ("InvalidParameterValue", 400)
assert code(cw.get_metric_data, StartTime=t0, EndTime=t1, NextToken="garbage", MetricDataQueries=[{"Id": "a",
    "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": "CPUUtilization"}, "Period": 60, "Stat": "Average"}}]) == ("InvalidNextToken", 400)
assert code(cw.list_metrics, RecentlyActive="PT1H") == ("ValidationError", 400)
try:
    cw.get_metric_statistics(Namespace="AWS/RDS", MetricName="CPUUtilization", StartTime=t0, EndTime=t1, Period=60, ExtendedStatistics=["p99"])
except cw.exceptions.InvalidParameterValueException:
    pass  # the modelled exception class, found through the query-compatible code
print("OK")
`

// TestBoto3CloudWatch runs boto3 (the pyenv Python's botocore, which
// speaks AWS JSON 1.0 to CloudWatch) against the emulator.
func TestBoto3CloudWatch(t *testing.T) {
	py := simtest.Boto3Python(t)
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	env.Advance(t, 15*time.Minute)
	now := env.World.Now()
	script := filepath.Join(t.TempDir(), "cw.py")
	if err := os.WriteFile(script, []byte(botoScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, env.URL, itoa64(now.Add(-10*time.Minute).Unix()), itoa64(now.Unix()))
	cmd.Env = cliEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
