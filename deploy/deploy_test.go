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
		Image   string   `yaml:"image"`
		Build   string   `yaml:"build"`
		Command []string `yaml:"command"`
		Volumes []string `yaml:"volumes"`
		Ports   []string `yaml:"ports"`
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
		if s.Image == "" && s.Build == "" {
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
	if _, err := scaler.LoadConfig("aurora_scaler/aurora_scaler.yml"); err != nil {
		t.Error(err)
	}
	// The scaler's token file and Alertmanager's credentials_file are the
	// same mounted file: both sides must read the same secret.
	am, _ := os.ReadFile("alertmanager/alertmanager.yml")
	c := loadCompose(t)
	var amMount string
	for _, v := range c.Services["alertmanager"].Volumes {
		if strings.Contains(v, "scaler-token") {
			amMount = v
		}
	}
	if !strings.Contains(string(am), "/etc/alertmanager/scaler-token") || !strings.HasPrefix(amMount, "./deploy/aurora_scaler/token:") {
		t.Errorf("alertmanager does not read the scaler's token file (mount %q)", amMount)
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
