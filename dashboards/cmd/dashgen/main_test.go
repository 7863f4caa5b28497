package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// grafana stands in for Grafana's HTTP API (no Grafana binary here): it
// checks each request as Grafana would receive it and records the boards.
type grafana struct {
	t      *testing.T
	mu     sync.Mutex
	boards map[string]map[string]any
	answer func(w http.ResponseWriter)
}

func (g *grafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/dashboards/db" {
		g.t.Errorf("request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer glsa_test" {
		g.t.Errorf("Authorization %q", got)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		g.t.Errorf("Content-Type %q", ct)
	}
	b, _ := io.ReadAll(r.Body)
	var req struct {
		Dashboard map[string]any `json:"dashboard"`
		Overwrite bool
	}
	if err := json.Unmarshal(b, &req); err != nil || !req.Overwrite || req.Dashboard["uid"] == nil {
		g.t.Errorf("body %s: %v", b, err)
	}
	if g.answer != nil {
		g.answer(w)
		return
	}
	g.mu.Lock()
	g.boards[req.Dashboard["uid"].(string)] = req.Dashboard
	g.mu.Unlock()
	_, _ = io.WriteString(w, `{"id":1,"uid":"x","url":"/d/x","status":"success","version":1,"slug":"x"}`)
}

func TestPushToGrafana(t *testing.T) {
	g := &grafana{t: t, boards: map[string]map[string]any{}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	tok := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tok, []byte("glsa_test\n"), 0o600)

	var out, errb bytes.Buffer
	if code := run([]string{"-push", srv.URL + "/", "-token-file", tok, "-datasource-uid", "prom-eu"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if len(g.boards) != 2 || g.boards["aurora-surge-fleet"] == nil || g.boards["aurora-surge-health"] == nil {
		t.Fatalf("boards pushed: %v", g.boards)
	}
	// The datasource variable defaults to the uid asked for; nothing is
	// left for an importer to resolve.
	b, _ := json.Marshal(g.boards["aurora-surge-fleet"])
	if !strings.Contains(string(b), `"value":"prom-eu"`) || strings.Contains(string(b), "DS_PROMETHEUS") || strings.Contains(string(b), "__inputs") {
		t.Errorf("pushed fleet board: %.400s", b)
	}
	if !strings.Contains(out.String(), "pushed 2 dashboards") {
		t.Errorf("output %q", out.String())
	}
}

func TestPushErrorsAreClear(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tok, []byte("glsa_test"), 0o600)
	for name, c := range map[string]struct {
		answer func(w http.ResponseWriter)
		want   string
	}{
		"forbidden": {func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"Access denied"}`)
		}, "Access denied"},
		// grafana-tools/sdk dereferences the message of a non-200 answer.
		"no message": {func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{}`)
		}, "unexpected answer"},
		"not JSON": {func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `<html>bad gateway</html>`)
		}, "dashboard aurora-surge-"},
	} {
		g := &grafana{t: t, boards: map[string]map[string]any{}, answer: c.answer}
		srv := httptest.NewServer(g)
		var out, errb bytes.Buffer
		code := run([]string{"-push", srv.URL, "-token-file", tok}, &out, &errb)
		srv.Close()
		if code != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-push", "http://127.0.0.1:1"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "-token-file") {
		t.Errorf("push without a token: %d %q", code, errb.String())
	}
	empty := filepath.Join(t.TempDir(), "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	if code := run([]string{"-push", "http://127.0.0.1:1", "-token-file", empty}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "non-empty") {
		t.Errorf("empty token: %d %q", code, errb.String())
	}
	if code := run(nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nothing to do") {
		t.Errorf("no flags: %d %q", code, errb.String())
	}
}

func TestWritesBothVariants(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"-out", filepath.Join(dir, "p"), "-export", filepath.Join(dir, "e")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"p/aurora-surge-fleet.json", "p/aurora-surge-health.json", "e/aurora-surge-fleet.json", "e/aurora-surge-health.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f, "e/") != strings.Contains(string(b), `"__inputs"`) {
			t.Errorf("%s: __inputs where not expected or missing", f)
		}
	}
}
