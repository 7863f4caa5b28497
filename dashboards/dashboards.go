// Package dashboards builds the Grafana dashboards the monitoring host
// provisions, with grafana-foundation-sdk's typed builders: the fleet
// during an avalanche, in the order an SRE reads it (readers, capacity,
// proxy, Auto Scaling groups, DNS), and the health of the exporter and the
// scaler. The thresholds drawn as lines are the rules' own
// (rules/gen/thresholds.yml), so a board never disagrees with an alert.
// The JSON files under deploy/grafana/dashboards (provisioning) and
// dashboards/export (import through Grafana's UI or grafana.com) are
// generated from here (make dashboards); see dashboards/README.md.
package dashboards

import (
	"fmt"
	"sort"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/aurora-surge/aurora-surge/rules"
)

// datasourceVar is the template variable every query reads its Prometheus
// from, so the boards work with any datasource name or uid.
const datasourceVar = "datasource"

var promDatasource = dashboard.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + datasourceVar + "}")}

// series is one query of a panel.
type series struct {
	expr, legend string
}

// line is a threshold drawn across a panel: the value where a rule acts.
type line struct {
	value float64
	color string
}

// kind is how a panel draws its series.
type kind int

const (
	graph  kind = iota // timeseries
	single             // stat: the last value, coloured by the thresholds
)

// panel is one panel description; the unit is always chosen (a drawn series
// without a unit misleads).
type panel struct {
	title, unit, description string
	series                   []series
	lines                    []line
	base                     string // colour below the first line; green unless set
	kind                     kind
}

type row struct {
	title  string
	panels []panel
}

// board is a dashboard before building.
type board struct {
	uid, title, description string
	rows                    []row
	vars                    []cog.Builder[dashboard.VariableModel]
}

// The colours of the layers, from the first signal to the last resort.
const (
	colorBase     = "green"
	colorTarget   = "yellow"
	colorStep     = "orange"
	colorCritical = "red"
)

// Board is a built dashboard with the file name it is written to.
type Board struct {
	File      string
	Dashboard dashboard.Dashboard
}

// Boards builds every dashboard from the rules' thresholds.
func Boards(th *rules.Thresholds) ([]Board, error) {
	var out []Board
	for _, b := range []struct {
		file  string
		board board
	}{
		{"aurora-surge-fleet.json", fleet(th)},
		{"aurora-surge-health.json", health()},
	} {
		d, err := b.board.build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", b.board.uid, err)
		}
		out = append(out, Board{File: b.file, Dashboard: d})
	}
	return out, nil
}

// build lays the panels out two per line (12 of 24 columns, 8 high) under
// their rows, numbers them, and sets only what is chosen here.
func (b board) build() (dashboard.Dashboard, error) {
	db := dashboard.NewDashboardBuilder(b.title).
		Uid(b.uid).
		Description(b.description).
		Tags([]string{"aurora-surge"}).
		Editable().
		Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-1h", "now").
		Refresh("30s").
		Timepicker(dashboard.NewTimePickerBuilder().RefreshIntervals([]string{"15s", "30s", "1m", "5m"})).
		WithVariable(dashboard.NewDatasourceVariableBuilder(datasourceVar).Label("Prometheus").Type("prometheus"))
	for _, v := range b.vars {
		db.WithVariable(v)
	}
	// Decisions of aurora_scaler are Grafana annotations tagged
	// aurora-surge (scaler/annotate.go); firing alerts come from ALERTS.
	db.Annotation(dashboard.NewAnnotationQueryBuilder().
		Name("aurora_scaler decisions").
		Datasource(dashboard.DataSourceRef{Type: cog.ToPtr("grafana"), Uid: cog.ToPtr("-- Grafana --")}).
		Enable(true).
		IconColor("rgba(255, 96, 96, 1)").
		Target(grafanaTags("aurora-surge")))
	db.Annotation(dashboard.NewAnnotationQueryBuilder().
		Name("Scaling alerts").
		Datasource(promDatasource).
		Enable(true).
		IconColor("rgba(255, 200, 0, 1)").
		Expr(`ALERTS{alertstate="firing", action!="none"}`).
		Step("15s").
		TitleFormat("{{alertname}}").
		TextFormat("{{db_cluster}}{{asg}} action {{action}}"))

	id, y := uint32(1), uint32(0)
	for _, r := range b.rows {
		db.WithRow(dashboard.NewRowBuilder(r.title).Id(id).GridPos(dashboard.GridPos{H: 1, W: 24, X: 0, Y: y}))
		id++
		y++
		for i, p := range r.panels {
			pos := dashboard.GridPos{H: 8, W: 12, X: uint32(i%2) * 12, Y: y + uint32(i/2)*8}
			pb, err := p.builder(id, pos)
			if err != nil {
				return dashboard.Dashboard{}, fmt.Errorf("panel %q: %w", p.title, err)
			}
			db.WithPanel(pb)
			id++
		}
		y += uint32((len(r.panels)+1)/2) * 8
	}
	d, err := db.Build()
	if err != nil {
		return d, err
	}
	omitUnchosen(&d)
	return d, nil
}

