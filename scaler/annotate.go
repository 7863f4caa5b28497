package scaler

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/grafana-tools/sdk"
	"github.com/prometheus/client_golang/prometheus"
)

// Annotator marks decisions on the Grafana dashboards' timelines, so a
// graph of reader CPU shows where the scaler added a reader (or refused).
type Annotator struct {
	client  *sdk.Client
	log     *slog.Logger
	results *prometheus.CounterVec
	queue   chan Decision
}

// NewAnnotator posts to Grafana at url with an API key (or user:password).
// Annotations go out from a small queue: a slow Grafana never slows a
// decision, and when the queue is full an annotation is dropped and
// counted rather than blocking.
func NewAnnotator(url, key string, log *slog.Logger, reg prometheus.Registerer) (*Annotator, error) {
	c, err := sdk.NewClient(url, key, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("grafana client: %w", err)
	}
	a := &Annotator{client: c, log: log, queue: make(chan Decision, 256),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aurora_scaler_grafana_annotations_total",
			Help: "Grafana annotations of decisions by outcome (success, error, dropped)."}, []string{"outcome"})}
	if reg != nil {
		if err := reg.Register(a.results); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Run posts queued annotations until ctx ends.
func (a *Annotator) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-a.queue:
			a.post(ctx, d)
		}
	}
}

// Add queues a decision; repeats (noop) are not annotated.
func (a *Annotator) Add(d Decision) {
	if d.Outcome == OutcomeNoop {
		return
	}
	select {
	case a.queue <- d:
	default:
		a.results.WithLabelValues("dropped").Inc()
	}
}

func (a *Annotator) post(ctx context.Context, d Decision) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	text := fmt.Sprintf("aurora_scaler %s %s: %s (%s)", d.Action, d.Target, d.Outcome, d.Reason)
	if d.Result != "" {
		text += " -> " + d.Result
		if d.Error != "" {
			text += ": " + d.Error
		}
	}
	resp, err := a.client.CreateAnnotation(ctx, sdk.CreateAnnotationRequest{
		Time: d.At.UnixMilli(), Text: text,
		Tags: []string{"aurora-surge", "action:" + d.Action, "outcome:" + d.Outcome, "target:" + d.Target},
	})
	// The sdk does not look at the HTTP status: an annotation Grafana
	// created has an id, an error answer only a message.
	if err == nil && resp.ID == nil {
		msg := "no annotation id in Grafana's answer"
		if resp.Message != nil {
			msg = *resp.Message
		}
		err = fmt.Errorf("grafana: %s", msg)
	}
	if err != nil {
		a.results.WithLabelValues("error").Inc()
		a.log.Warn("grafana annotation failed", "decision", d.ID, "err", err)
		return
	}
	a.results.WithLabelValues("success").Inc()
}
