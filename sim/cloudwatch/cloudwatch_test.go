package cloudwatch_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim"
	simcw "github.com/aurora-surge/aurora-surge/sim/cloudwatch"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

func start(t *testing.T) (*simtest.Env, *cloudwatch.Client) {
	env := simtest.Start(t, "field-avalanche", simcw.Register)
	env.Advance(t, 30*time.Minute)
	return env, cloudwatch.NewFromConfig(env.Config(t, "us-east-1"))
}

func stat(id, ns, metric, statistic string, period int32, dims ...types.Dimension) types.MetricDataQuery {
	return types.MetricDataQuery{Id: aws.String(id), MetricStat: &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: dims},
		Period: aws.Int32(period), Stat: aws.String(statistic)}}
}

func dim(n, v string) types.Dimension {
	return types.Dimension{Name: aws.String(n), Value: aws.String(v)}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

// truthPoint reads the model's own datapoint for a series (ground truth).
func truthPoint(env *simtest.Env, metric string, dims []sim.Dim, at time.Time) (sim.Point, bool) {
	var p sim.Point
	var ok bool
	env.World.Do(func(now time.Time) {
		for _, a := range env.World.Accounts() {
			r := a.Regions["us-east-1"]
			if r == nil {
				continue
			}
			k, _ := sim.NewSeriesKey("AWS/RDS", metric, dims)
			if s := r.Metrics.Lookup(k); s != nil {
				pts := s.Points(at, at.Add(time.Minute), now, time.Minute)
				if len(pts) == 1 {
					p, ok = pts[0], true
				}
			}
		}
	})
	return p, ok
}

func TestGetMetricDataMatchesTheModel(t *testing.T) {
	env, c := start(t)
	now := env.World.Now()
	out, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-20 * time.Minute)), EndTime: aws.Time(now),
		MetricDataQueries: []types.MetricDataQuery{
			stat("acu", "AWS/RDS", "ServerlessDatabaseCapacity", "Average", 60, dim("DBInstanceIdentifier", "events-db-writer")),
			stat("conns", "AWS/RDS", "DatabaseConnections", "Sum", 60, dim("DBClusterIdentifier", "events-db")),
			stat("missing", "AWS/RDS", "CPUUtilization", "Average", 60, dim("DBInstanceIdentifier", "nope")),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 3 {
		t.Fatalf("results: %+v", out.MetricDataResults)
	}
	acu := out.MetricDataResults[0]
	if len(acu.Values) < 15 || acu.StatusCode != types.StatusCodeComplete || aws.ToString(acu.Label) != "ServerlessDatabaseCapacity" {
		t.Fatalf("acu: %d values, %s", len(acu.Values), acu.StatusCode)
	}
	newest := acu.Timestamps[0]
	if !newest.After(acu.Timestamps[1]) {
		t.Fatal("default ScanBy must be newest first")
	}
	if lag := now.Sub(newest); lag < env.World.P.PublicationDelay+time.Minute {
		t.Errorf("newest datapoint only %v old: publication delay not applied", lag)
	}
	want, ok := truthPoint(env, "ServerlessDatabaseCapacity", []sim.Dim{{Name: "DBInstanceIdentifier", Value: "events-db-writer"}}, newest)
	if !ok || math.Abs(acu.Values[0]-want.Sum/want.SampleCount) > 1e-9 {
		t.Fatalf("acu %v, model %+v", acu.Values[0], want)
	}
	conns := out.MetricDataResults[1]
	wantConns, _ := truthPoint(env, "DatabaseConnections", []sim.Dim{{Name: "DBClusterIdentifier", Value: "events-db"}}, conns.Timestamps[0])
	if conns.Values[0] != wantConns.Sum || wantConns.SampleCount != 2 {
		t.Fatalf("cluster connections Sum %v, model %+v (two instances)", conns.Values[0], wantConns)
	}
	if len(out.MetricDataResults[2].Values) != 0 || out.MetricDataResults[2].StatusCode != types.StatusCodeComplete {
		t.Fatalf("unknown metric should be empty and Complete: %+v", out.MetricDataResults[2])
	}

	five, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-20 * time.Minute)), EndTime: aws.Time(now), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{stat("c5", "AWS/RDS", "CPUUtilization", "SampleCount", 300, dim("DBInstanceIdentifier", "events-db-writer"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := five.MetricDataResults[0]
	if len(r.Values) < 3 || r.Values[1] != 5 || !r.Timestamps[0].Before(r.Timestamps[1]) || r.Timestamps[1].Sub(r.Timestamps[0]) != 5*time.Minute {
		t.Fatalf("5-minute SampleCount ascending: %v %v", r.Timestamps, r.Values)
	}
}

func TestMoreThan500QueriesAndPaging(t *testing.T) {
	env, c := start(t)
	now := env.World.Now()
	var qs []types.MetricDataQuery
	for i := 0; i < 501; i++ {
		qs = append(qs, stat(fmt.Sprintf("q%d", i), "AWS/RDS", "CPUUtilization", "Average", 60, dim("DBInstanceIdentifier", "events-db-writer")))
	}
	_, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now), MetricDataQueries: qs})
	wantCode(t, err, "ValidationError")

	// 600 queries in two calls; MaxDatapoints forces NextToken paging.
	seen := map[string]int{}
	calls := 0
	for _, chunk := range [][]types.MetricDataQuery{qs[:500], append(qs[500:], qs[:99]...)} {
		if len(chunk) == 100 {
			for i := range chunk {
				chunk[i].Id = aws.String(fmt.Sprintf("b%d", i))
			}
		}
		p := cloudwatch.NewGetMetricDataPaginator(c, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now), MetricDataQueries: chunk, MaxDatapoints: aws.Int32(700),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			calls++
			for _, r := range page.MetricDataResults {
				seen[aws.ToString(r.Id)] += len(r.Values)
			}
		}
	}
	if len(seen) != 600 {
		t.Fatalf("%d distinct queries answered, want 600", len(seen))
	}
	for id, n := range seen {
		if n != 9 { // [now-10m, now) at a minute boundary, the last minute not yet published
			t.Fatalf("query %s got %d datapoints across pages, want 9", id, n)
		}
	}
	if calls < 8 {
		t.Fatalf("expected NextToken paging (4,000 + 800 datapoints / 700), got %d calls", calls)
	}
}

