package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// ImportInput is the datasource input of the import variant: Grafana's
// import (UI or grafana.com) asks for a Prometheus and replaces
// ${DS_PROMETHEUS} with its uid.
const ImportInput = "DS_PROMETHEUS"

// Variant is which JSON a board is written as.
type Variant struct {
	// DatasourceUID, when set, is the default of the datasource variable:
	// file provisioning and the HTTP API take the JSON as is, so the
	// default must be the uid of a datasource that exists there.
	DatasourceUID string
	// Import adds __inputs and __requires and leaves the datasource to the
	// importer (${DS_PROMETHEUS}).
	Import bool
}

// Provisioning is the variant of deploy/grafana/dashboards: the compose
// stack provisions its Prometheus with uid "prometheus".
var Provisioning = Variant{DatasourceUID: "prometheus"}

// Export is the variant for Grafana's import and grafana.com.
var Export = Variant{Import: true}

// grafanaVersion is the Grafana the import variant requires: the one whose
// dashboard schema (schemaVersion 42) grafana-foundation-sdk v0.0.22
// writes.
const grafanaVersion = "12.0.0"

type requirement struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

type input struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
	Type        string `json:"type"`
	PluginID    string `json:"pluginId"`
	PluginName  string `json:"pluginName"`
}

// Render writes a board as JSON in the given variant.
func Render(b Board, v Variant) ([]byte, error) {
	d := b.Dashboard
	d.Templating.List = append([]dashboard.VariableModel(nil), d.Templating.List...)
	ds := v.DatasourceUID
	if v.Import {
		ds = "${" + ImportInput + "}"
	}
	if ds == "" {
		return nil, fmt.Errorf("dashboard %s: no datasource uid for the variant", b.File)
	}
	for i := range d.Templating.List {
		if tv := &d.Templating.List[i]; tv.Type == dashboard.VariableTypeDatasource && tv.Name == datasourceVar {
			tv.Current = &dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("Prometheus")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(ds)},
			}
		}
	}
	body, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.File, err)
	}
	if v.Import {
		head, err := json.Marshal(struct {
			Inputs   []input       `json:"__inputs"`
			Requires []requirement `json:"__requires"`
		}{
			Inputs: []input{{Name: ImportInput, Label: "Prometheus", Description: "The Prometheus that scrapes aurora_exporter and aurora_scaler and evaluates the rules",
				Type: "datasource", PluginID: "prometheus", PluginName: "Prometheus"}},
			Requires: requires(d),
		})
		if err != nil {
			return nil, err
		}
		// The importer's keys first, then the dashboard in the SDK's order.
		body = append(append(head[:len(head)-1:len(head)-1], ','), body[1:]...)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// requires lists Grafana, the Prometheus datasource and each panel plugin
// the board uses, as Grafana's "export for sharing externally" does.
func requires(d dashboard.Dashboard) []requirement {
	out := []requirement{
		{Type: "grafana", ID: "grafana", Name: "Grafana", Version: grafanaVersion},
		{Type: "datasource", ID: "prometheus", Name: "Prometheus", Version: "1.0.0"},
	}
	seen := map[string]bool{}
	for _, p := range d.Panels {
		if p.Panel == nil || seen[p.Panel.Type] {
			continue
		}
		seen[p.Panel.Type] = true
		name := map[string]string{"timeseries": "Time series", "stat": "Stat"}[p.Panel.Type]
		out = append(out, requirement{Type: "panel", ID: p.Panel.Type, Name: name, Version: ""})
	}
	return out
}

// Exprs lists every query of a board: panels, annotations and variables
// (for the metric-name test).
func Exprs(d dashboard.Dashboard) []string {
	var out []string
	for _, p := range d.Panels {
		if p.Panel == nil {
			continue
		}
		for _, t := range p.Panel.Targets {
			switch q := t.(type) {
			case prometheus.Dataquery:
				out = append(out, q.Expr)
			case *prometheus.Dataquery:
				out = append(out, q.Expr)
			}
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != nil {
			out = append(out, *a.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == dashboard.VariableTypeQuery && v.Query != nil && v.Query.String != nil {
			out = append(out, *v.Query.String)
		}
	}
	return out
}
