// Package dashboards builds the Grafana dashboards (grafana-tools/sdk) the
// monitoring host provisions: the fleet during an avalanche, in the order
// an SRE reads it (readers, capacity, proxy, Auto Scaling groups, DNS), and
// the health of the exporter and the scaler. The JSON files under
// deploy/grafana/dashboards are generated from here (make dashboards).
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana-tools/sdk"
)

// datasource is the provisioned Prometheus, chosen by a variable so the
// dashboards import into any Grafana.
var datasource = map[string]string{"type": "prometheus", "uid": "${datasource}"}

// series is one query of a panel.
type series struct {
	expr, legend string
}

// panel is a timeseries panel description.
type panel struct {
	title, unit, description string
	series                   []series
}

type row struct {
	title  string
	panels []panel
}

// layout places panels two per line, 12 of 24 columns wide.
func build(uid, title string, tags []string, rows []row, vars []sdk.TemplateVar) *sdk.Board {
	b := sdk.NewBoard(title)
	b.ID, b.UID, b.Tags, b.SchemaVersion = 0, uid, tags, 36
	b.Editable, b.SharedCrosshair, b.GraphTooltip = true, true, 1
	b.Time = sdk.Time{From: "now-1h", To: "now"}
	b.Timepicker = sdk.Timepicker{RefreshIntervals: []string{"15s", "30s", "1m", "5m"}}
	refresh := sdk.BoolString{Flag: true, Value: "30s"}
	b.Refresh = &refresh
	b.Templating.List = append([]sdk.TemplateVar{{
		Name: "datasource", Label: "Prometheus", Type: "datasource", Query: "prometheus",
		Current: sdk.Current{Text: &sdk.StringSliceString{Value: []string{"Prometheus"}, Valid: true}, Value: "Prometheus"},
	}}, vars...)
	// Decisions of aurora_scaler are Grafana annotations tagged
	// aurora-surge (scaler/annotate.go); firing alerts come from ALERTS.
	b.Annotations.List = []sdk.Annotation{
		{Name: "aurora_scaler decisions", Datasource: map[string]string{"type": "grafana", "uid": "-- Grafana --"}, Enable: true,
			IconColor: "rgba(255, 96, 96, 1)", Type: "tags", Tags: []string{"aurora-surge"}},
		{Name: "Scaling alerts", Datasource: datasource, Enable: true, IconColor: "rgba(255, 200, 0, 1)",
			Expr: `ALERTS{alertstate="firing", action!="none"}`, Step: "15s", TitleFormat: "{{alertname}}", TextFormat: "{{db_cluster}}{{asg}} action {{action}}", Type: "prometheus"},
	}
	y := 0
	for _, r := range rows {
		h, w, zero := 1, 24, 0
		rp := &sdk.Panel{CommonPanel: sdk.CommonPanel{OfType: sdk.RowType, Type: "row", Title: r.title}, RowPanel: &sdk.RowPanel{Panels: []sdk.Panel{}}}
		rp.GridPos.H, rp.GridPos.W, rp.GridPos.X, rp.GridPos.Y = &h, &w, &zero, intPtr(y)
		b.Panels = append(b.Panels, rp)
		y++
		for i, p := range r.panels {
			tp := sdk.NewTimeseries(p.title)
			tp.Datasource = datasource
			tp.Description = &p.description
			tp.TimeseriesPanel.FieldConfig.Defaults.Unit = p.unit
			for j, s := range p.series {
				tp.AddTarget(&sdk.Target{RefID: string(rune('A' + j)), Datasource: datasource, Expr: s.expr, LegendFormat: s.legend})
			}
			ph, pw := 8, 12
			tp.GridPos.H, tp.GridPos.W, tp.GridPos.X, tp.GridPos.Y = &ph, &pw, intPtr((i%2)*12), intPtr(y+(i/2)*8)
			b.Panels = append(b.Panels, tp)
		}
		y += ((len(r.panels) + 1) / 2) * 8
	}
	// The sdk numbers panels from a process-wide counter; number them per
	// board so the generated files are stable.
	for i, p := range b.Panels {
		p.ID = uint(i + 1)
	}
	return b
}

func intPtr(i int) *int { return &i }

func queryVar(name, label, query string) sdk.TemplateVar {
	return sdk.TemplateVar{
		Name: name, Label: label, Type: "query", Datasource: datasource, Refresh: sdk.BoolInt{Flag: true, Value: int64Ptr(2)},
		Query: query, IncludeAll: true, Multi: true, AllValue: ".*", Sort: 1,
		Current: sdk.Current{Text: &sdk.StringSliceString{Value: []string{"All"}, Valid: true}, Value: []string{"$__all"}},
	}
}

func int64Ptr(i int64) *int64 { return &i }

// Boards are the dashboards by file name.
func Boards() map[string]*sdk.Board {
	return map[string]*sdk.Board{
		"aurora-surge-fleet.json":  Fleet(),
		"aurora-surge-health.json": Health(),
	}
}

// Render is a board as Grafana's file provisioning reads it.
func Render(b *sdk.Board) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.UID, err)
	}
	return buf.Bytes(), nil
}

// Exprs lists every query of a board (for the metric-name test).
func Exprs(b *sdk.Board) []string {
	var out []string
	for _, p := range b.Panels {
		if p.TimeseriesPanel != nil {
			for _, t := range p.TimeseriesPanel.Targets {
				out = append(out, t.Expr)
			}
		}
	}
	for _, a := range b.Annotations.List {
		if a.Expr != "" {
			out = append(out, a.Expr)
		}
	}
	for _, v := range b.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			out = append(out, q)
		}
	}
	return out
}
