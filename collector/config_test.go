package collector

import (
	"errors"
	"strings"
	"testing"
)

const goodConfig = `
targets:
  - regions: [us-east-1]
    clusters: {names: [events-db]}
    asgs: {tags: {app: events}}
    route53_records: [db-read.app.internal.]
refresh:
  dns_interval: 5s
`

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("x.yml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Refresh.CloudWatch.Seconds() != 60 || cfg.CloudWatch.Window.Minutes() != 10 || cfg.DNS.Samples != 16 ||
		cfg.Refresh.EnhancedMonitoring.Seconds() != 5 || cfg.Refresh.PerformanceInsights.Seconds() != 10 ||
		!cfg.EnhancedMonitoring.Enabled || !cfg.PerformanceInsights.Enabled || cfg.Refresh.DiscoveryTriggerMinInterval.Seconds() != 30 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"unknown key", "targets:\n  - regions: [us-east-1]\n    clusterz: {}\n", 3, "clusterz"},
		{"no targets", "refresh: {}\n", 1, "at least one target"},
		{"bad region", "targets:\n  - regions: [us-east-1, mars]\n    clusters: {names: [a]}\n", 2, "not an AWS region"},
		{"no selector", "targets:\n  - regions: [us-east-1]\n", 2, "clusters"},
		{"bad role", "targets:\n  - regions: [us-east-1]\n    role_arn: nope\n    clusters: {names: [a]}\n", 3, "role_arn"},
		{"bad period", goodConfig + "cloudwatch:\n  period: 90s\n", 10, "multiple of 60s"},
		{"trigger too often", goodConfig + "  discovery_trigger_min_interval: 100ms\n", 9, "discovery_trigger_min_interval"},
		{"bad duration", "refresh:\n  dns_interval: soon\n", 2, "soon"},
		{"syntax", "targets: [\n", 0, ""},
		{"fresh interval", goodConfig + "  enhanced_monitoring_interval: 100ms\n", 9, "enhanced_monitoring_interval must be at least 1s"},
		{"pi concurrency", goodConfig + "performance_insights:\n  concurrency: 0\n", 10, "concurrency"},
		{"pi window", goodConfig + "performance_insights:\n  window: 2h\n", 10, "window must be at most 1h"},
		{"pi db load interval not a minute multiple", goodConfig + "performance_insights:\n  db_load_interval: 90s\n", 10, "db_load_interval must be 0"},
		{"pi db load interval too short", goodConfig + "performance_insights:\n  db_load_interval: 10s\n", 10, "multiple of 60s from 60s to 5m"},
		{"pi db load interval too long", goodConfig + "performance_insights:\n  db_load_interval: 10m\n", 10, "db_load_interval"},
		{"proxy tags", "targets:\n  - regions: [us-east-1]\n    clusters: {names: [a]}\n    proxies: {tags: {a: b}}\n", 4, "proxies"},
	}
	for _, c := range cases {
		_, err := ParseConfig("x.yml", []byte(c.yaml))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: want a ConfigError, got %v", c.name, err)
			continue
		}
		if c.line > 0 && ce.Line != c.line {
			t.Errorf("%s: line %d, want %d (%v)", c.name, ce.Line, c.line, err)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.yml:") {
			t.Errorf("%s: error %q should start with the file and mention %q", c.name, err, c.want)
		}
	}
}