func TestBadQueriesRejected(t *testing.T) {
	env, c := start(t)
	now := env.World.Now()
	call := func(q types.MetricDataQuery) error {
		_, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), MetricDataQueries: []types.MetricDataQuery{q}})
		return err
	}
	wantCode(t, call(stat("p", "AWS/RDS", "CPUUtilization", "p99", 60)), "InvalidParameterValue")
	wantCode(t, call(stat("p", "AWS/RDS", "CPUUtilization", "Average", 90)), "InvalidParameterValue")
	wantCode(t, call(stat("Bad", "AWS/RDS", "CPUUtilization", "Average", 60)), "ValidationError")
	wantCode(t, call(types.MetricDataQuery{Id: aws.String("e"), Expression: aws.String("SUM(METRICS())")}), "InvalidParameterValue")
	_, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour)),
		MetricDataQueries: []types.MetricDataQuery{stat("a", "AWS/RDS", "CPUUtilization", "Average", 60)}})
	wantCode(t, err, "ValidationError")

	// A malformed CBOR body gets a clear 400, not a crash.
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/service/GraniteServiceVersion20100801/operation/GetMetricData", strings.NewReader("\xbf\x63abc"))
	req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("X-Amzn-Query-Error"), "SerializationException;") {
		t.Fatalf("malformed CBOR: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Query-Error"))
	}

	// An injected throttle surfaces as the query-era code over CBOR.
	if _, err := env.World.Faults.Add(sim.Fault{Kind: sim.FaultThrottle, Service: "monitoring"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, call(stat("a", "AWS/RDS", "CPUUtilization", "Average", 60)), "Throttling")
}

func TestListMetrics(t *testing.T) {
	_, c := start(t)
	out, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/RDS"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []types.DimensionFilter{{Name: aws.String("Role")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Metrics) != 2 {
		t.Fatalf("CPUUtilization by role: %+v", out.Metrics)
	}
	total := 0
	p := cloudwatch.NewListMetricsPaginator(c, &cloudwatch.ListMetricsInput{RecentlyActive: types.RecentlyActivePt3h})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += len(page.Metrics)
	}
	if total < 50 {
		t.Fatalf("only %d metrics listed", total)
	}
}

// TestQueryProtocol sends the awsQuery form older SDKs and the AWS CLI use.
func TestQueryProtocol(t *testing.T) {
	env, _ := start(t)
	now := env.World.Now()
	form := url.Values{
		"Action": {"GetMetricData"}, "Version": {"2010-08-01"},
		"StartTime": {now.Add(-10 * time.Minute).Format(time.RFC3339)}, "EndTime": {now.Format(time.RFC3339)},
		"MetricDataQueries.member.1.Id":                                          {"cpu"},
		"MetricDataQueries.member.1.MetricStat.Metric.Namespace":                 {"AWS/RDS"},
		"MetricDataQueries.member.1.MetricStat.Metric.MetricName":                {"CPUUtilization"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name":  {"DBInstanceIdentifier"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": {"events-db-reader-1"},
		"MetricDataQueries.member.1.MetricStat.Period":                           {"60"},
		"MetricDataQueries.member.1.MetricStat.Stat":                             {"Maximum"},
	}
	status, body := signedPost(t, env.URL, form)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var doc struct {
		Results []struct {
			ID     string    `xml:"Id"`
			Values []float64 `xml:"Values>member"`
		} `xml:"GetMetricDataResult>MetricDataResults>member"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 1 || doc.Results[0].ID != "cpu" || len(doc.Results[0].Values) != 9 {
		t.Fatalf("query protocol result: %s", body)
	}
	form.Set("MetricDataQueries.member.1.MetricStat.Stat", "p90")
	status, body = signedPost(t, env.URL, form)
	if status != 400 || !strings.Contains(string(body), "<Code>InvalidParameterValue</Code>") {
		t.Fatalf("query protocol error: %d %s", status, body)
	}
}

func signedPost(t *testing.T, base string, form url.Values) (int, []byte) {
	t.Helper()
	body := form.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	simtest.Sign(t, req, []byte(body), "monitoring")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
