package pi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/pi"
	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// The aws-sdk-go-v2 pi module is not on this machine's module proxy, so
// the Go tests send the documents botocore's pi model defines (AWS JSON
// 1.1), signed with the SDK's own SigV4 signer; TestBoto3PerformanceInsights
// runs the real boto3 client.
const scenario = `
name: pi
params: {performance_insights_delay: 5s}
fleets:
  - name: shop
    cluster:
      id: shop-db
      engine: aurora-mysql
      performance_insights: true
      instances:
        - {id: shop-db-writer, class: db.r6g.xlarge, tier: 0, writer: true}
        - {id: shop-db-reader-1, class: db.r6g.large, tier: 1, performance_insights: false}
    traffic:
      reads_per_user_second: 1
      writes_per_user_second: 0.5
      keyframes: [{at: 0s, users: 1000}]
`

type fixture struct {
	env *simtest.Env
	ids map[string]string
}

func start(t *testing.T) *fixture {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(scenario))
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.StartScenario(t, sc, pi.Register, simrds.Register)
	f := &fixture{env: env, ids: map[string]string{}}
	out, err := rds.NewFromConfig(env.Config(t, "us-east-1")).DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range out.DBInstances {
		f.ids[aws.ToString(in.DBInstanceIdentifier)] = aws.ToString(in.DbiResourceId)
	}
	return f
}

type piError struct {
	Status int
	Type   string `json:"__type"`
}

// call posts one GetResourceMetrics document and decodes the answer.
func (f *fixture) call(t *testing.T, in map[string]any) (*pi.GetResourceMetricsOutput, *piError) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, f.env.URL+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "PerformanceInsightsv20180227.GetResourceMetrics")
	simtest.Sign(t, req, body, "pi")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e := &piError{Status: resp.StatusCode}
		_ = json.Unmarshal(raw, e)
		if e.Type != resp.Header.Get("X-Amzn-ErrorType") {
			t.Fatalf("error type %q vs header %q", e.Type, resp.Header.Get("X-Amzn-ErrorType"))
		}
		return nil, e
	}
	out := &pi.GetResourceMetricsOutput{}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return out, nil
}

func (f *fixture) query(id string, period int64, from, to time.Time, metrics ...string) map[string]any {
	var qs []map[string]any
	for _, m := range metrics {
		qs = append(qs, map[string]any{"Metric": m})
	}
	return map[string]any{"ServiceType": "RDS", "Identifier": id, "MetricQueries": qs, "StartTime": from.Unix(), "EndTime": to.Unix(), "PeriodInSeconds": period}
}

func TestDBLoadFollowsTheModel(t *testing.T) {
	f := start(t)
	f.env.Advance(t, 10*time.Minute)
	now := f.env.World.Now()
	ct, _ := f.env.World.Truth().Cluster("shop-db")
	var cpu float64
	for _, in := range ct.Instances {
		if in.ID == "shop-db-writer" {
			cpu = in.CPU
		}
	}
	if cpu <= 5 || cpu >= 100 {
		t.Fatalf("writer CPU %v: the scenario should load it partly", cpu)
	}
	for _, period := range []int64{1, 60, 300} {
		out, e := f.call(t, f.query(f.ids["shop-db-writer"], period, now.Add(-6*time.Minute), now, "db.load.avg", "os.cpuUtilization.total.avg", "db.SQL.Queries.avg"))
		if e != nil {
			t.Fatalf("period %d: %+v", period, e)
		}
		load, cpuM, q := out.MetricList[0].DataPoints, out.MetricList[1].DataPoints, out.MetricList[2].DataPoints
		if len(load) == 0 {
			t.Fatalf("period %d: no datapoints", period)
		}
		lastEnd := load[len(load)-1].Timestamp.Time
		// Each datapoint is served once its period has ended plus the
		// 5 s delay, and the newest such period is there.
		if lastEnd.After(now.Add(-5*time.Second)) || now.Sub(lastEnd) > time.Duration(period)*time.Second+5*time.Second {
			t.Fatalf("period %d: newest datapoint ends %v, now %v", period, lastEnd, now)
		}
		v := *load[len(load)-1].Value
		// Steady load: average active sessions = CPU fraction x 4 vCPUs.
		if want := cpu / 100 * 4; math.Abs(v-want) > 0.01 {
			t.Fatalf("period %d: db.load.avg %v, want %v (CPU %v%% of 4 vCPUs)", period, v, want, cpu)
		}
		if c := *cpuM[len(cpuM)-1].Value; math.Abs(c-cpu) > 0.01 {
			t.Fatalf("os.cpuUtilization.total.avg %v, model %v", c, cpu)
		}
		// The writer serves the writes (1000 users x 0.5/s); reads go to
		// the reader endpoint.
		if qq := *q[len(q)-1].Value; math.Abs(qq-500) > 0.01 {
			t.Fatalf("db.SQL.Queries.avg %v, want 500/s", qq)
		}
	}
	// Saturated: demand beyond capacity puts db.load above the vCPUs
	// while CPU stays at 100 %.
	users := 20000.0
	f.env.World.SetUsers("shop-db", &users)
	f.env.Advance(t, 3*time.Minute)
	now = f.env.World.Now()
	out, e := f.call(t, f.query(f.ids["shop-db-writer"], 60, now.Add(-2*time.Minute), now, "db.load.avg", "os.cpuUtilization.total.max"))
	if e != nil {
		t.Fatal(e)
	}
	dl, dc := out.MetricList[0].DataPoints, out.MetricList[1].DataPoints
	if l := *dl[len(dl)-1].Value; l <= 4 || *dc[len(dc)-1].Value != 100 {
		t.Fatalf("saturated: db.load.avg %v with 4 vCPUs, CPU max %v", l, *dc[len(dc)-1].Value)
	}
}

