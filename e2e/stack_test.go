// Package e2e runs the whole product as processes: aurora_sim as AWS,
// aurora_exporter, real Prometheus with the rules bundle, real
// Alertmanager with the shipped routing, and aurora_scaler; an avalanche
// played in the emulator must end with the scaler adding readers.
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/internal/proctest"
	"github.com/aurora-surge/aurora-surge/sim"
)

func write(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fleet is aurora_sim playing the field fleet, aurora_exporter against it
// and aurora_scaler acting on it, each a process; prom is where the test
// starts its Prometheus, which the scaler reads demand from.
type fleet struct {
	sim, dns, exporter, scaler, prom string // host:port
	token                            string // the scaler's bearer token file
	aws                              []string
}

// startFleet starts the field fleet with CloudWatch's publication lag cut
// to 5 s, so a chain through Prometheus reacts in a couple of minutes of
// wall time.
func startFleet(t *testing.T, bins map[string]string, dir string) fleet {
	t.Helper()
	f := fleet{sim: proctest.FreeAddr(t), dns: proctest.FreeAddr(t), exporter: proctest.FreeAddr(t), scaler: proctest.FreeAddr(t), prom: proctest.FreeAddr(t)}
	scenario, err := sim.ScenarioSource("field-avalanche")
	if err != nil {
		t.Fatal(err)
	}
	scenario = strings.Replace(scenario, "publication_delay: 60s", "publication_delay: 5s", 1)
	proctest.Start(t, nil, bins["aurora_sim"], "--scenario", write(t, filepath.Join(dir, "scenario.yaml"), scenario),
		"--web.listen-address", f.sim, "--dns.listen-address", f.dns)
	proctest.WaitOK(t, "http://"+f.sim+"/_sim/clock", 30*time.Second)
	f.aws = []string{"AWS_ENDPOINT_URL=http://" + f.sim, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none")}

	proctest.Start(t, f.aws, bins["aurora_exporter"], "--config.file", write(t, filepath.Join(dir, "exporter.yml"), `
targets:
  - regions: [us-east-1]
    clusters: {names: [events-db]}
    asgs: {tags: {app: events}}
refresh:
  discovery_interval: 10s
  cloudwatch_interval: 10s
  dns_interval: 5s
`), "--web.listen-address", f.exporter, "--dns.server", f.dns)
	proctest.WaitOK(t, "http://"+f.exporter+"/-/ready", time.Minute)

	f.token = write(t, filepath.Join(dir, "token"), "e2e-token\n")
	proctest.Start(t, f.aws, bins["aurora_scaler"], "--config.file", write(t, filepath.Join(dir, "scaler.yml"), fmt.Sprintf(`
clusters:
  - {name: events-db, account: "123456789012", region: us-east-1, max_readers: 5, acu_ceiling: 64}
asgs:
  - {name: events-web, account: "123456789012", region: us-east-1}
bearer_token_file: %s
dns_server: %s
prometheus_url: http://%s
`, f.token, f.dns, f.prom)), "--web.listen-address", f.scaler, "--events.file", filepath.Join(dir, "events.json"))
	proctest.WaitOK(t, "http://"+f.scaler+"/-/healthy", 30*time.Second)
	return f
}

// TestAvalancheAddsReadersThroughTheWholeStack: 8,000 users on the field
// fleet drive reader CPU to 100 %; the exporter reports it, Prometheus'
// step alert fires, Alertmanager routes it to the scaler with the bearer
// token, and the scaler creates readers in the emulator.
func TestAvalancheAddsReadersThroughTheWholeStack(t *testing.T) {
	promBin, amBin := os.Getenv("PROMETHEUS_BIN"), os.Getenv("ALERTMANAGER_BIN")
	if promBin == "" || amBin == "" {
		t.Skip("PROMETHEUS_BIN and ALERTMANAGER_BIN unset (make test installs and sets them)")
	}
	if testing.Short() {
		t.Skip("runs every component for a few minutes")
	}
	if _, err := os.Stat("/usr/share/prometheus/alertmanager/default.tmpl"); err != nil {
		t.Skip("Debian's Alertmanager needs its templates in /usr/share/prometheus/alertmanager (make tools installs them as root)")
	}
	bins := proctest.Build(t, "..", "./cmd/aurora_sim", "./cmd/aurora_exporter", "./cmd/aurora_scaler")
	dir := t.TempDir()
	f := startFleet(t, bins, dir)
	simAddr, expAddr, scalerAddr, token := f.sim, f.exporter, f.scaler, f.token
	promAddr, amAddr := f.prom, proctest.FreeAddr(t)

	// The shipped Alertmanager routing, pointed at this scaler and token.
	am, err := os.ReadFile("../deploy/alertmanager/alertmanager.yml")
	if err != nil {
		t.Fatal(err)
	}
	amCfg := strings.NewReplacer("http://aurora_scaler:9854/webhook", "http://"+scalerAddr+"/webhook",
		"/run/aurora-surge/scaler-token", token).Replace(string(am))
	proctest.Start(t, nil, amBin, "--config.file", write(t, filepath.Join(dir, "alertmanager.yml"), amCfg),
		"--storage.path", filepath.Join(dir, "am"), "--web.listen-address", amAddr, "--cluster.listen-address=")
	proctest.WaitOK(t, "http://"+amAddr+"/-/ready", 30*time.Second)

	rules, _ := filepath.Abs("../rules")
	proctest.Start(t, nil, promBin, "--config.file", write(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`
global: {scrape_interval: 5s, evaluation_interval: 15s}
rule_files: [%s/*.rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: [%q]}]}]
scrape_configs:
  - {job_name: aurora_exporter, static_configs: [{targets: [%q]}]}
  - {job_name: aurora_scaler, static_configs: [{targets: [%q]}]}
`, rules, amAddr, expAddr, scalerAddr)), "--storage.tsdb.path", filepath.Join(dir, "prom"), "--web.listen-address", promAddr)
	proctest.WaitOK(t, "http://"+promAddr+"/-/ready", 30*time.Second)

	// The avalanche.
	resp, err := http.Post("http://"+simAddr+"/_sim/traffic", "application/json", strings.NewReader(`{"cluster":"events-db","users":8000}`))
	if err != nil || resp.StatusCode >= 300 {
		t.Fatalf("setting traffic: %v %v", resp, err)
	}
	resp.Body.Close()

	type decision struct {
		Action, AlertName, Outcome, Result, Reason string
		Instances                                  []string
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var body struct {
			Decisions []decision `json:"decisions"`
		}
		_ = json.Unmarshal(proctest.Get(t, "http://"+scalerAddr+"/api/v1/decisions"), &body)
		var added []string
		for _, d := range body.Decisions {
			if d.Action == "add_readers" && d.Outcome == "act" && d.Result == "success" && strings.HasPrefix(d.AlertName, "AuroraReaderCPUStep") {
				added = append(added, d.Instances...)
			}
		}
		if len(added) > 0 {
			var truth sim.Truth
			_ = json.Unmarshal(proctest.Get(t, "http://"+simAddr+"/_sim/truth"), &truth)
			c, _ := truth.Cluster("events-db")
			found := 0
			for _, in := range c.Instances {
				for _, id := range added {
					if in.ID == id && in.Tier == 15 && in.Status == "creating" {
						found++
					}
				}
			}
			if found != len(added) {
				t.Fatalf("the scaler reports readers %v, the emulator has %+v", added, c.Instances)
			}
			t.Logf("readers added through the stack: %v", added)
			return
		}
		if time.Now().After(deadline) {
			alerts := proctest.Get(t, "http://"+promAddr+"/api/v1/alerts")
			t.Fatalf("no reader added within 5 minutes; decisions %+v; Prometheus alerts %s", body.Decisions, alerts)
		}
		time.Sleep(5 * time.Second)
	}
}
