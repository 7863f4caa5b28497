package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"gopkg.in/yaml.v3"
)

// The panel and query kinds these boards use, registered so strict
// unmarshalling checks their options, field config and queries too (an
// unregistered kind would be read as an untyped bag).
func init() {
	rt := cog.NewRuntime()
	rt.RegisterPanelcfgVariant(timeseries.VariantConfig())
	rt.RegisterPanelcfgVariant(stat.VariantConfig())
	rt.RegisterDataqueryVariant(prometheus.VariantConfig())
}

// zeroAllowed are the keys whose zero value ("", 0, false, [], {}) the
// schema requires to be written; anywhere else a zero value is a field the
// generator did not choose.
var zeroAllowed = map[string]bool{
	"collapsed": true, "panels": true, // rows
	"x": true, "y": true, // gridPos
	"calcs":             true, // legend
	"overrides":         true, // fieldConfig
	"showPercentChange": true, // stat options
}

// checkDashboard strictly unmarshals a dashboard (without the importer's
// __ keys) with grafana-foundation-sdk's types and checks what the schema
// cannot say: drawn series have a line and a unit, no zero value is
// written that was not required.
func checkDashboard(raw []byte) []error {
	var errs []error
	var d dashboard.Dashboard
	if err := strictErr(d.UnmarshalJSONStrict(raw)); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			errs = append(errs, fmt.Errorf("schema: %s", e))
		}
		return errs
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	errs = append(errs, zeroValues(doc, "")...)
	// v0.0.22's Dashboard.UnmarshalJSONStrict drops every panel: the
	// panel's strict unmarshalling returns its empty error list as a
	// non-nil error, so PanelOrRowPanel returns before keeping the panel.
	// Each panel is therefore read here, as strictly.
	var rawPanels struct {
		Panels []json.RawMessage `json:"panels"`
	}
	_ = json.Unmarshal(raw, &rawPanels)
	if len(rawPanels.Panels) != len(d.Panels) {
		errs = append(errs, fmt.Errorf("%d panels read of %d", len(d.Panels), len(rawPanels.Panels)))
	}
	for i, rp := range rawPanels.Panels {
		var head struct{ Type string }
		_ = json.Unmarshal(rp, &head)
		if head.Type == "row" {
			var r dashboard.RowPanel
			if err := strictErr(r.UnmarshalJSONStrict(rp)); err != nil {
				errs = append(errs, fmt.Errorf("panels[%d]: %v", i, err))
			}
			continue
		}
		p := &dashboard.Panel{}
		if err := strictErr(p.UnmarshalJSONStrict(rp)); err != nil {
			errs = append(errs, fmt.Errorf("panels[%d]: %v", i, err))
			continue
		}
		name := fmt.Sprintf("panel %q", deref(p.Title))
		if _, ok := cog.ConfigForPanelcfgVariant(p.Type); !ok {
			errs = append(errs, fmt.Errorf("%s: type %q not checked (register its variant)", name, p.Type))
		}
		// The same flaw drops the typed options, queries and custom field
		// config after checking them: read the parts the checks need.
		var parts struct {
			Targets     []json.RawMessage `json:"targets"`
			FieldConfig json.RawMessage   `json:"fieldConfig"`
			Custom      struct {
				FieldConfig struct {
					Defaults struct {
						Custom json.RawMessage `json:"custom"`
					} `json:"defaults"`
				} `json:"fieldConfig"`
			}
		}
		_ = json.Unmarshal(rp, &parts)
		_ = json.Unmarshal(rp, &parts.Custom)
		if len(parts.Targets) == 0 {
			errs = append(errs, fmt.Errorf("%s: no query", name))
		}
		for _, t := range parts.Targets {
			var q prometheus.Dataquery
			if err := strictErr(q.UnmarshalJSONStrict(t)); err != nil || q.Expr == "" {
				errs = append(errs, fmt.Errorf("%s: query %s: %v", name, t, err))
			}
		}
		var fcs dashboard.FieldConfigSource
		if err := strictErr(fcs.UnmarshalJSONStrict(parts.FieldConfig)); err != nil {
			errs = append(errs, fmt.Errorf("%s: fieldConfig: %v", name, err))
		}
		if fcs.Defaults.Unit == nil || *fcs.Defaults.Unit == "" {
			errs = append(errs, fmt.Errorf("%s: drawn without a unit", name))
		}
		for _, o := range fcs.Overrides {
			for _, prop := range o.Properties {
				if (prop.Id == "custom.lineWidth" && fmt.Sprint(prop.Value) == "0") || (prop.Id == "unit" && fmt.Sprint(prop.Value) == "") {
					errs = append(errs, fmt.Errorf("%s: override sets %s to %v", name, prop.Id, prop.Value))
				}
			}
		}
		if p.Type == "timeseries" {
			var c timeseries.FieldConfig
			err := strictErr(c.UnmarshalJSONStrict(parts.Custom.FieldConfig.Defaults.Custom))
			switch {
			case parts.Custom.FieldConfig.Defaults.Custom == nil || err != nil:
				errs = append(errs, fmt.Errorf("%s: timeseries field config: %v", name, err))
			case c.LineWidth == nil || *c.LineWidth <= 0:
				errs = append(errs, fmt.Errorf("%s: series drawn with lineWidth 0 (invisible)", name))
			case c.DrawStyle == nil || *c.DrawStyle == "":
				errs = append(errs, fmt.Errorf("%s: no drawStyle", name))
			}
		}
	}
	// The Grafana-store annotation's target has dashboard.AnnotationTarget's shape.
	var ann struct {
		Annotations struct {
			List []struct {
				Datasource struct{ Type string } `json:"datasource"`
				Target     json.RawMessage       `json:"target"`
			} `json:"list"`
		} `json:"annotations"`
	}
	_ = json.Unmarshal(raw, &ann)
	for _, a := range ann.Annotations.List {
		if a.Datasource.Type == "grafana" {
			var t dashboard.AnnotationTarget
			if err := strictErr(t.UnmarshalJSONStrict(a.Target)); err != nil {
				errs = append(errs, fmt.Errorf("annotation target: %v", err))
			}
		}
	}
	return errs
}

