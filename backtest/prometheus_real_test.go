package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aurora-surge/aurora-surge/internal/proctest"
)

// script is a short, scripted exporter: the reader signals the shipped
// rules read, as functions of the seconds since the start. Both the real
// Prometheus and the backtest's read the same script.
type script struct {
	mu                  sync.Mutex
	reg                 *prometheus.Registry
	cpu, conns, latency *prometheus.GaugeVec
	info, up            *prometheus.GaugeVec
}

func newScript() *script {
	s := &script{reg: prometheus.NewRegistry()}
	labels := []string{"account", "region", "db_cluster", "role"}
	s.cpu = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aurora_role_cpu_utilization_ratio", Help: "x"}, labels)
	s.conns = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aurora_role_database_connections", Help: "x"}, labels)
	s.latency = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aurora_role_read_latency_seconds", Help: "x"}, labels)
	s.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aurora_instance_info", Help: "x"}, []string{"account", "region", "db_cluster", "db_instance", "role", "status"})
	s.up = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aurora_exporter_source_up", Help: "x"}, []string{"source"})
	s.reg.MustRegister(s.cpu, s.conns, s.latency, s.info, s.up)
	return s
}

// at sets the values for second t: reader CPU 25 %, then 95 % from 20 s to
// 60 s, then 20 %; connections over the 280 mark and read latency over
// 3 ms from 20 s on.
func (s *script) at(t float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := prometheus.Labels{"account": "123456789012", "region": "us-east-1", "db_cluster": "events-db", "role": "reader"}
	cpu, conns, lat := 0.25, 100.0, 0.001
	if t >= 20 {
		conns, lat = 320, 0.008
	}
	if t >= 20 && t < 60 {
		cpu = 0.95
	} else if t >= 60 {
		cpu = 0.2
	}
	s.cpu.With(l).Set(cpu)
	s.conns.With(l).Set(conns)
	s.latency.With(l).Set(lat)
	s.info.WithLabelValues("123456789012", "us-east-1", "events-db", "events-db-reader-1", "reader", "available").Set(1)
	s.up.WithLabelValues("cloudwatch").Set(1)
}

// episode is one alert's firing span, in seconds from the start.
type episode struct {
	name     string
	from, to float64 // to: -1 while still firing at the end
}

func (e episode) String() string { return fmt.Sprintf("%s [%.0f, %.0f]", e.name, e.from, e.to) }

// episodes turns per-second firing sets into spans.
func episodes(firing map[float64][]string, end float64) []episode {
	var times []float64
	for t := range firing {
		times = append(times, t)
	}
	sort.Float64s(times)
	open := map[string]float64{}
	var out []episode
	for _, t := range times {
		now := map[string]bool{}
		for _, n := range firing[t] {
			now[n] = true
			if _, ok := open[n]; !ok {
				open[n] = t
			}
		}
		for n, from := range open {
			if !now[n] {
				out = append(out, episode{n, from, t})
				delete(open, n)
			}
		}
	}
	for n, from := range open {
		out = append(out, episode{n, from, -1})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].from < out[j].from
	})
	return out
}

// TestRulesMatchTheRealPrometheus plays the same 110 s script through the
// real Prometheus 2.42 binary with the shipped rules (real time) and
// through the backtest's Prometheus (virtual time): every alert must fire
// and resolve on both, within one evaluation interval plus one scrape
// interval (the real server offsets its scrapes and evaluations by a hash).
func TestRulesMatchTheRealPrometheus(t *testing.T) {
	bin := os.Getenv("PROMETHEUS_BIN")
	if bin == "" {
		if os.Getenv("AURORA_REQUIRE_TOOLS") != "" {
			t.Fatal("PROMETHEUS_BIN unset (make tools installs it)")
		}
		t.Skip("PROMETHEUS_BIN unset: run through make test, which installs Prometheus 2.42")
	}
	if testing.Short() {
		t.Skip("runs Prometheus for two minutes of real time")
	}
	const length, scrape, eval = 110.0, 5 * time.Second, 15 * time.Second
	rules, _ := filepath.Abs("../rules")
	files, err := ruleFiles(rules)
	if err != nil {
		t.Fatal(err)
	}

	// The backtest's Prometheus on a virtual clock.
	virt := newScript()
	start := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	now := start
	prom, err := newPromServer(PromConfig{ScrapeInterval: scrape, EvaluationInterval: eval}, files, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	prom.addTarget("aurora_exporter", "exporter:9853", virt.reg)
	modelled := map[float64][]string{}
	for sec := 0.0; sec <= length; sec++ {
		now = start.Add(time.Duration(sec) * time.Second)
		virt.at(sec)
		if int(sec)%int(scrape.Seconds()) == 0 {
			if err := prom.Scrape(now); err != nil {
				t.Fatal(err)
			}
		}
		if int(sec)%int(eval.Seconds()) == 0 {
			prom.Evaluate(now)
		}
		vec, err := prom.Query(context.Background(), `ALERTS{alertstate="firing"}`, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range vec {
			modelled[sec] = append(modelled[sec], s.Metric.Get("alertname"))
		}
		if _, ok := modelled[sec]; !ok {
			modelled[sec] = nil
		}
	}

	// The real one, in real time.
	real := newScript()
	real.at(0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wallStart time.Time
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		real.at(time.Since(wallStart).Seconds())
		promhttp.HandlerFor(real.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
global: {scrape_interval: 5s, evaluation_interval: 15s}
rule_files: [%s/*.rules.yml]
scrape_configs:
  - {job_name: aurora_exporter, static_configs: [{targets: [%q]}]}
`, rules, ln.Addr().String())), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	wallStart = time.Now()
	proctest.Start(t, nil, bin, "--config.file", cfg, "--storage.tsdb.path", filepath.Join(dir, "tsdb"), "--web.listen-address", addr)
	proctest.WaitOK(t, "http://"+addr+"/-/ready", 30*time.Second)
	observed := map[float64][]string{}
	for {
		sec := time.Since(wallStart).Seconds()
		if sec > length {
			break
		}
		var body struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if err := json.Unmarshal(proctest.Get(t, "http://"+addr+"/api/v1/alerts"), &body); err != nil {
			t.Fatal(err)
		}
		key := float64(int(sec))
		observed[key] = nil
		for _, a := range body.Data.Alerts {
			if a.State == "firing" {
				observed[key] = append(observed[key], a.Labels["alertname"])
			}
		}
		time.Sleep(time.Second - time.Duration(int64(time.Since(wallStart))%int64(time.Second)))
	}

	want, got := episodes(observed, length), episodes(modelled, length)
	t.Logf("real Prometheus: %v", want)
	t.Logf("backtest:        %v", got)
	tol := (eval + scrape).Seconds()
	if len(want) == 0 {
		t.Fatal("the script fired no alert on the real Prometheus: the test checks nothing")
	}
	if len(want) != len(got) {
		t.Fatalf("real Prometheus fired %d episodes, the backtest %d", len(want), len(got))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.name != g.name || abs(w.from-g.from) > tol || (w.to < 0) != (g.to < 0) || (w.to >= 0 && abs(w.to-g.to) > tol) {
			t.Errorf("episode %d: real %v, backtest %v (tolerance %.0f s)", i, w, g, tol)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
