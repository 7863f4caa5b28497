package collector

import (
	"context"
	"errors"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// AWS call outcomes, as exported in aurora_exporter_aws_calls_total.
const (
	outcomeSuccess  = "success"
	outcomeThrottle = "throttle"
	outcomeError    = "error"
)

// throttleCodes are the codes AWS services use for rate limiting.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestLimitExceeded": true, "TooManyRequestsException": true, "PriorRequestNotComplete": true,
	"RequestThrottled": true, "RequestThrottledException": true, "SlowDown": true,
}

// callOutcome classifies an AWS SDK error.
func callOutcome(err error) string {
	if err == nil {
		return outcomeSuccess
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && throttleCodes[ae.ErrorCode()] {
		return outcomeThrottle
	}
	return outcomeError
}

// CallCounter instruments every AWS request attempt (retries included:
// each is a real call AWS counts against the rate limit).
type CallCounter struct {
	calls *prometheus.CounterVec
}

func NewCallCounter() *CallCounter {
	return &CallCounter{calls: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "aurora_exporter", Name: "aws_calls_total",
		Help: "AWS API request attempts by service, operation and outcome (success, throttle, error).",
	}, []string{"service", "operation", "outcome"})}
}

func (c *CallCounter) Describe(ch chan<- *prometheus.Desc) { c.calls.Describe(ch) }
func (c *CallCounter) Collect(ch chan<- prometheus.Metric) { c.calls.Collect(ch) }

// Middleware is an SDK APIOptions entry (config.WithAPIOptions) that counts
// each attempt once its response has been deserialized.
func (c *CallCounter) Middleware(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("AuroraExporterCallCounter",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			c.calls.WithLabelValues(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), callOutcome(err)).Inc()
			return out, md, err
		}), middleware.Before)
}
