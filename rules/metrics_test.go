package rules

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/aurora-surge/aurora-surge/internal/metricnames"
)

// notExported are the series the rules may use although aurora_exporter does
// not export them, each with the reason.
var notExported = map[string]string{
	"up":               "Prometheus' scrape health of the exporter",
	"ALERTS":           "the step alerts' value hysteresis reads their own state",
	"ALERTS_FOR_STATE": "Prometheus' alert state",
	"aurora_surge_event_start_timestamp_seconds": "published by aurora_scaler from its event schedule (pre-event signal)",
	"aurora_scaler_breaker_open":                 "aurora_scaler's own metric (scaler/server.go)",
	"aurora_scaler_actions_total":                "aurora_scaler's own metric (scaler/server.go)",
	"aurora_scaler_procedures_total":             "aurora_scaler's own metric (scaler/procedures.go)",
	"aurora_scaler_paused":                       "aurora_scaler's own metric (scaler/server.go)",
}

// freshFamilies are the exporter's Enhanced Monitoring / Performance
// Insights families (issue 9) the reader rules read. They are allowed here
// only while the collector does not describe them yet: once it does, the
// test says to drop this list.
var freshFamilies = []string{
	"aurora_instance_os_cpu_utilization_ratio",
	"aurora_instance_fresh_signal_age_seconds",
	"aurora_instance_db_load_per_vcpu_ratio",
}

func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names, err := metricnames.Exporter()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// parseGroups parses every rule file with the current Prometheus rule
// parser, strict about fields and legacy metric names so the files load in
// Prometheus 2 as well as 3.
func parseGroups(t *testing.T) []rulefmt.RuleGroup {
	t.Helper()
	var groups []rulefmt.RuleGroup
	for _, f := range ruleFiles(t) {
		rgs, errs := metricnames.ParseRuleFile(f)
		for _, err := range errs {
			t.Errorf("%s: %v", f, err)
		}
		if rgs == nil {
			continue
		}
		if len(rgs.Groups) != 1 {
			t.Errorf("%s: %d groups, want one group per concern", f, len(rgs.Groups))
		}
		groups = append(groups, rgs.Groups...)
	}
	return groups
}

func TestEveryMetricIsExportedOrRecorded(t *testing.T) {
	known := exportedMetrics(t)
	for n := range notExported {
		known[n] = true
	}
	described := 0
	for _, n := range freshFamilies {
		if known[n] {
			described++
		}
		known[n] = true
	}
	if described == len(freshFamilies) {
		t.Errorf("the collector describes every fresh family: remove freshFamilies")
	}
	groups := parseGroups(t)
	recorded := map[string]bool{}
	levelMetricOps := regexp.MustCompile(`^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$`)
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				if !levelMetricOps.MatchString(r.Record) {
					t.Errorf("recording rule %s is not named level:metric:operations", r.Record)
				}
				recorded[r.Record] = true
			}
		}
	}
	used := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			names, err := metricnames.Used(r.Expr)
			if err != nil {
				t.Errorf("%s/%s%s: %v", g.Name, r.Alert, r.Record, err)
			}
			for _, name := range names {
				used[name] = true
				if name != "" && !known[name] && !recorded[name] {
					t.Errorf("%s%s uses %s: neither exported by aurora_exporter nor recorded", r.Alert, r.Record, name)
				}
			}
		}
	}
	// The allowance list must not outlive its use.
	for n := range notExported {
		if !used[n] && n != "ALERTS_FOR_STATE" {
			t.Errorf("%s is allowed as not exported but no rule uses it", n)
		}
	}
	// A recording rule nobody reads is dead weight in every evaluation.
	for n := range recorded {
		if !used[n] {
			t.Errorf("recording rule %s is used by no rule", n)
		}
	}
}

var actions = map[string]bool{"add_readers": true, "remove_readers": true, "raise_max_acu": true, "scale_asg": true, "none": true}

func TestAlertLabelsAndAnnotations(t *testing.T) {
	var alerts []string
	for _, g := range parseGroups(t) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			l := r.Labels
			switch l["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity %q", r.Alert, l["severity"])
			}
			if !actions[l["action"]] {
				t.Errorf("%s: action %q", r.Alert, l["action"])
			}
			// The scaler needs a step for every action that changes a count.
			if a := l["action"]; (a == "add_readers" || a == "remove_readers") && l["step"] == "" {
				t.Errorf("%s: action %s without step", r.Alert, a)
			}
			if s, ok := l["step"]; ok && !regexp.MustCompile(`^[1-9]$`).MatchString(s) {
				t.Errorf("%s: step %q", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if !strings.Contains(r.Annotations["description"], "$value") {
				t.Errorf("%s: description does not show the current value", r.Alert)
			}
			// Step alerts must reach the scaler within 30 s of a crossing at
			// a 15 s scrape: at most one evaluation of pending.
			if strings.Contains(r.Alert, "Step") && time.Duration(r.For) > 15*time.Second {
				t.Errorf("%s: for %s, step alerts need <= 15s", r.Alert, r.For)
			}
		}
	}
	sort.Strings(alerts)
	if len(alerts) == 0 {
		t.Fatal("no alerts")
	}
}
