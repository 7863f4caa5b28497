package alerting

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/internal/proctest"
)

// receivedPost is one webhook POST that reached the test's server.
type receivedPost struct {
	at   time.Time
	url  string
	body []byte
}

// requireTools: without the binary the test skips, loudly, unless the
// suite demands the tools.
func requireTools(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("AURORA_REQUIRE_TOOLS") == "1" {
		t.Fatalf("AURORA_REQUIRE_TOOLS=1 but %s", why)
	}
	t.Logf("SKIPPING the comparison with the real Alertmanager: %s", why)
	t.Skip(why)
}

// scaledConfig is the shipped alertmanager.yml with its timings scaled
// down (every original must be present exactly once, so a change to the
// shipped file breaks this test rather than silently testing less), the
// scaler's webhook pointed at the test server and, since notify ships as
// a null receiver, a webhook to the test server added to notify so that
// both receivers' notifications (continue, the root route) are compared.
func scaledConfig(t *testing.T, hooks, tokenFile string) string {
	t.Helper()
	b, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	cfg := withNotifyWebhook(t, string(b), hooks+"/notify")
	// The root route's ticks land on x.5 s (posts are on whole seconds);
	// the scaler route's (group_wait 0s) follow the POST that made the
	// group, so the timeline changes no alert's state on a whole second
	// where one of them ticks. No repeat_interval is a multiple of its
	// group_interval. No comparison rests on a race of equal instants.
	for _, r := range [][2]string{
		{"group_wait: 30s", "group_wait: 2500ms"},
		{"group_interval: 5m", "group_interval: 4s"},
		{"repeat_interval: 4h", "repeat_interval: 11s"},
		{"group_wait: 0s", "group_wait: 0s"},
		{"group_interval: 30s", "group_interval: 2s"},
		{"repeat_interval: 1m", "repeat_interval: 5s"},
		{"http://aurora_scaler:9854/webhook", hooks + "/scaler"},
		{"/run/aurora-surge/scaler-token", tokenFile},
	} {
		if n := strings.Count(cfg, r[0]); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want 1", shipped, r[0], n)
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	return cfg
}

// The same alert timeline goes to the real Alertmanager 0.25 (POSTs at
// real time) and to the model (Puts at the same instants); both must make
// the same notifications, byte for byte, at times within one (scaled)
// evaluation interval. The timeline covers group_wait, group_interval,
// repeat_interval, send_resolved, inhibition and its end, continue, an
// alert joining a flushed group and alerts resolving.
func TestMatchesRealAlertmanager(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a 24 s timeline in real time")
	}
	amBin := os.Getenv("ALERTMANAGER_BIN")
	if amBin == "" {
		requireTools(t, "ALERTMANAGER_BIN is unset (make tools installs Debian's Alertmanager 0.25; make test sets it)")
	}
	if _, err := os.Stat(amBin); err != nil {
		requireTools(t, err.Error())
	}
	if _, err := os.Stat("/usr/share/prometheus/alertmanager/default.tmpl"); err != nil {
		requireTools(t, "Debian's Alertmanager needs its templates in /usr/share/prometheus/alertmanager (make tools installs them as root)")
	}

	var (
		mu   sync.Mutex
		real []receivedPost
	)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		real = append(real, receivedPost{at: at, url: r.URL.Path, body: b})
		mu.Unlock()
	}))
	defer hooks.Close()

	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(scaledConfig(t, hooks.URL, token)), 0o600); err != nil {
		t.Fatal(err)
	}
	const externalURL = "http://alertmanager.test:9093"
	m, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	m.SetExternalURL(externalURL)

	amAddr := proctest.FreeAddr(t)
	started := time.Now().UTC()
	m.Advance(started) // the model's housekeeping ticks from the process start
	proctest.Start(t, nil, amBin, "--config.file", cfgPath, "--storage.path", filepath.Join(dir, "data"),
		"--web.listen-address", amAddr, "--cluster.listen-address=", "--web.external-url", externalURL)
	proctest.WaitOK(t, "http://"+amAddr+"/-/ready", 20*time.Second)

	// The timeline, in seconds from t0, evaluated every second with
	// Prometheus's EndsAt of four intervals ahead.
	step := func(id, alertname, severity, dbCluster string) map[string]string {
		return scaling(id, alertname, severity, dbCluster)
	}
	people := map[string]string{"id": "p1", "alertname": "AuroraExporterDataStale", "severity": "warning", "source": "rds"}
	const end = 24.0
	timeline := [][]post{
		// s2 resolves at 9.5, off the whole seconds on which the scaler
		// route's groups tick (group_wait 0s: a group's ticks follow the
		// POST that made it), so no comparison rests on a race of equal
		// instants.
		series(step("s2", "AuroraReaderCPUStep2", "critical", "c1"), 0, 9.5, 1, 3),
		// s1 starts a second after s2, which inhibits it: with the scaler
		// route's group_wait 0s a same-POST start races Alertmanager's
		// inhibitor (README.md, where the model departs).
		series(step("s1", "AuroraReaderCPUStep1", "warning", "c1"), 1, -1, 1, 0),
		series(step("t1", "AuroraReaderCPUAboveTarget", "warning", "c1"), 1, -1, 1, 0),
		series(step("o1", "AuroraReaderCPUStep1", "warning", "c2"), 2, 13, 1, 3),
		series(step("j1", "AuroraReaderCPUStep1", "warning", "c2"), 5, -1, 1, 0),
		series(people, 3, -1, 1, 0),
	}
	byTime := map[float64][]Alert{}
	for _, ps := range timeline {
		for _, p := range ps {
			if p.at < end {
				byTime[p.at] = append(byTime[p.at], p.alerts...)
			}
		}
	}
	t0 := time.Now().UTC().Truncate(time.Millisecond).Add(500 * time.Millisecond)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var model []Notification
	for _, s := range slices.Sorted(maps.Keys(byTime)) {
		// Absolute times: the series were built against the package's t0.
		alerts := shift(byTime[s], t0.Sub(sec(0)))
		time.Sleep(time.Until(at(s)))
		postAlerts(t, "http://"+amAddr+"/api/v2/alerts", alerts)
		model = append(model, m.Advance(at(s))...)
		if err := m.Put(at(s), alerts); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Until(at(end)))
	model = append(model, m.Advance(at(end))...)

	mu.Lock()
	defer mu.Unlock()
	compareRuns(t, model, real, hooks.URL, t0)
	// Both receivers take part: the scaler's route and, by continue and
	// the root route, notify's added webhook.
	for _, path := range []string{"/scaler", "/notify"} {
		if !slices.ContainsFunc(model, func(n Notification) bool { return n.URL == hooks.URL+path }) {
			t.Errorf("no model notification to %s", path)
		}
	}
}

