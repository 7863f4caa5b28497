package cloudwatch_test

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// jsonPost sends one AWS JSON 1.0 request as botocore does (X-Amz-Target,
// application/x-amz-json-1.0, x-amzn-query-mode), signed unless sign is
// false, and returns the status, headers and decoded body.
func jsonPost(t *testing.T, base, op, body string, sign bool) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Set("x-amzn-query-mode", "true")
	if sign {
		simtest.Sign(t, req, []byte(body), "monitoring")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		t.Fatalf("%s: Content-Type %q, body %s", op, ct, raw)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", op, err, raw)
	}
	return resp.StatusCode, resp.Header, doc
}

// wantJSONError checks AWS's JSON 1.0 error shape for a query-compatible
// service: status, __type naming the modelled shape, message, and the
// x-amzn-query-error header carrying the awsQuery code clients report.
func wantJSONError(t *testing.T, status int, h http.Header, doc map[string]any, wantStatus int, code, shape string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %v", status, wantStatus, doc)
	}
	if typ, _ := doc["__type"].(string); !strings.HasSuffix(typ, "#"+shape) {
		t.Fatalf("__type %q, want ...#%s", typ, shape)
	}
	if msg, _ := doc["message"].(string); msg == "" {
		t.Fatalf("no message: %v", doc)
	}
	if q := h.Get("X-Amzn-Query-Error"); q != code+";Sender" {
		t.Fatalf("x-amzn-query-error %q, want %s;Sender", q, code)
	}
}

func TestJSONProtocol(t *testing.T) {
	env, _ := start(t)
	now := env.World.Now().Truncate(time.Minute)
	from, to := now.Add(-10*time.Minute).Unix(), now.Unix()

	status, _, doc := jsonPost(t, env.URL, "GetMetricData", `{"MetricDataQueries":[{"Id":"cpu","MetricStat":{"Metric":{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","Dimensions":[{"Name":"DBInstanceIdentifier","Value":"events-db-writer"}]},"Period":60,"Stat":"Average"}}],"StartTime":`+itoa(from)+`,"EndTime":`+itoa(to)+`,"ScanBy":"TimestampAscending"}`, true)
	if status != 200 {
		t.Fatalf("GetMetricData: %d %v", status, doc)
	}
	results := doc["MetricDataResults"].([]any)
	r0 := results[0].(map[string]any)
	ts, vals := r0["Timestamps"].([]any), r0["Values"].([]any)
	if r0["Id"] != "cpu" || len(ts) != 9 || len(vals) != 9 {
		t.Fatalf("GetMetricData result: %v", r0)
	}
	// Timestamps are epoch seconds (numbers), as botocore expects.
	if first, ok := ts[0].(float64); !ok || int64(first) != from {
		t.Fatalf("first timestamp %v (%T), want epoch %d", ts[0], ts[0], from)
	}

	status, _, doc = jsonPost(t, env.URL, "GetMetricStatistics", `{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","Dimensions":[{"Name":"DBClusterIdentifier","Value":"events-db"}],"StartTime":`+itoa(from)+`,"EndTime":`+itoa(to)+`,"Period":300,"Statistics":["Average","SampleCount"]}`, true)
	if status != 200 || doc["Label"] != "CPUUtilization" {
		t.Fatalf("GetMetricStatistics: %d %v", status, doc)
	}
	dps := doc["Datapoints"].([]any)
	if len(dps) != 2 {
		t.Fatalf("10 minutes at 300 s: want 2 datapoints, got %v", dps)
	}
	counts := map[int64]float64{}
	for _, d := range dps {
		dp := d.(map[string]any)
		if dp["Unit"] != "Percent" || dp["SampleCount"] == nil || dp["Average"] == nil || dp["Maximum"] != nil {
			t.Fatalf("datapoint carries exactly the asked statistics and the unit: %v", dp)
		}
		counts[int64(dp["Timestamp"].(float64))] = dp["SampleCount"].(float64)
	}
	// Two instances: a full 5 minutes is 10 samples; the last period has
	// 4 published minutes (the current one is still open and the one
	// before waits out the publication delay).
	if math.Abs(counts[from]-10) > 1e-9 || math.Abs(counts[from+300]-8) > 1e-9 {
		t.Fatalf("SampleCount per 5 minutes of 2 instances: %v, want 10 at %d and 8 at %d", counts, from, from+300)
	}

	status, _, doc = jsonPost(t, env.URL, "ListMetrics", `{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","Dimensions":[{"Name":"Role"}]}`, true)
	if status != 200 || len(doc["Metrics"].([]any)) != 2 {
		t.Fatalf("ListMetrics: %d %v", status, doc)
	}

	// Errors: the modelled shape in __type, the query code in the header.
	status, h, doc := jsonPost(t, env.URL, "GetMetricStatistics", `{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","StartTime":`+itoa(from-2*86400)+`,"EndTime":`+itoa(to)+`,"Period":60,"Statistics":["Average"]}`, true)
	wantJSONError(t, status, h, doc, 400, "InvalidParameterCombination", "InvalidParameterCombinationException")
	status, h, doc = jsonPost(t, env.URL, "GetMetricStatistics", `{"Namespace":"AWS/RDS","MetricName":"CPUUtilization","StartTime":`+itoa(from)+`,"EndTime":`+itoa(to)+`,"Period":60,"ExtendedStatistics":["p99"]}`, true)
	wantJSONError(t, status, h, doc, 400, "InvalidParameterValue", "InvalidParameterValueException")
	status, h, doc = jsonPost(t, env.URL, "GetMetricStatistics", `{"MetricName":"CPUUtilization","StartTime":`+itoa(from)+`,"EndTime":`+itoa(to)+`,"Period":60,"Statistics":["Average"]}`, true)
	wantJSONError(t, status, h, doc, 400, "MissingParameter", "MissingRequiredParameterException")
	status, h, doc = jsonPost(t, env.URL, "GetMetricData", `{"MetricDataQueries":[{"Id":"a","MetricStat":{"Metric":{"Namespace":"AWS/RDS","MetricName":"CPUUtilization"},"Period":60,"Stat":"Average"}}],"StartTime":`+itoa(from)+`,"EndTime":`+itoa(to)+`,"NextToken":"garbage"}`, true)
	wantJSONError(t, status, h, doc, 400, "InvalidNextToken", "InvalidNextToken")
	status, h, doc = jsonPost(t, env.URL, "GetMetricData", `{"MetricDataQueries":[`, true)
	wantJSONError(t, status, h, doc, 400, "SerializationException", "SerializationException")
	status, h, doc = jsonPost(t, env.URL, "GetMetricData", `{"StartTime":"2026-11-24T18:00:00Z"}`, true)
	wantJSONError(t, status, h, doc, 400, "SerializationException", "SerializationException")
	status, h, doc = jsonPost(t, env.URL, "PutMetricAlarm", `{}`, true)
	wantJSONError(t, status, h, doc, 400, "UnknownOperationException", "UnknownOperationException")

	// No Authorization: AWS's 403, in this protocol's shape.
	status, h, doc = jsonPost(t, env.URL, "ListMetrics", `{}`, false)
	wantJSONError(t, status, h, doc, 403, "MissingAuthenticationToken", "MissingAuthenticationTokenException")
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