// strictErr: the SDK's strict unmarshalling returns its error list as an
// error even when the list is empty.
func strictErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

func zeroValues(v any, key string) []error {
	var errs []error
	zero := false
	switch x := v.(type) {
	case map[string]any:
		zero = len(x) == 0
		for k, c := range x {
			errs = append(errs, zeroValues(c, k)...)
		}
	case []any:
		zero = len(x) == 0
		for _, c := range x {
			errs = append(errs, zeroValues(c, key)...)
		}
	case string:
		zero = x == ""
	case float64:
		zero = x == 0
	case bool:
		zero = !x
	}
	if zero && !zeroAllowed[key] {
		errs = append(errs, fmt.Errorf("%s: zero value %v written", key, v))
	}
	return errs
}

var generated = map[string]Variant{
	"../deploy/grafana/dashboards": Provisioning,
	"export":                       Export,
}

// Every generated file passes Grafana's schema strictly, and each variant
// carries what its consumer needs.
func TestGeneratedDashboardsMatchGrafanaSchema(t *testing.T) {
	provisionedUID := provisionedDatasourceUID(t)
	for dir, v := range generated {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(files) != 2 {
			t.Fatalf("%s: %d dashboards, want 2", dir, len(files))
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if v.Import {
				checkImportKeys(t, f, raw, doc)
				delete(doc, "__inputs")
				delete(doc, "__requires")
			} else {
				if strings.Contains(string(raw), "${DS_") || doc["__inputs"] != nil {
					t.Errorf("%s: a provisioned file is not imported, ${DS_...} would stay unresolved", f)
				}
				if !strings.Contains(string(raw), `"value": "`+provisionedUID+`"`) {
					t.Errorf("%s: the datasource variable does not default to the provisioned uid %q", f, provisionedUID)
				}
			}
			stripped, _ := json.Marshal(doc)
			for _, err := range checkDashboard(stripped) {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

func checkImportKeys(t *testing.T, f string, raw []byte, doc map[string]json.RawMessage) {
	t.Helper()
	var inputs []input
	var reqs []requirement
	if err := json.Unmarshal(doc["__inputs"], &inputs); err != nil || len(inputs) == 0 {
		t.Errorf("%s: __inputs %v", f, err)
	}
	if err := json.Unmarshal(doc["__requires"], &reqs); err != nil {
		t.Errorf("%s: __requires %v", f, err)
	}
	declared := map[string]bool{}
	for _, in := range inputs {
		if in.Type != "datasource" || in.PluginID != "prometheus" || in.Label == "" {
			t.Errorf("%s: input %+v", f, in)
		}
		declared[in.Name] = true
	}
	for _, m := range regexp.MustCompile(`\$\{(DS_[A-Z_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		if !declared[m[1]] {
			t.Errorf("%s: ${%s} is used but not an input", f, m[1])
		}
	}
	required := map[string]bool{}
	for _, r := range reqs {
		required[r.Type+"/"+r.ID] = true
	}
	var panels struct {
		Panels []struct{ Type string } `json:"panels"`
	}
	_ = json.Unmarshal(raw, &panels)
	want := []string{"grafana/grafana", "datasource/prometheus"}
	for _, p := range panels.Panels {
		if p.Type != "row" {
			want = append(want, "panel/"+p.Type)
		}
	}
	for _, w := range want {
		if !required[w] {
			t.Errorf("%s: __requires lacks %s", f, w)
		}
	}
}

func provisionedDatasourceUID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/provisioning/datasources/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Datasources []struct{ UID, Type string } `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Datasources {
		if d.Type == "prometheus" && d.UID != "" {
			if d.UID != Provisioning.DatasourceUID {
				t.Errorf("provisioned Prometheus uid %q, the boards default to %q", d.UID, Provisioning.DatasourceUID)
			}
			return d.UID
		}
	}
	t.Fatal("no provisioned Prometheus with a uid")
	return ""
}

// The checks catch what grafana-tools/sdk wrote: legacy keys, refresh
// false, a timeseries drawn with lineWidth 0 and no unit, zero values.
func TestSchemaCheckRejectsLegacyBoards(t *testing.T) {
	for name, c := range map[string]struct {
		doc  string
		want string
	}{
		"legacy keys":   {`{"schemaVersion": 36, "title": "t", "rows": [], "sharedCrosshair": true, "templating": {"list": []}, "annotations": {"list": []}}`, "unexpected field 'rows'"},
		"refresh false": {`{"schemaVersion": 36, "title": "t", "refresh": false, "templating": {"list": []}, "annotations": {"list": []}}`, "refresh"},
		"panel span": {`{"schemaVersion": 42, "title": "t", "templating": {"list": []}, "annotations": {"list": []},
			"panels": [{"type": "timeseries", "title": "p", "span": 12, "isNew": true, "targets": [{"refId": "A", "expr": "up"}], "fieldConfig": {"defaults": {"unit": "short", "custom": {"lineWidth": 1, "drawStyle": "line"}}, "overrides": []}}]}`, "unexpected field 'span'"},
		"lineWidth 0": {`{"schemaVersion": 42, "title": "t", "templating": {"list": []}, "annotations": {"list": []},
			"panels": [{"type": "timeseries", "title": "p", "targets": [{"refId": "A", "expr": "up"}], "fieldConfig": {"defaults": {"unit": "short", "custom": {"lineWidth": 0, "drawStyle": "line"}}, "overrides": []}}]}`, "lineWidth 0"},
		"no unit": {`{"schemaVersion": 42, "title": "t", "templating": {"list": []}, "annotations": {"list": []},
			"panels": [{"type": "timeseries", "title": "p", "targets": [{"refId": "A", "expr": "up"}], "fieldConfig": {"defaults": {"custom": {"lineWidth": 1, "drawStyle": "line"}}, "overrides": []}}]}`, "without a unit"},
		"no showLegend": {`{"schemaVersion": 42, "title": "t", "templating": {"list": []}, "annotations": {"list": []},
			"panels": [{"type": "timeseries", "title": "p", "options": {"legend": {"displayMode": "list", "placement": "bottom", "calcs": []}, "tooltip": {"mode": "multi", "sort": "desc"}}, "targets": [{"refId": "A", "expr": "up"}], "fieldConfig": {"defaults": {"unit": "short", "custom": {"lineWidth": 1, "drawStyle": "line"}}, "overrides": []}}]}`, "showLegend"},
		"empty enum": {`{"schemaVersion": 42, "title": "t", "templating": {"list": []}, "annotations": {"list": []},
			"panels": [{"type": "timeseries", "title": "p", "targets": [{"refId": "A", "expr": "up"}], "fieldConfig": {"defaults": {"unit": "short", "custom": {"lineWidth": 1, "drawStyle": "line", "showPoints": ""}}, "overrides": []}}]}`, "showPoints: zero value"},
	} {
		errs := checkDashboard([]byte(c.doc))
		if !strings.Contains(fmt.Sprint(errs), c.want) {
			t.Errorf("%s: errors %v, want one with %q", name, errs, c.want)
		}
	}
}