// compareRuns pairs each model notification with a real one to the same
// URL with the same body, at most one evaluation interval (1 s) apart.
func compareRuns(t *testing.T, model []Notification, real []receivedPost, base string, t0 time.Time) {
	t.Helper()
	const tolerance = time.Second
	if len(model) < 10 {
		t.Fatalf("the model made only %d notifications; the timeline should make more", len(model))
	}
	used := make([]bool, len(real))
	var worst time.Duration
	for _, n := range model {
		found := -1
		for i, r := range real {
			d := r.at.Sub(n.At).Abs()
			if !used[i] && base+r.url == n.URL && bytes.Equal(r.body, n.Body) && d <= tolerance {
				found = i
				worst = max(worst, d)
				break
			}
		}
		if found < 0 {
			t.Errorf("model notification at %s to %s has no real twin:\n%s", n.At.Sub(t0), n.URL, n.Body)
			continue
		}
		used[found] = true
	}
	for i, r := range real {
		if !used[i] {
			t.Errorf("real notification at %s to %s has no model twin:\n%s", r.at.Sub(t0), r.url, r.body)
		}
	}
	t.Logf("%d notifications, %d from Alertmanager; largest time difference %s", len(model), len(real), worst)
	if t.Failed() {
		for _, n := range model {
			t.Logf("model %8s %s %s", n.At.Sub(t0).Round(time.Millisecond), n.URL, n.Body)
		}
		for _, r := range real {
			t.Logf("real  %8s %s %s", r.at.Sub(t0).Round(time.Millisecond), r.url, r.body)
		}
	}
}

func shift(in []Alert, d time.Duration) []Alert {
	out := make([]Alert, len(in))
	for i, a := range in {
		a.StartsAt, a.EndsAt = a.StartsAt.Add(d), a.EndsAt.Add(d)
		out[i] = a
	}
	return out
}

// postAlerts is Prometheus's notifier: POST /api/v2/alerts.
func postAlerts(t *testing.T, url string, alerts []Alert) {
	t.Helper()
	type postable struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations,omitempty"`
		StartsAt     time.Time         `json:"startsAt,omitempty"`
		EndsAt       time.Time         `json:"endsAt,omitempty"`
		GeneratorURL string            `json:"generatorURL,omitempty"`
	}
	var ps []postable
	for _, a := range alerts {
		ps = append(ps, postable(a))
	}
	b, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatal(fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg))
	}
}
