package scaler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const goodConfig = `
clusters:
  - name: events-db
    account: "123456789012"
    region: us-east-1
    max_readers: 5
    acu_step: 8
    acu_ceiling: 64
asgs:
  - name: events-web
    account: "123456789012"
    region: us-east-1
cooldowns:
  scale_out: 45s
dry_run: true
`

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig("s.yml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cooldowns.ScaleOut != 45*time.Second || c.Cooldowns.ScaleIn != 2*time.Minute {
		t.Errorf("cooldowns %+v, want 45s out and the default 2m in", c.Cooldowns)
	}
	if !c.DryRun || c.MaxActionsPerHour != 10 || c.StabilizationWindow != 5*time.Minute {
		t.Errorf("defaults not applied: %+v", c)
	}
	cl, ok := c.Cluster("events-db", "", "us-east-1")
	if !ok || cl.MaxReaders != 5 || cl.MinReaders != 1 || cl.ACUCeiling != 64 || cl.TargetCPU != 0.30 {
		t.Errorf("cluster %+v ok=%v", cl, ok)
	}
	if _, ok := c.Cluster("events-db", "999999999999", ""); ok {
		t.Error("another account's cluster of the same name matched")
	}
	if g, ok := c.ASG("events-web", "123456789012", "us-east-1"); !ok || g.MaxStep != 5 || g.TargetRequests != 1000 {
		t.Errorf("asg %+v ok=%v", g, ok)
	}
}

func TestParseConfigErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
		msg        string
	}{
		{"unknown field", "clusters:\n  - name: a\n    acount: x\n", 3, "field acount not found"},
		{"no targets", "dry_run: true\n", 1, "at least one target"},
		{"too many readers", "clusters:\n  - name: a\n    account: \"123456789012\"\n    region: us-east-1\n    acu_ceiling: 64\n    max_readers: 16\n", 6, "Aurora's limit"},
		{"no ceiling", "clusters:\n  - name: a\n    account: \"123456789012\"\n    region: us-east-1\n", 2, "acu_ceiling is required"},
		{"bad region", "asgs:\n  - name: web\n    account: \"123456789012\"\n    region: useast\n", 4, "not an AWS region"},
		{"bad account", "asgs:\n  - name: web\n    account: \"12\"\n    region: us-east-1\n", 3, "12-digit"},
		{"bad duration", "asgs:\n  - name: web\n    account: \"123456789012\"\n    region: us-east-1\ncooldowns:\n  scale_in: soon\n", 6, ""},
		{"duplicate", "asgs:\n  - {name: web, account: \"123456789012\", region: us-east-1}\n  - {name: web, account: \"123456789012\", region: us-east-1}\n", 3, "listed twice"},
		{"two drains", "clusters:\n  - name: a\n    account: \"123456789012\"\n    region: us-east-1\n    acu_ceiling: 64\n    read_record: {zone_id: Z1, name: r.}\n    drain_custom_endpoint: e\n", 7, "alternatives"},
		{"bad read record", "clusters:\n  - name: a\n    account: \"123456789012\"\n    region: us-east-1\n    acu_ceiling: 64\n    read_record: {zone_id: nope, name: r.}\n", 6, "zone_id"},
		{"bad role", "asgs:\n  - {name: web, account: \"123456789012\", region: us-east-1}\naccounts:\n  - {id: \"210987654321\", role_arn: \"arn:aws:iam::123456789012:role/x\"}\n", 4, "role of account"},
		{"bad prometheus", "asgs:\n  - {name: web, account: \"123456789012\", region: us-east-1}\nprometheus_url: localhost:9090\n", 3, "http://"},
		{"bad target cpu", "clusters:\n  - {name: a, account: \"123456789012\", region: us-east-1, acu_ceiling: 64, target_cpu: 30}\n", 2, "target_cpu 30 must be a CPU ratio"},
		{"bound cpu below the target", "clusters:\n  - {name: a, account: \"123456789012\", region: us-east-1, acu_ceiling: 64, acu_bound_cpu: 0.2}\n", 2, "acu_bound_cpu 0.2 must be a CPU ratio above target_cpu 0.3"},
		{"bound cpu above 1", "clusters:\n  - {name: a, account: \"123456789012\", region: us-east-1, acu_ceiling: 64, acu_bound_cpu: 70}\n", 2, "acu_bound_cpu 70 must be"},
		{"bad target requests", "asgs:\n  - {name: web, account: \"123456789012\", region: us-east-1, target_requests_per_instance_per_minute: -5}\n", 2, "target_requests_per_instance_per_minute -5"},
		{"no stabilisation window", "asgs:\n  - {name: web, account: \"123456789012\", region: us-east-1}\nstabilization_window: 0s\n", 3, "[30s, 24h0m0s]"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, tc.yaml, tc.line, tc.msg) })
	}
}

