// Package deploy holds the monitoring host's configuration; its tests check
// that the pieces fit: Prometheus loads its config and the rules, every
// file the compose stack mounts exists, the product configurations parse,
// and every flag a service is started with is one its binary defines.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/scaler"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       map[string]any    `yaml:"build"`
		User        string            `yaml:"user"`
		Command     []string          `yaml:"command"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func TestComposeStack(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"prometheus", "alertmanager", "grafana", "aurora_exporter", "aurora_scaler"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	flagsOf := map[string]string{ // binary -> its flag definitions
		"/bin/aurora_exporter": "../cmd/aurora_exporter/main.go",
		"/bin/aurora_scaler":   "../cmd/aurora_scaler/main.go",
		"/bin/aurora_sim":      "../cmd/aurora_sim/main.go",
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", name)
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, "./") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("%s mounts %s: %v", name, src, err)
			}
		}
		if len(s.Command) == 0 || flagsOf[s.Command[0]] == "" {
			continue
		}
		src, err := os.ReadFile(flagsOf[s.Command[0]])
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range s.Command[1:] {
			flag := strings.TrimPrefix(strings.SplitN(arg, "=", 2)[0], "--")
			// Own flags are app.Flag("name", ...); exporter-toolkit adds
			// the web.* ones.
			if !strings.Contains(string(src), `"`+flag+`"`) && !strings.HasPrefix(flag, "web.") {
				t.Errorf("%s: %s has no flag --%s", name, s.Command[0], flag)
			}
		}
	}
}

func TestProductConfigsParse(t *testing.T) {
	if _, err := collector.LoadConfig("aurora_exporter/aurora_exporter.yml"); err != nil {
		t.Error(err)
	}
	sc, err := scaler.LoadConfig("aurora_scaler/aurora_scaler.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The groups' request targets are the field's tiers (web 1,000, API
	// 800), as the rules' tiers have them.
	for name, want := range map[string]float64{"events-web": 1000, "events-api": 800} {
		if g, ok := sc.ASG(name, "", ""); !ok || g.TargetRequests != want {
			t.Errorf("%s: target %v, want %v", name, g, want)
		}
	}
	// The scaler's token file and Alertmanager's credentials_file are the
	// same file of the same volume: both sides must read the same secret.
	c := loadCompose(t)
	am, _ := os.ReadFile("alertmanager/alertmanager.yml")
	m := regexp.MustCompile(`credentials_file:\s*(\S+)`).FindSubmatch(am)
	if m == nil {
		t.Fatal("alertmanager.yml has no credentials_file")
	}
	scalerSide := volumeOf(c.Services["aurora_scaler"].Volumes, sc.BearerTokenFile)
	amSide := volumeOf(c.Services["alertmanager"].Volumes, string(m[1]))
	if scalerSide == "" || scalerSide != amSide {
		t.Errorf("the scaler reads its token as %q (%s), Alertmanager as %q (%s): not the same file", scalerSide, sc.BearerTokenFile, amSide, m[1])
	}
	// The secrets are generated into that volume, never committed.
	if v, _ := strings.CutSuffix(scalerSide, "/scaler-token"); !strings.Contains(strings.Join(c.Services["secrets"].Volumes, " "), v+":") {
		t.Errorf("the secrets service does not write the volume %s", v)
	}
}

// volumeOf maps a path inside a container to "volume/rest" through the
// service's mounts ("" when no named volume holds it).
func volumeOf(mounts []string, path string) string {
	for _, v := range mounts {
		p := strings.Split(v, ":")
		if len(p) < 2 || strings.HasPrefix(p[0], ".") || strings.HasPrefix(p[0], "/") {
			continue
		}
		if rest, ok := strings.CutPrefix(path, p[1]+"/"); ok {
			return p[0] + "/" + rest
		}
	}
	return ""
}

// The stack as the field's monitoring host runs it: every service has a
// healthcheck, services that need another wait for it, only Grafana
// listens beyond loopback, and no secret is in the repository.
func TestComposeHardening(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if name != "secrets" && (s.Healthcheck == nil || len(s.Healthcheck.Test) < 2) {
			t.Errorf("%s has no healthcheck", name)
		}
		for _, p := range s.Ports {
			if name != "grafana" && !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond loopback", name, p)
			}
		}
		for k, v := range s.Environment {
			if strings.Contains(k, "PASSWORD") && !strings.HasSuffix(k, "__FILE") {
				t.Errorf("%s sets %s=%s in the compose file", name, k, v)
			}
		}
	}
	for svc, needs := range map[string][]string{
		"aurora_exporter": {"aurora_sim"}, "aurora_scaler": {"aurora_sim", "secrets"},
		"alertmanager": {"secrets"}, "grafana": {"secrets"},
	} {
		for _, n := range needs {
			want := "service_healthy"
			if n == "secrets" {
				want = "service_completed_successfully"
			}
			if got := c.Services[svc].DependsOn[n].Condition; got != want {
				t.Errorf("%s depends on %s with condition %q, want %s", svc, n, got, want)
			}
		}
	}
	for _, f := range []string{"aurora_scaler/token", "aurora_scaler/grafana-credentials"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s is committed: secrets are generated at first start", f)
		}
	}
	am, _ := os.ReadFile("alertmanager/alertmanager.yml")
	if strings.Contains(string(am), "alert-notifier") {
		t.Error("the notify receiver points at a host that does not exist")
	}
}

// Prometheus loads its configuration with the rules bundle in place.
func TestPromtoolCheckConfig(t *testing.T) {
	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		t.Skip("PROMTOOL unset (make test sets it)")
	}
	dir := t.TempDir()
	cfg, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	rules, _ := filepath.Abs("../rules")
	if err := os.Symlink(rules, filepath.Join(dir, "rules")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if n := len(regexp.MustCompile(`SUCCESS: \d+ rules found`).FindAll(out, -1)); n < 7 {
		t.Fatalf("promtool loaded %d rule files:\n%s", n, out)
	}
}
