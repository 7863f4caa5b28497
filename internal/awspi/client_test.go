package awspi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

func TestEncodeRequest(t *testing.T) {
	in := &GetResourceMetricsInput{
		ServiceType: "RDS", Identifier: "db-ABC", PeriodInSeconds: 1,
		MetricQueries: []MetricQuery{{Metric: "db.load.avg"}, {Metric: "os.cpuUtilization.total.avg"}},
		StartTime:     time.Date(2026, 11, 24, 18, 0, 0, 500e6, time.UTC), EndTime: time.Date(2026, 11, 24, 18, 1, 0, 0, time.UTC),
	}
	b, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ServiceType": "RDS", "Identifier": "db-ABC", "PeriodInSeconds": 1.0,
		"StartTime": float64(in.StartTime.Unix()) + 0.5, "EndTime": float64(in.EndTime.Unix()),
		"MetricQueries": []any{map[string]any{"Metric": "db.load.avg"}, map[string]any{"Metric": "os.cpuUtilization.total.avg"}}}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("body\n got %s\nwant %s", gb, wb)
	}
}

func TestDecodeOutput(t *testing.T) {
	out, err := DecodeOutput([]byte(`{"AlignedStartTime":1795024800,"AlignedEndTime":1795024860,"Identifier":"db-ABC",
		"MetricList":[{"Key":{"Metric":"db.load.avg"},"DataPoints":[{"Timestamp":1795024801,"Value":1.5},{"Timestamp":1795024802}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	dps := out.MetricList[0].DataPoints
	if out.MetricList[0].Metric != "db.load.avg" || len(dps) != 2 || *dps[0].Value != 1.5 || dps[1].Value != nil ||
		!dps[0].Timestamp.Equal(time.Unix(1795024801, 0)) {
		t.Fatalf("decoded %+v", out)
	}
	if _, err := DecodeOutput([]byte(`{"MetricList": 3}`)); err == nil {
		t.Fatal("a malformed body decoded without error")
	}
}

func testConfig(url string, attempts int) aws.Config {
	return aws.Config{
		Region: "eu-west-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(retry.NewStandard(), attempts), time.Millisecond)
		},
	}
}

// TestSignedCallRetriedOnThrottling checks the wire: one signed POST per
// attempt with the JSON 1.1 headers and signing name pi, a throttle
// retried by the configuration's retryer, and every attempt seen by the
// configuration's API options with the service and operation names.
func TestSignedCallRetriedOnThrottling(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "PerformanceInsightsv20180227.GetResourceMetrics" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			!strings.Contains(auth, "Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/pi/aws4_request") ||
			!strings.Contains(string(b), `"Identifier":"db-ABC"`) {
			t.Errorf("request: %s %v %s", r.Method, r.Header, b)
		}
		if n.Add(1) == 1 {
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		_, _ = io.WriteString(w, `{"Identifier":"db-ABC","MetricList":[{"Key":{"Metric":"db.load.avg"},"DataPoints":[{"Timestamp":1795024801,"Value":2}]}]}`)
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL, 3)
	var seen []string
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("count", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			seen = append(seen, awsmiddleware.GetServiceID(ctx)+"/"+awsmiddleware.GetOperationName(ctx)+"/"+errCode(err))
			return out, md, err
		}), middleware.Before)
	})
	out, err := New(cfg).GetResourceMetrics(context.Background(), &GetResourceMetricsInput{ServiceType: "RDS", Identifier: "db-ABC",
		MetricQueries: []MetricQuery{{Metric: "db.load.avg"}}, StartTime: time.Unix(1795024800, 0), EndTime: time.Unix(1795024860, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.MetricList[0].DataPoints[0].Value != 2 {
		t.Fatalf("output %+v", out)
	}
	if strings.Join(seen, " ") != "PI/GetResourceMetrics/ThrottlingException PI/GetResourceMetrics/" {
		t.Fatalf("attempts seen by the API options: %q", seen)
	}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestNotAuthorizedIsNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-Amzn-ErrorType", "NotAuthorizedException:http://internal.amazon.com/coral/")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"NotAuthorizedException","message":"not enabled"}`)
	}))
	defer srv.Close()
	_, err := New(testConfig(srv.URL, 3)).GetResourceMetrics(context.Background(), &GetResourceMetricsInput{ServiceType: "RDS", Identifier: "db-X",
		MetricQueries: []MetricQuery{{Metric: "db.load.avg"}}, StartTime: time.Unix(1, 0), EndTime: time.Unix(2, 0)})
	if errCode(err) != "NotAuthorizedException" || n.Load() != 1 {
		t.Fatalf("err %v (code %q) after %d attempts", err, errCode(err), n.Load())
	}
}