func TestEventLimitsFollowTheConfig(t *testing.T) {
	cfg, err := ParseConfig("c.yml", []byte(`
clusters:
  - {name: events-db, account: "123456789012", region: us-east-1, max_readers: 5, acu_ceiling: 64}
asgs:
  - {name: events-web, account: "123456789012", region: us-east-1}
  - {name: events-api, account: "123456789012", region: eu-west-1}
`))
	if err != nil {
		t.Fatal(err)
	}
	lim, ok := cfg.EventLimits("events-db")
	if !ok || lim.MaxReaders != 5 || lim.ACUCeiling != 64 || !lim.ASG("events-web") || lim.ASG("events-api") || lim.ASG("events-batch") {
		t.Fatalf("limits %+v %v (events-api is in another region)", lim, ok)
	}
	if _, ok := cfg.EventLimits("other"); ok {
		t.Fatal("limits for an unconfigured cluster")
	}
}

// TestConfigErrorsNameTheFieldAndTheBound: every section's check says
// which field broke which bound, at the field's line.
func TestConfigErrorsNameTheFieldAndTheBound(t *testing.T) {
	const cluster = "clusters:\n  - name: a\n    account: \"123456789012\"\n    region: us-east-1\n    acu_ceiling: 64\n"
	const asg = "asgs:\n  - {name: web, account: \"123456789012\", region: us-east-1}\n"
	for _, tc := range []struct {
		name, yaml string
		line       int
		msg        string
	}{
		{"cluster name", "clusters:\n  - name: a--b\n    account: \"123456789012\"\n    region: us-east-1\n    acu_ceiling: 64\n", 2, `cluster name "a--b" is not a DB cluster identifier`},
		{"min readers", cluster + "    max_readers: 3\n    min_readers: 4\n", 7, "min_readers 4 outside [1, max_readers 3]"},
		{"reader class", cluster + "    reader_class: r6g\n", 6, `reader_class "r6g" is not a DB instance class`},
		{"acu step", cluster + "    acu_step: 300\n", 6, "acu_step 300 must be a multiple of 0.5 in (0, 256]"},
		{"acu step half", cluster + "    acu_step: 0.3\n", 6, "acu_step 0.3 must be a multiple of 0.5"},
		{"acu ceiling", "clusters:\n  - name: a\n    account: \"123456789012\"\n    region: us-east-1\n    acu_ceiling: 512\n", 5, "acu_ceiling 512 must be a multiple of 0.5 in [1, 256]"},
		{"acu baseline", cluster + "    acu_baseline: 80\n", 6, "acu_baseline 80 must be a multiple of 0.5 in [0, acu_ceiling 64]"},
		{"writer class", cluster + "    writer_classes: [db.r6g.large, big]\n", 6, `writer class "big" is not a DB instance class`},
		{"asg name", "asgs:\n  - {name: \"\", account: \"123456789012\", region: us-east-1}\n", 2, `asg name "" is not an Auto Scaling group name`},
		{"asg step", "asgs:\n  - name: web\n    account: \"123456789012\"\n    region: us-east-1\n    max_step: 101\n", 5, "max_step 101 outside [1, 100]"},
		{"scale out cooldown", asg + "cooldowns:\n  scale_out: 2h\n", 4, "scale_out cooldown 2h0m0s must be in [0, 1h0m0s]"},
		{"scale in cooldown", asg + "cooldowns:\n  scale_in: -1s\n", 4, "scale_in cooldown -1s must be in [0, 24h0m0s]"},
		{"stabilization", asg + "stabilization_window: 25h\n", 3, "stabilization_window 25h0m0s must be in [30s, 24h0m0s]"},
		{"breaker", asg + "max_actions_per_hour: -1\n", 3, "max_actions_per_hour -1 must be at least 1"},
		{"data age", asg + "max_data_age: -1m\n", 3, "max_data_age -1m0s must be positive"},
		{"dns server", asg + "dns_server: 127.0.0.1\n", 3, `dns_server "127.0.0.1" must be host:port`},
		{"account id", asg + "accounts:\n  - {id: \"1\", role_arn: \"arn:aws:iam::1:role/x\"}\n", 4, `account id "1" must be 12 digits`},
		{"grafana without url", asg + "grafana:\n  api_key_file: k\n", 3, `grafana url "" must start with http://`},
		{"grafana url", asg + "grafana:\n  url: grafana:3000\n", 4, `grafana url "grafana:3000" must start with http://`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantConfigError(t, tc.yaml, tc.line, tc.msg) })
	}
}

// wantConfigError parses yaml and wants a ConfigError at line whose
// message contains msg.
func wantConfigError(t *testing.T, yaml string, line int, msg string) {
	t.Helper()
	_, err := ParseConfig("s.yml", []byte(yaml))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a ConfigError", err)
	}
	if ce.Line != line || !strings.Contains(ce.Msg, msg) {
		t.Errorf("got %v, want line %d containing %q", err, line, msg)
	}
}
