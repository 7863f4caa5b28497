// Package awspi is a small Performance Insights client: the one operation
// the exporter needs, GetResourceMetrics, over AWS JSON 1.1. The SDK's
// own module (github.com/aws/aws-sdk-go-v2/service/pi) cannot be fetched
// where this project is built, so the protocol is written here; it takes
// everything else from the caller's aws.Config as the generated clients
// do: credentials, region, base endpoint, HTTP client, retryer, and the
// API options (so the exporter's call counter sees every attempt).
package awspi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	// ServiceID is the SDK's service id (aurora_exporter_aws_calls_total's service label).
	ServiceID = "PI"
	// SigningName is the SigV4 service name.
	SigningName = "pi"
	// Target is the X-Amz-Target prefix of the 2018-02-27 API.
	Target = "PerformanceInsightsv20180227"
	// MaxQueries is GetResourceMetrics' limit of metric queries per call.
	MaxQueries = 15
)

// Client calls Performance Insights in one region.
type Client struct {
	cfg      aws.Config
	endpoint string
	signer   *v4.Signer
	now      func() time.Time
}

// New builds a client from an SDK configuration (its Region must be set).
// The endpoint is the configuration's BaseEndpoint when set (as every
// generated client honours it: AWS_ENDPOINT_URL), else AWS's regional one.
func New(cfg aws.Config) *Client {
	ep := "https://pi." + cfg.Region + ".amazonaws.com"
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		ep = strings.TrimRight(*cfg.BaseEndpoint, "/")
	}
	return &Client{cfg: cfg, endpoint: ep, signer: v4.NewSigner(), now: time.Now}
}

// MetricQuery names one metric, <counter>.<avg|min|max|sum>.
type MetricQuery struct {
	Metric string `json:"Metric"`
}

// GetResourceMetricsInput is the request; the exporter uses no GroupBy
// or Filter (per-instance totals only).
type GetResourceMetricsInput struct {
	ServiceType     string        `json:"ServiceType"`
	Identifier      string        `json:"Identifier"`
	MetricQueries   []MetricQuery `json:"MetricQueries"`
	StartTime       time.Time     `json:"-"`
	EndTime         time.Time     `json:"-"`
	PeriodInSeconds int32         `json:"PeriodInSeconds,omitempty"`
	MaxResults      int32         `json:"MaxResults,omitempty"`
	NextToken       string        `json:"NextToken,omitempty"`
}

// DataPoint is one period; Value is nil when the period has no data.
type DataPoint struct {
	Timestamp time.Time
	Value     *float64
}

// MetricKeyDataPoints is one metric's series.
type MetricKeyDataPoints struct {
	Metric     string
	DataPoints []DataPoint
}

type GetResourceMetricsOutput struct {
	Identifier       string
	AlignedStartTime time.Time
	AlignedEndTime   time.Time
	MetricList       []MetricKeyDataPoints
	NextToken        string
}

// Encode is the request body: JSON 1.1 timestamps are epoch seconds.
func (in *GetResourceMetricsInput) Encode() ([]byte, error) {
	type wire GetResourceMetricsInput
	return json.Marshal(struct {
		*wire
		StartTime json.Number `json:"StartTime"`
		EndTime   json.Number `json:"EndTime"`
	}{(*wire)(in), epoch(in.StartTime), epoch(in.EndTime)})
}

func epoch(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
}

func fromEpoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
}

// DecodeOutput parses a response body.
func DecodeOutput(body []byte) (*GetResourceMetricsOutput, error) {
	var raw struct {
		Identifier       string
		AlignedStartTime float64
		AlignedEndTime   float64
		NextToken        string
		MetricList       []struct {
			Key struct {
				Metric string
			}
			DataPoints []struct {
				Timestamp float64
				Value     *float64
			}
		}
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decoding GetResourceMetrics response: %w", err)
	}
	out := &GetResourceMetricsOutput{Identifier: raw.Identifier, NextToken: raw.NextToken,
		AlignedStartTime: fromEpoch(raw.AlignedStartTime), AlignedEndTime: fromEpoch(raw.AlignedEndTime)}
	for _, m := range raw.MetricList {
		mk := MetricKeyDataPoints{Metric: m.Key.Metric}
		for _, dp := range m.DataPoints {
			mk.DataPoints = append(mk.DataPoints, DataPoint{Timestamp: fromEpoch(dp.Timestamp), Value: dp.Value})
		}
		out.MetricList = append(out.MetricList, mk)
	}
	return out, nil
}

