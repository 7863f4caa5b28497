package scaler

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// grafanaAPI stands in for Grafana's POST /api/annotations (no Grafana
// binary is available here); it checks what the sdk client sends.
type grafanaAPI struct {
	mu     sync.Mutex
	got    []map[string]any
	status int
}

func (g *grafanaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/annotations" || r.Header.Get("Authorization") != "Bearer glsa_test" {
		http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	g.mu.Lock()
	g.got = append(g.got, body)
	status := g.status
	g.mu.Unlock()
	if status != 0 {
		http.Error(w, `{"message":"boom"}`, status)
		return
	}
	_, _ = w.Write([]byte(`{"message":"Annotation added","id":1}`))
}

func (g *grafanaAPI) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.got)
}

func TestDecisionsAreAnnotatedInGrafana(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	api := &grafanaAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	annot, err := NewAnnotator(srv.URL, "glsa_test", discardLog(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go annot.Run(ctx)
	h := newHarness(t, env, func(o *Options) { o.Annotator = annot })
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); api.count() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d annotations, want %d", api.count(), n)
			}
		}
	}
	h.deliver(t, addReadersAlert(env, "1"))
	waitFor(1)
	api.mu.Lock()
	first := api.got[0]
	api.mu.Unlock()
	text, _ := first["text"].(string)
	tags, _ := first["tags"].([]any)
	if !strings.Contains(text, "add_readers cluster/events-db: act") || len(tags) != 4 || tags[1] != "action:add_readers" || first["time"] == nil {
		t.Fatalf("annotation: %v", first)
	}
	// A replay is a noop: not annotated.
	h.deliver(t, addReadersAlert(env, "1"))
	time.Sleep(100 * time.Millisecond)
	if api.count() != 1 {
		t.Fatalf("noop annotated: %d", api.count())
	}
	// Grafana failing costs an annotation, never the decision.
	api.mu.Lock()
	api.status = http.StatusInternalServerError
	api.mu.Unlock()
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"ann0000000000001", env.World.Clock().Now()))
	waitFor(2)
	if d := h.lastDecision(t); d.Result != "success" {
		t.Fatalf("decision with Grafana down: %+v", d)
	}
	for deadline := time.Now().Add(2 * time.Second); metricValue(annot.results.WithLabelValues("error")) != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("annotation error not counted")
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
