package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/internal/proctest"
)

// TestNoSeriesCollidesWithTargetLabels scrapes aurora_exporter and
// aurora_scaler through the shipped Prometheus configuration (its targets
// pointed at the processes, everything else as shipped, the rules bundle
// loaded) and fails on any exported_* label, which is how Prometheus
// renames a series' own label that a target label overrides, and on any
// instance, job or cluster other than the target labels of its job.
func TestNoSeriesCollidesWithTargetLabels(t *testing.T) {
	promBin := os.Getenv("PROMETHEUS_BIN")
	if promBin == "" {
		t.Skip("PROMETHEUS_BIN unset (make test installs and sets it)")
	}
	if testing.Short() {
		t.Skip("runs the exporter, the scaler and Prometheus for about a minute")
	}
	bins := proctest.Build(t, "..", "./cmd/aurora_sim", "./cmd/aurora_exporter", "./cmd/aurora_scaler")
	dir := t.TempDir()
	f := startFleet(t, bins, dir)

	// An event registered far ahead gives the scaler's per-cluster series
	// (aurora_surge_event_*) something to export.
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute)
	proctest.Run(t, f.aws, bins["aurora_scaler"], "event", "add", "--scaler.url=http://"+f.scaler, "--token.file="+f.token,
		"--id=labels", "--cluster=events-db", "--start="+start.Format(time.RFC3339), "--end="+start.Add(time.Hour).Format(time.RFC3339),
		"--readers=2", "--asg=events-web=6")

	promAddr, unused := f.prom, proctest.FreeAddr(t)
	shipped, err := os.ReadFile("../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{ // job -> instance, as Prometheus labels them
		"aurora_exporter": f.exporter, "aurora_scaler": f.scaler, "alertmanager": unused, "prometheus": promAddr,
	}
	cfg := strings.NewReplacer("aurora_exporter:9853", f.exporter, "aurora_scaler:9854", f.scaler,
		"alertmanager:9093", unused, "localhost:9090", promAddr).Replace(string(shipped))
	for job, addr := range targets {
		if !strings.Contains(cfg, addr) {
			t.Fatalf("the shipped configuration no longer scrapes %s at the address this test replaces", job)
		}
	}
	// rule_files is relative to the configuration's directory.
	if err := os.Symlink(mustAbs(t, "../rules"), filepath.Join(dir, "rules")); err != nil {
		t.Fatal(err)
	}
	proctest.Start(t, nil, promBin, "--config.file", write(t, filepath.Join(dir, "prometheus.yml"), cfg),
		"--storage.tsdb.path", filepath.Join(dir, "prom"), "--web.listen-address", promAddr)
	proctest.WaitOK(t, "http://"+promAddr+"/-/ready", 30*time.Second)

	// Wait for every kind of series to be in, by name only so a label
	// regression fails the checks below and not this wait: the exporter's
	// per-instance CloudWatch and inventory series, the scaler's event
	// series, a recording rule's output.
	for _, q := range []string{
		`aurora_instance_cpu_utilization_ratio`, `aurora_instance_info`, `aurora_surge_event_start_timestamp_seconds`,
		`{__name__=~".+:aurora_reader_cpu_utilization:ratio"}`, `up{job="aurora_scaler"} == 1`,
	} {
		for deadline := time.Now().Add(2 * time.Minute); len(query(t, promAddr, q)) == 0; time.Sleep(time.Second) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in Prometheus within 2 minutes", q)
			}
		}
	}

	var body struct {
		Data []map[string]string `json:"data"`
	}
	raw := proctest.Get(t, "http://"+promAddr+"/api/v1/series?"+url.Values{"match[]": {`{__name__=~".+"}`}}.Encode())
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	var bad []string
	byJob := map[string]int{}
	for _, s := range body.Data {
		byJob[s["job"]]++
		for name := range s {
			if strings.HasPrefix(name, "exported_") {
				bad = append(bad, fmt.Sprintf("%v: %s (a label of the series collides with a target label)", s, name))
			}
		}
		// Multi-cluster and Kubernetes setups attach cluster to targets.
		if s["cluster"] != "" {
			bad = append(bad, fmt.Sprintf("%v: cluster", s))
		}
		// A series from a scrape or a rule keeping its labels carries its
		// target's instance and job; any other value is a label of ours.
		if job, ok := s["job"]; ok && (targets[job] == "" || (s["instance"] != "" && s["instance"] != targets[job])) {
			bad = append(bad, fmt.Sprintf("%v: job/instance are not the target's", s))
		}
		if _, ok := s["job"]; !ok && s["instance"] != "" {
			bad = append(bad, fmt.Sprintf("%v: instance without a job", s))
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
	if byJob["aurora_exporter"] < 50 || byJob["aurora_scaler"] < 10 {
		t.Fatalf("too few series to judge: %v", byJob)
	}
	// The DB identity is there under its own names.
	for _, q := range []string{
		`aurora_instance_cpu_utilization_ratio{db_cluster="events-db",db_instance=~"events-db-.+"}`,
		`aurora_dns_endpoint_target{db_cluster="events-db",db_instance=~"events-db-.+"}`,
		`aurora_surge_event_start_timestamp_seconds{db_cluster="events-db",asg="events-web",event="labels"}`,
		`db_cluster:aurora_reader_cpu_utilization:ratio{db_cluster="events-db"}`,
	} {
		if len(query(t, promAddr, q)) == 0 {
			t.Errorf("no %s", q)
		}
	}
	t.Logf("%d series checked (by job: %v)", len(body.Data), byJob)
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// query runs an instant query and returns its samples' label sets.
func query(t *testing.T, promAddr, q string) []map[string]string {
	t.Helper()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	raw := proctest.Get(t, "http://"+promAddr+"/api/v1/query?"+url.Values{"query": {q}}.Encode())
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range body.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}
