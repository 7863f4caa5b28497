package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aurora-surge/aurora-surge/internal/metricnames"
	"github.com/aurora-surge/aurora-surge/rules"
)

// scalerSeries are aurora_scaler's own metrics the health board reads;
// each must appear in the scaler's source, so a rename breaks this test.
var scalerSeries = []string{
	"aurora_scaler_decisions_total", "aurora_scaler_actions_total", "aurora_scaler_procedures_total",
	"aurora_scaler_paused", "aurora_scaler_dry_run", "aurora_scaler_breaker_open",
	"aurora_scaler_procedure_running", "aurora_scaler_webhooks_total",
}

func boards(t *testing.T) []Board {
	t.Helper()
	th, err := rules.DefaultThresholds()
	if err != nil {
		t.Fatal(err)
	}
	bs, err := Boards(th)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// The committed files are what the code generates, in both variants.
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	for dir, v := range generated {
		for _, b := range boards(t) {
			want, err := Render(b, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, b.File))
			if err != nil {
				t.Fatalf("%s: %v (run make dashboards)", b.File, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s differs from the generated dashboard: run make dashboards", dir, b.File)
			}
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
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	for _, b := range boards(t) {
		name := b.File
		exprs := Exprs(b.Dashboard)
		if len(exprs) < 5 {
			t.Fatalf("%s: %d queries", name, len(exprs))
		}
		for _, e := range exprs {
			if m := labelValues.FindStringSubmatch(e); m != nil {
				e = m[1] // a variable's query: label_values(metric, label)
			}
			e = strings.NewReplacer("$db_cluster", "x", "$asg", "x", "$account", "x", "$region", "x").Replace(e)
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
