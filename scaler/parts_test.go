package scaler

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

func partsConfig(t *testing.T, extra string) *Config {
	t.Helper()
	cfg, err := ParseConfig("parts.yml", []byte(e2eConfig+extra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestNewWiresEveryPartFromTheConfig: one constructor gives a scaler that
// acts on AWS through its handler, starts remove_readers as a procedure
// (not as the adapter's single call) and serves the events and writer
// APIs behind the token.
func TestNewWiresEveryPartFromTheConfig(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	ctx := context.Background()
	cfg := partsConfig(t, "dns_server: "+env.StartDNS(t)+"\n")
	reg := prometheus.NewRegistry()
	prom := newFakeProm(t, "30")
	p, err := New(ctx, cfg, PartsOptions{AWS: env.Config(t, "us-east-1"), Retry: RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond},
		Clock: env.World.Clock(), Registerer: reg, BearerToken: testToken, EventsFile: filepath.Join(t.TempDir(), "events.json"),
		DataAge: Prometheus{URL: prom.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AWS.VerifyAccounts(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	h := &harness{env: env, s: p.Scaler, srv: httptestServer(t, p.Handler())}

	before := h.asg(t, "events-web").Desired
	// Demand for two more instances at the 1,000 req/min target.
	prom.set("events-web", SigInService, float64(before))
	prom.set("events-web", SigRequestsPerInstance, 1000*float64(before+2)/float64(before))
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraAsgRequestsStep2", "action": "scale_asg", "step": "2", "asg": "events-web"},
		"fa11ed0000000001", env.World.Clock().Now().Add(-time.Minute)))
	if got := h.asg(t, "events-web").Desired; got != before+2 {
		t.Fatalf("events-web desired %d after a step-2 scale_asg, want %d; decision %+v", got, before+2, h.lastDecision(t))
	}

	// remove_readers goes to the procedures runner: this cluster names no
	// drain, which only the runner checks.
	err = p.Scaler.cloud.Execute(ctx, Decision{ID: "d1", Action: ActionRemoveReaders, Target: "cluster/events-db",
		Account: "123456789012", Region: "us-east-1", From: 2, To: 1})
	if err == nil || !strings.Contains(err.Error(), "neither read_record nor drain_custom_endpoint") {
		t.Fatalf("remove_readers through the wired scaler: %v, want the procedures runner's refusal (no drain configured)", err)
	}

	if code, out := h.post(t, "/api/v1/writer", []byte(`{"cluster":"events-db","class":"db.r6g.2xlarge"}`), ""); code != http.StatusUnauthorized {
		t.Errorf("writer resize without the token: %d %v, want 401", code, out)
	}
	if code, out := h.post(t, "/api/v1/writer", []byte(`{"cluster":"events-db","class":"db.r6g.2xlarge"}`), testToken); code != http.StatusUnprocessableEntity ||
		!strings.Contains(out["error"].(string), "writer_classes") {
		t.Errorf("writer resize to a class not in writer_classes: %d %v, want 422 naming writer_classes", code, out)
	}
	resp, err := http.Get(h.srv.URL + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/events: %d", resp.StatusCode)
	}

	// The parts' metrics are on the one registry.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"aurora_scaler_webhooks_total", "aurora_scaler_actions_total", "aurora_scaler_paused"} {
		if !names[want] {
			t.Errorf("%s not registered; have %v", want, names)
		}
	}
	// Registering the same parts twice on one registry is refused, so
	// the procedures' and events' collectors are there too.
	if _, err := New(ctx, cfg, PartsOptions{AWS: env.Config(t, "us-east-1"), Registerer: reg, EventsFile: filepath.Join(t.TempDir(), "e.json")}); err == nil {
		t.Error("a second New on the same registry registered its metrics again")
	}
}

func write(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNewRefusesWhatItCannotWire(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		cfg   *Config
		o     PartsOptions
		wants string
	}{
		{"no events file", partsConfig(t, "dns_server: 127.0.0.1:53\n"), PartsOptions{}, "no events file"},
		{"events file not JSON", partsConfig(t, "dns_server: 127.0.0.1:53\n"),
			PartsOptions{EventsFile: write(t, "events.json", "not json")}, "events: events file"},
		{"grafana key unreadable", partsConfig(t, "dns_server: 127.0.0.1:53\ngrafana: {url: \"http://grafana:3000\", api_key_file: /nonexistent/key}\n"),
			PartsOptions{EventsFile: filepath.Join(t.TempDir(), "events.json")}, "grafana api key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(ctx, tc.cfg, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wants)
			}
		})
	}
}

// The adapter alone refuses remove_readers: only the procedures runner
// (wired by New) removes readers, and always by draining first.
func TestAdapterAloneDoesNotRemoveReaders(t *testing.T) {
	err := NewAWS(aws.Config{}, RetryPolicy{MaxAttempts: 1}).Execute(context.Background(), Decision{Action: ActionRemoveReaders, Target: "cluster/x"})
	if !errors.Is(err, ErrNotImplemented) {
		t.Fatalf("got %v, want ErrNotImplemented", err)
	}
}