// decodeError turns an error response into a smithy.APIError, so callers
// and the SDK's retryer classify it by code as they do any SDK error
// (ThrottlingException is retried and counted as a throttle).
func decodeError(resp *http.Response, body []byte) error {
	var doc struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(body, &doc)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = doc.Type
	}
	// Codes may come as "prefix#Code" or "Code:http://...".
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.Message2
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: resp},
		Err:      &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault},
	}
}

// GetResourceMetrics calls the operation, retrying as the configuration's
// retryer decides (throttling and 5xx with the standard retryer).
func (c *Client) GetResourceMetrics(ctx context.Context, in *GetResourceMetricsInput) (*GetResourceMetricsOutput, error) {
	body, err := in.Encode()
	if err != nil {
		return nil, err
	}
	var retryer aws.Retryer = retry.NewStandard()
	if c.cfg.Retryer != nil {
		retryer = c.cfg.Retryer()
	}
	var out *GetResourceMetricsOutput
	for attempt := 1; ; attempt++ {
		out, err = c.attempt(ctx, body)
		if err == nil || !retryer.IsErrorRetryable(err) || (retryer.MaxAttempts() > 0 && attempt >= retryer.MaxAttempts()) {
			break
		}
		if _, terr := retryer.GetRetryToken(ctx, err); terr != nil {
			break // retry quota exhausted: report the call's own error
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
	}
	if err != nil {
		return nil, &smithy.OperationError{ServiceID: ServiceID, OperationName: "GetResourceMetrics", Err: err}
	}
	return out, nil
}

// attempt sends one request through a middleware stack carrying the
// configuration's API options, so middleware that counts attempts by
// service and operation (collector.CallCounter) sees this call like any
// SDK call.
func (c *Client) attempt(ctx context.Context, body []byte) (*GetResourceMetricsOutput, error) {
	stack := middleware.NewStack("GetResourceMetrics", smithyhttp.NewStackRequest)
	if err := stack.Initialize.Add(&awsmiddleware.RegisterServiceMetadata{
		ServiceID: ServiceID, SigningName: SigningName, Region: c.cfg.Region, OperationName: "GetResourceMetrics",
	}, middleware.Before); err != nil {
		return nil, err
	}
	for _, opt := range c.cfg.APIOptions {
		if err := opt(stack); err != nil {
			return nil, err
		}
	}
	var out *GetResourceMetricsOutput
	send := middleware.HandlerFunc(func(ctx context.Context, _ any) (any, middleware.Metadata, error) {
		var err error
		out, err = c.send(ctx, body)
		return nil, middleware.Metadata{}, err
	})
	if _, _, err := stack.HandleMiddleware(ctx, nil, send); err != nil {
		return nil, err
	}
	return out, nil
}

// send signs and posts one request and decodes the answer.
func (c *Client) send(ctx context.Context, body []byte) (*GetResourceMetricsOutput, error) {
	req, err := c.NewRequest(ctx, body)
	if err != nil {
		return nil, err
	}
	if err := c.Sign(ctx, req, body); err != nil {
		return nil, err
	}
	hc := c.cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeError(resp, rb)
	}
	return DecodeOutput(rb)
}

// NewRequest builds the unsigned HTTP request.
func (c *Client) NewRequest(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", Target+".GetResourceMetrics")
	return req, nil
}

// Sign adds a SigV4 signature for signing name pi with the
// configuration's credentials.
func (c *Client) Sign(ctx context.Context, req *http.Request, body []byte) error {
	if c.cfg.Credentials == nil {
		return errors.New("performance insights: no credentials in the AWS configuration")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("performance insights: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	return c.signer.SignHTTP(ctx, creds, req, hash, SigningName, c.cfg.Region, c.now())
}