func TestErrorsAndPagination(t *testing.T) {
	f := start(t)
	f.env.Advance(t, 3*time.Minute)
	now := f.env.World.Now()
	w := f.ids["shop-db-writer"]
	for name, c := range map[string]struct {
		in   map[string]any
		want string
	}{
		"PI off":            {f.query(f.ids["shop-db-reader-1"], 60, now.Add(-time.Minute), now, "db.load.avg"), "NotAuthorizedException"},
		"unknown id":        {f.query("db-NOPE", 60, now.Add(-time.Minute), now, "db.load.avg"), "NotAuthorizedException"},
		"bad period":        {f.query(w, 30, now.Add(-time.Minute), now, "db.load.avg"), "InvalidArgumentException"},
		"start after end":   {f.query(w, 60, now, now.Add(-time.Minute), "db.load.avg"), "InvalidArgumentException"},
		"unknown metric":    {f.query(w, 60, now.Add(-time.Minute), now, "db.load.p99"), "InvalidArgumentException"},
		"other engine":      {f.query(w, 60, now.Add(-time.Minute), now, "db.Transactions.xact_commit.avg"), "InvalidArgumentException"},
		"older than 7 days": {f.query(w, 60, now.Add(-8*24*time.Hour), now, "db.load.avg"), "InvalidArgumentException"},
	} {
		if _, e := f.call(t, c.in); e == nil || e.Type != c.want || e.Status != 400 {
			t.Errorf("%s: got %+v, want %s", name, e, c.want)
		}
	}
	in := f.query(w, 60, now.Add(-2*time.Minute), now, "db.load.avg", "db.load.max", "os.loadAverageMinute.one.avg")
	in["MaxResults"] = 2
	out, e := f.call(t, in)
	if e != nil || len(out.MetricList) != 2 || out.NextToken == "" {
		t.Fatalf("page 1: %+v %+v", out, e)
	}
	in["NextToken"] = out.NextToken
	out, e = f.call(t, in)
	if e != nil || len(out.MetricList) != 1 || out.MetricList[0].Key.Metric != "os.loadAverageMinute.one.avg" || out.NextToken != "" {
		t.Fatalf("page 2: %+v %+v", out, e)
	}
}

const botoScript = `
import sys, datetime, boto3, botocore
url, ident, off, end = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = boto3.client("pi", endpoint_url=url, region_name="us-east-1", config=botocore.config.Config(retries={"max_attempts": 1}))
t1 = datetime.datetime.fromtimestamp(end, datetime.timezone.utc)
r = c.get_resource_metrics(ServiceType="RDS", Identifier=ident, StartTime=t1 - datetime.timedelta(minutes=5), EndTime=t1,
    PeriodInSeconds=60, MetricQueries=[{"Metric": "db.load.avg"}])
pts = r["MetricList"][0]["DataPoints"]
assert r["Identifier"] == ident and len(pts) == 3 and pts[-1]["Value"] > 0, r
try:
    c.get_resource_metrics(ServiceType="RDS", Identifier=off, StartTime=t1 - datetime.timedelta(minutes=5), EndTime=t1,
        PeriodInSeconds=60, MetricQueries=[{"Metric": "db.load.avg"}])
    raise AssertionError("no error")
except c.exceptions.NotAuthorizedException:
    pass
print("OK")
`

func TestBoto3PerformanceInsights(t *testing.T) {
	py := simtest.Boto3Python(t)
	f := start(t)
	f.env.Advance(t, 10*time.Minute)
	script := filepath.Join(t.TempDir(), "pi.py")
	if err := os.WriteFile(script, []byte(botoScript), 0o644); err != nil {
		t.Fatal(err)
	}
	// Now is 18:10:00; the window 18:06-18:11 holds three complete,
	// published minutes (to 18:09): 18:09-18:10 is 5 s from published.
	end := f.env.World.Now().Truncate(time.Minute).Add(time.Minute)
	cmd := exec.Command(py, script, f.env.URL, f.ids["shop-db-writer"], f.ids["shop-db-reader-1"], strconv.FormatInt(end.Unix(), 10))
	cmd.Env = []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME=" + t.TempDir(), "PATH=/root/.pyenv/shims:/usr/local/bin:/usr/bin:/bin", "PYENV_VERSION="}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}