// builder turns a panel description into the SDK's panel builder.
func (p panel) builder(id uint32, pos dashboard.GridPos) (cog.Builder[dashboard.Panel], error) {
	if p.unit == "" {
		return nil, fmt.Errorf("no unit")
	}
	var targets []cog.Builder[variants.Dataquery]
	for i, s := range p.series {
		q := prometheus.NewDataqueryBuilder().RefId(string(rune('A' + i))).Expr(s.expr).Datasource(promDatasource)
		if s.legend != "" {
			q.LegendFormat(s.legend)
		}
		targets = append(targets, q)
	}
	switch p.kind {
	case single:
		sp := stat.NewPanelBuilder().Id(id).GridPos(pos).Title(p.title).Description(p.description).
			Datasource(promDatasource).Targets(targets).Unit(p.unit).
			Orientation(common.VizOrientationAuto).
			ColorMode(common.BigValueColorModeBackground).
			GraphMode(common.BigValueGraphModeNone).
			JustifyMode(common.BigValueJustifyModeAuto).
			TextMode(common.BigValueTextModeValueAndName).
			PercentChangeColorMode(common.PercentChangeColorModeStandard).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
		if th := thresholds(p.base, p.lines); th != nil {
			sp.Thresholds(th)
		}
		return sp, nil
	default:
		tp := timeseries.NewPanelBuilder().Id(id).GridPos(pos).Title(p.title).Description(p.description).
			Datasource(promDatasource).Targets(targets).Unit(p.unit).
			DrawStyle(common.GraphDrawStyleLine).
			LineWidth(1).
			FillOpacity(10).
			ShowPoints(common.VisibilityModeNever).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).Calcs([]string{})).
			Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
		if th := thresholds(p.base, p.lines); th != nil {
			tp.Thresholds(th).ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
		}
		return tp, nil
	}
}

// thresholds is Grafana's step list: the base colour, then each line in
// ascending order (one step per distinct value).
func thresholds(base string, lines []line) *dashboard.ThresholdsConfigBuilder {
	if len(lines) == 0 {
		return nil
	}
	if base == "" {
		base = colorBase
	}
	sorted := append([]line(nil), lines...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].value < sorted[j].value })
	steps := []dashboard.Threshold{{Color: base}}
	for _, l := range sorted {
		if last := steps[len(steps)-1]; last.Value != nil && *last.Value == l.value {
			continue
		}
		steps = append(steps, dashboard.Threshold{Value: cog.ToPtr(l.value), Color: l.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

// grafanaTags is the target of an annotation from Grafana's own store by
// tag (the scaler's decisions). The SDK has no typed builder for the
// built-in datasource's query; its shape is dashboard.AnnotationTarget.
func grafanaTags(tags ...string) cog.Builder[variants.Dataquery] {
	return variants.NewUnknownDataqueryBuilderFromObject(variants.UnknownDataquery{
		"type": "tags", "tags": tags, "limit": 100, "matchAny": true,
	})
}

// queryVar is a multi-value variable over a label's values, "All" by
// default, refreshed when the time range changes.
func queryVar(name, label, query string) cog.Builder[dashboard.VariableModel] {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(promDatasource).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
}

// omitUnchosen removes what the SDK's constructors fill in that these
// boards do not choose, so the JSON holds only decisions (Grafana applies
// the same defaults to an absent field).
func omitUnchosen(d *dashboard.Dashboard) {
	d.FiscalYearStartMonth = nil
	if d.Timepicker != nil {
		d.Timepicker.Hidden = nil
	}
	for i := range d.Templating.List {
		v := &d.Templating.List[i]
		v.SkipUrlSync, v.AllowCustomValue, v.Auto, v.AutoMin, v.AutoCount = nil, nil, nil, nil, nil
		if v.Type != dashboard.VariableTypeQuery {
			v.Multi, v.IncludeAll = nil, nil
		}
	}
	for i := range d.Annotations.List {
		a := &d.Annotations.List[i]
		a.Hide, a.BuiltIn, a.Placement = nil, nil, nil
	}
	for _, p := range d.Panels {
		if p.Panel != nil {
			p.Panel.Transparent, p.Panel.RepeatDirection = nil, nil
		}
	}
}

func ptr[T any](v T) *T { return &v }
