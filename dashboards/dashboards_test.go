package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aurora-surge/aurora-surge/internal/metricnames"
)

// scalerSeries are aurora_scaler's own metrics the health board reads;
// each must appear in the scaler's source, so a rename breaks this test.
var scalerSeries = []string{
	"aurora_scaler_decisions_total", "aurora_scaler_actions_total", "aurora_scaler_procedures_total",
	"aurora_scaler_paused", "aurora_scaler_dry_run", "aurora_scaler_breaker_open",
	"aurora_scaler_procedure_running", "aurora_scaler_webhooks_total",
}

// The committed provisioning files are what the code generates.
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	for name, b := range Boards() {
		want, err := Render(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "dashboards", name))
		if err != nil {
			t.Fatalf("%s: %v (run make dashboards)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generated dashboard: run make dashboards", name)
		}
		// Generation is stable within a process too (the sdk numbers
		// panels from a global counter).
		again, _ := Render(Boards()[name])
		if !bytes.Equal(again, want) {
			t.Errorf("%s: two generations differ", name)
		}
		var doc map[string]any
		if err := json.Unmarshal(want, &doc); err != nil || doc["uid"] == "" || doc["title"] == "" {
			t.Errorf("%s: not a dashboard document: %v", name, err)
		}
	}
}

// Every query parses with the current PromQL parser and reads only
// series that exist: exported, recorded by the rules, or the scaler's.
func TestEveryQueryReadsExistingSeries(t *testing.T) {
	known, err := metricnames.Exporter()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../rules/*.rules.yml")
	recorded, err := metricnames.Recorded(files)
	if err != nil {
		t.Fatal(err)
	}
	var scalerSrc strings.Builder
	srcs, _ := filepath.Glob("../scaler/*.go")
	for _, f := range srcs {
		if !strings.HasSuffix(f, "_test.go") {
			b, _ := os.ReadFile(f)
			scalerSrc.Write(b)
		}
	}
	for _, n := range scalerSeries {
		short := strings.TrimPrefix(n, "aurora_scaler_")
		if !strings.Contains(scalerSrc.String(), `"`+n+`"`) && !strings.Contains(scalerSrc.String(), `"`+short+`"`) {
			t.Errorf("%s is not defined in scaler/", n)
		}
		known[n] = true
	}
	known["ALERTS"] = true
	labelValues := regexp.MustCompile(`^label_values\((\w+),\s*\w+\)$`)
	for name, b := range Boards() {
		exprs := Exprs(b)
		if len(exprs) < 5 {
			t.Fatalf("%s: %d queries", name, len(exprs))
		}
		for _, e := range exprs {
			if m := labelValues.FindStringSubmatch(e); m != nil {
				e = m[1] // a variable's query: label_values(metric, label)
			}
			e = strings.NewReplacer("$db_cluster", "x", "$asg", "x").Replace(e)
			names, err := metricnames.Used(e)
			if err != nil {
				t.Errorf("%s: %q: %v", name, e, err)
				continue
			}
			for _, n := range names {
				if n != "" && !known[n] && !recorded[n] {
					t.Errorf("%s reads %s: neither exported, recorded nor the scaler's", name, n)
				}
			}
		}
	}
}
