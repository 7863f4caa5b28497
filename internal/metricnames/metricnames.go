// Package metricnames answers, for tests of the rules and dashboards,
// which series exist: those aurora_exporter exports (from the collector's
// own descriptors, so a renamed family breaks a test rather than an alert
// or a panel), those the rule bundle records, and those a PromQL
// expression reads.
package metricnames

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/aurora-surge/aurora-surge/collector"
)

// commandSeries are the exporter command's own series (cmd/aurora_exporter:
// configuration reloads, rendering, build info); every other name comes
// from the collector package's descriptors.
var commandSeries = []string{
	"aurora_exporter_config_reloads_total",
	"aurora_exporter_config_last_reload_success_timestamp_seconds",
	"aurora_exporter_render_duration_seconds",
	"aurora_exporter_build_info",
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Exporter returns every metric name aurora_exporter serves.
func Exporter() (map[string]bool, error) {
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc)
	go func() {
		// The families, the exporter's source health and ages, the AWS call
		// counter and the CloudWatch planning counters.
		for _, s := range collector.AllScrapers(time.Minute) {
			s.Describe(ch)
		}
		collector.NewExporter(collector.ExporterOptions{}).Describe(ch)
		collector.NewCallCounter().Describe(ch)
		collector.NewCloudWatchSource(nil, nil, nil, collector.CloudWatchConfig{}, nil).Describe(ch)
		collector.NewEnhancedMonitoringSource(nil, nil, collector.EnhancedMonitoringConfig{}, nil).Describe(ch)
		collector.NewPerformanceInsightsSource(collector.PerformanceInsightsOptions{}).Describe(ch)
		collector.NewDiscoveryTrigger(nil, 0).Describe(ch)
		close(ch)
	}()
	var bad error
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			bad = fmt.Errorf("no fqName in descriptor %s", d)
			continue
		}
		names[m[1]] = true
	}
	if bad != nil {
		return nil, bad
	}
	if len(names) < 20 {
		return nil, fmt.Errorf("collector describes only %d families", len(names))
	}
	for _, n := range commandSeries {
		names[n] = true
	}
	return names, nil
}

// Parser is the current Prometheus PromQL parser.
func Parser() parser.Parser { return parser.NewParser(parser.Options{}) }

// ParseRuleFile parses a rule file strictly (fields, legacy metric names),
// so it loads in Prometheus 2 as well as 3.
func ParseRuleFile(path string) (*rulefmt.RuleGroups, []error) {
	return rulefmt.ParseFile(path, false, model.LegacyValidation, Parser(), slog.New(slog.DiscardHandler))
}

// Recorded returns the recording rules' names of the given rule files.
func Recorded(files []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range files {
		rgs, errs := ParseRuleFile(f)
		if len(errs) > 0 {
			return nil, fmt.Errorf("%s: %v", f, errs)
		}
		for _, g := range rgs.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					out[r.Record] = true
				}
			}
		}
	}
	return out, nil
}

// Used returns the metric names an expression selects; a selector without
// a metric name is an error (it would match every series).
func Used(expr string) ([]string, error) {
	e, err := Parser().ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	var bad error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				bad = fmt.Errorf("selector %s without a metric name", vs)
			}
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, bad
}
