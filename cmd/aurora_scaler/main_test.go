package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	tok := filepath.Join(dir, "token")
	_ = os.WriteFile(tok, []byte("abc\n"), 0o600)
	_ = os.WriteFile(good, []byte("clusters:\n  - {name: events-db, account: \"123456789012\", region: us-east-1, acu_ceiling: 64}\nbearer_token_file: "+tok+"\n"), 0o600)
	_ = os.WriteFile(bad, []byte("clusters:\n  - name: events-db\n    max_readers: 20\n"), 0o600)
	for _, tc := range []struct {
		file string
		code int
		out  string
	}{
		{good, 0, "OK (1 clusters, 0 asgs)"},
		{bad, 1, "bad.yml:2:5: account"},
		{filepath.Join(dir, "missing.yml"), 1, "no such file"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--config.file=" + tc.file, "--config.check"}, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("%s: exit %d, output %q %q; want %d containing %q", tc.file, code, stdout.String(), stderr.String(), tc.code, tc.out)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &stderr, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCommandAgainstEmulator runs the command as wired for production
// (default SDK chain pointed at the emulator by AWS_ENDPOINT_URL) and
// drives it through HTTP only.
func TestCommandAgainstEmulator(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	env.SetAWSEnv(t)
	dir := t.TempDir()
	prom := demandPrometheus(t)
	cfg := filepath.Join(dir, "scaler.yml")
	_ = os.WriteFile(cfg, []byte("asgs:\n  - {name: events-web, account: \"123456789012\", region: us-east-1}\nprometheus_url: "+prom.URL+"\n"), 0o600)
	addr := freeAddr(t)
	go func() {
		var out bytes.Buffer
		run([]string{"--config.file=" + cfg, "--web.listen-address=" + addr, "--log.level=error"}, &out, &out)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("aurora_scaler did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{asg=\"events-web\"}","truncatedAlerts":0,"status":"firing","receiver":"scaler",
"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093",
"alerts":[{"status":"firing","labels":{"alertname":"AuroraAsgRequestsStep2","action":"scale_asg","asg":"events-web","step":"2","region":"us-east-1"},
"annotations":{},"startsAt":"%s","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"0f0f0f0f0f0f0f0f"}]}`,
		env.World.Clock().Now().Format(time.RFC3339))
	resp, err := http.Post(base+"/webhook", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	for {
		desired := 0
		for _, a := range env.World.Truth().Accounts {
			for _, r := range a.Regions {
				for _, g := range r.ASGs {
					if g.Name == "events-web" {
						desired = g.Desired
					}
				}
			}
		}
		if desired == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events-web desired %d, want 6", desired)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`aurora_scaler_actions_total{action="scale_asg",outcome="success"} 1`, `aurora_scaler_webhooks_total{outcome="accepted"} 1`,
		"aurora_scaler_paused 0", "aurora_scaler_build_info"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestCommandWaitsForAWS starts the scaler before anything answers at its
// endpoint (as in the compose stack when the emulator is slower to start):
// it must keep retrying and come up once the endpoint answers, not exit.
func TestCommandWaitsForAWS(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	env.SetAWSEnv(t)
	endpoint := freeAddr(t) // nothing listens here yet
	t.Setenv("AWS_ENDPOINT_URL", "http://"+endpoint)
	dir := t.TempDir()
	prom := demandPrometheus(t)
	cfg := filepath.Join(dir, "scaler.yml")
	_ = os.WriteFile(cfg, []byte("asgs:\n  - {name: events-web, account: \"123456789012\", region: us-east-1}\nprometheus_url: "+prom.URL+"\n"), 0o600)
	addr := freeAddr(t)
	exited := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		exited <- run([]string{"--config.file=" + cfg, "--web.listen-address=" + addr, "--aws.max-attempts=1",
			"--events.file=" + filepath.Join(dir, "events.json"), "--log.level=warn"}, &out, &out)
	}()
	// Two seconds of connection refused: the first attempts fail.
	select {
	case code := <-exited:
		t.Fatalf("aurora_scaler exited (%d) while the endpoint was down: %s", code, out.String())
	case <-time.After(2500 * time.Millisecond):
	}
	l, err := net.Listen("tcp", endpoint)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(env.URL)
	proxy := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: time.Second}
	go func() { _ = proxy.Serve(l) }()
	t.Cleanup(func() { _ = proxy.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-exited:
			t.Fatalf("aurora_scaler exited (%d): %s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("aurora_scaler did not come up once the endpoint answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An answer that refuses is not waited on: the wait ends at once with it.
func TestWaitForAWSStopsOnAnswer(t *testing.T) {
	calls := 0
	refused := errors.New("targets in account 1, but the credentials belong to account 2")
	err := waitForAWS(context.Background(), slog.New(slog.DiscardHandler), time.Minute, time.Millisecond, func(context.Context) error {
		calls++
		if calls < 3 {
			return &smithyhttp.RequestSendError{Err: errors.New("connection refused")}
		}
		return refused
	})
	if !errors.Is(err, refused) || calls != 3 {
		t.Fatalf("err %v after %d calls, want the refusal after 3", err, calls)
	}
	err = waitForAWS(context.Background(), slog.New(slog.DiscardHandler), 20*time.Millisecond, time.Millisecond, func(context.Context) error {
		return &smithyhttp.RequestSendError{Err: errors.New("connection refused")}
	})
	if err == nil || !strings.Contains(err.Error(), "not reachable within") {
		t.Fatalf("err %v, want a timeout", err)
	}
}

// demandPrometheus answers /api/v1/query as Prometheus would for the
// demand the scaler reads: 4 instances at 1,500 requests per minute each,
// which need 6 at the 1,000 target.
func demandPrometheus(t *testing.T) *httptest.Server {
	t.Helper()
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, v := r.FormValue("query"), ""
		switch {
		case strings.Contains(q, "in_service"):
			v = "4"
		case strings.HasPrefix(q, "asg:aurora_asg_requests_per_instance_per_minute:sum"):
			v = "1500"
		}
		if v == "" {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764007200,%q]}]}}`, v)
	}))
	t.Cleanup(prom.Close)
	return prom
}
