package rules

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// ruleFiles are the generated rule files. The glob is *.rules.yml, not
// *.yml, so that nothing else placed in rules/ is ever loaded as rules.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("found %d rule files %v, want the six groups", len(files), files)
	}
	return files
}

// tool returns the binary named by env. Outside make (plain go test) the
// variable is unset and the test is skipped; set but missing is a broken
// setup and fails.
func tool(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Skipf("%s is not set: run `make test` (or `make tools` and set %s=$PWD/.build/tools/...)", env, env)
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("%s=%s: binary missing (run `make tools`): %v", env, p, err)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := tool(t, "PROMTOOL")
	run(t, promtool, append([]string{"check", "rules"}, ruleFiles(t)...)...)
}

func TestPromtoolUnitTests(t *testing.T) {
	promtool := tool(t, "PROMTOOL")
	tests, err := filepath.Glob("tests/*.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no unit tests in rules/tests: %v", err)
	}
	run(t, promtool, append([]string{"test", "rules"}, tests...)...)
}

const alertmanagerConfig = "../deploy/alertmanager/alertmanager.yml"

func TestAmtoolCheckConfig(t *testing.T) {
	amtool := tool(t, "AMTOOL")
	run(t, amtool, "check-config", alertmanagerConfig)
}

// The scaler only learns about an alert through routing, so the routing
// tree is tested like code: which receivers each label set reaches.
func TestAlertmanagerRoutes(t *testing.T) {
	amtool := tool(t, "AMTOOL")
	for _, c := range []struct {
		labels    []string
		receivers string
	}{
		{[]string{"alertname=AuroraReaderCPUStep1", "action=add_readers", "step=1", "severity=warning", "db_cluster=c"}, "scaler"},
		{[]string{"alertname=AuroraReaderCPUBelowTarget", "action=remove_readers", "step=1", "severity=info", "db_cluster=c"}, "scaler"},
		{[]string{"alertname=AuroraServerlessAcuNearMax", "action=raise_max_acu", "severity=warning", "db_cluster=c"}, "scaler"},
		{[]string{"alertname=AuroraAsgRequestsStep2", "action=scale_asg", "step=2", "severity=warning", "asg=a"}, "scaler"},
		// Critical scaling alerts reach both the scaler and people.
		{[]string{"alertname=AuroraReaderCPUStep2", "action=add_readers", "step=2", "severity=critical", "db_cluster=c"}, "scaler,notify"},
		{[]string{"alertname=AuroraAsgRequestsStep3", "action=scale_asg", "step=3", "severity=critical", "asg=a"}, "scaler,notify"},
		{[]string{"alertname=AuroraDnsWriterEndpointNotWriter", "action=none", "severity=critical"}, "notify"},
		{[]string{"alertname=AuroraExporterDown", "action=none", "severity=critical"}, "notify"},
		// Alerts from other rule sets carry no action: never to the scaler.
		{[]string{"alertname=Watchdog", "severity=none"}, "notify"},
	} {
		args := append([]string{"config", "routes", "test", "--config.file", alertmanagerConfig, "--verify.receivers", c.receivers}, c.labels...)
		run(t, amtool, args...)
	}
}

func TestCommittedFilesAreTheDefaults(t *testing.T) {
	th, err := DefaultThresholds()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(th)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, want := range files {
		names = append(names, name)
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: %v (run `make rules`)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generated defaults: run `make rules` and commit", name)
		}
	}
	sort.Strings(names)
	committed := ruleFiles(t)
	if strings.Join(committed, " ") != strings.Join(names, " ") {
		t.Errorf("committed rule files %v, generator writes %v", committed, names)
	}
}

func TestThresholdOverride(t *testing.T) {
	dir := t.TempDir()
	override := filepath.Join(dir, "t.yml")
	if err := os.WriteFile(override, []byte("readers:\n  step1_cpu: 0.75\n  step1_clear_cpu: 0.7\nasg:\n  tiers:\n    - {name: shop, asg_regex: \"shop-.*\", requests_per_instance_per_minute: 1200}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	th, err := LoadThresholds(override)
	if err != nil {
		t.Fatal(err)
	}
	if th.Readers.Step1CPU != 0.75 || th.Readers.Step2CPU != 0.85 || th.Readers.TargetCPU != 0.30 {
		t.Errorf("override not laid over the defaults: %+v", th.Readers)
	}
	files, err := Generate(th)
	if err != nil {
		t.Fatal(err)
	}
	readers, asg := string(files["aurora-readers.rules.yml"]), string(files["aurora-asg.rules.yml"])
	for _, want := range []string{"cluster:aurora_reader_cpu_utilization:ratio > 0.75\n", "cluster:aurora_reader_cpu_utilization:ratio > 0.7\n", "> 0.85\n"} {
		if !strings.Contains(readers, want) {
			t.Errorf("readers rules lack %q", want)
		}
	}
	for _, want := range []string{`{asg=~"shop-.*"} > 1200`, `{asg!~"(?:shop-.*)"} > 800`} {
		if !strings.Contains(asg, want) {
			t.Errorf("asg rules lack %q", want)
		}
	}
	if strings.Contains(asg, "-web") {
		t.Error("a tiers override must replace the default tiers, not extend them")
	}

	for name, body := range map[string]string{
		"misspelt key":       "readers:\n  step_1_cpu: 0.75\n",
		"clear above fire":   "readers:\n  step1_clear_cpu: 0.9\n",
		"bad duration":       "readers:\n  step_for: 15 seconds\n",
		"scale-in above out": "readers:\n  scale_in_cpu: 0.4\n",
		"bad tier regex":     "asg:\n  tiers: [{name: web, asg_regex: \"(\", requests_per_instance_per_minute: 1}]\n",
	} {
		if err := os.WriteFile(override, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadThresholds(override); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every alert must be covered by a promtool unit test that expects it to
// fire, and documented in the runbook its runbook_url points at.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	runbook, err := os.ReadFile("RUNBOOK.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)\s*$`).FindAllStringSubmatch(string(runbook), -1) {
		anchors[strings.ToLower(m[1])] = true
	}
	var tested bytes.Buffer
	tests, _ := filepath.Glob("tests/*.yml")
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tested.Write(b)
	}
	firing := regexp.MustCompile(`(?m)^\s*- eval_time:.*\n\s*alertname: (\S+)\n\s*exp_alerts:\s*\n\s*- `)
	fires := map[string]bool{}
	for _, m := range firing.FindAllStringSubmatch(tested.String(), -1) {
		fires[m[1]] = true
	}
	alerts := 0
	for _, g := range parseGroups(t) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			anchor := strings.ToLower(r.Alert)
			if !anchors[anchor] {
				t.Errorf("%s: no `## %s` section in RUNBOOK.md", r.Alert, r.Alert)
			}
			if u := r.Annotations["runbook_url"]; !strings.HasSuffix(u, "rules/RUNBOOK.md#"+anchor) {
				t.Errorf("%s: runbook_url %q", r.Alert, u)
			}
			if !fires[r.Alert] {
				t.Errorf("%s: no promtool test in rules/tests expects it to fire", r.Alert)
			}
		}
	}
	if alerts < 20 {
		t.Errorf("found %d alerts, want at least 20", alerts)
	}
}
