// Package simtest starts the emulator for tests: a world on a virtual
// clock behind a real HTTP listener on loopback, and aws-sdk-go-v2
// configurations pointed at it. Tests talk to it only through the real
// SDK (or a real DNS client), never by calling handlers directly.
package simtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aurora-surge/aurora-surge/internal/awshttp"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/dnsserver"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// Env is a running emulator.
type Env struct {
	World  *sim.World
	Clock  *sim.VirtualClock
	Server *wire.Server
	HTTP   *httptest.Server
	URL    string
}

// Start loads an embedded scenario (or a path) and serves it on a
// virtual clock starting at the scenario's start, with the given services
// registered (each service package's Register; awsapi.Services for all).
func Start(t testing.TB, scenario string, services ...func(*wire.Server)) *Env {
	t.Helper()
	sc, err := sim.LoadScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	return StartScenario(t, sc, services...)
}

// StartScenario serves an already parsed (possibly modified) scenario.
func StartScenario(t testing.TB, sc *sim.Scenario, services ...func(*wire.Server)) *Env {
	t.Helper()
	start := sc.Start
	if start.IsZero() {
		start = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	}
	clock := sim.NewVirtualClock(start)
	w, err := sim.New(sc, clock)
	if err != nil {
		t.Fatal(err)
	}
	s := wire.NewServer(w, nil)
	for _, register := range services {
		register(s)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &Env{World: w, Clock: clock, Server: s, HTTP: hs, URL: hs.URL}
}

// Advance moves the virtual clock and integrates the model.
func (e *Env) Advance(t testing.TB, d time.Duration) {
	t.Helper()
	if err := e.World.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// Config is an SDK configuration for region with static credentials of
// the default account, pointed at the emulator. Retries are off so tests
// see each AWS error exactly as the server sent it.
func (e *Env) Config(t testing.TB, region string) aws.Config {
	return e.ConfigWithKey(t, region, "AKIAIOSFODNN7EXAMPLE", "secret")
}

// ConfigWithKey is Config with chosen credentials (another account).
func (e *Env) ConfigWithKey(t testing.TB, region, key, secret string) aws.Config {
	t.Helper()
	cfg, err := awshttp.StaticConfig(context.Background(), e.URL, region, key, secret, 1)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// StartDNS serves the world's DNS on a free loopback port for the test's
// lifetime and returns its address.
func (e *Env) StartDNS(t testing.TB) string {
	t.Helper()
	s, err := dnsserver.Start(e.World, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.Addr()
}

// SetAWSEnv points the SDK's default chain at the emulator for the test
// (standard AWS_* variables; no shared config or credentials files), as a
// command started in production would find its AWS.
func (e *Env) SetAWSEnv(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", e.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// Bodies records the raw response bodies a configuration's client
// receives, for tests of what is on the wire (timestamp precision, error
// documents) that an SDK would parse away.
type Bodies struct {
	mu     sync.Mutex
	bodies []string
}

// CaptureBodies wraps cfg's HTTP client so every response body is also
// kept in the returned Bodies.
func CaptureBodies(cfg *aws.Config) *Bodies {
	b := &Bodies{}
	cfg.HTTPClient = capturingClient{inner: cfg.HTTPClient, into: b}
	return b
}

// All returns the bodies received so far, oldest first.
func (b *Bodies) All() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

type capturingClient struct {
	inner aws.HTTPClient
	into  *Bodies
}

func (c capturingClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.inner.Do(r)
	if err != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	c.into.mu.Lock()
	c.into.bodies = append(c.into.bodies, string(body))
	c.into.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
