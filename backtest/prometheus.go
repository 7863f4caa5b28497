package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"gopkg.in/yaml.v3"

	"github.com/aurora-surge/aurora-surge/backtest/alerting"
)

// PromConfig is what the backtest takes from the monitoring host's
// prometheus.yml: the intervals and the external labels the rules and
// Alertmanager see.
type PromConfig struct {
	ScrapeInterval     time.Duration
	EvaluationInterval time.Duration
	ExternalLabels     map[string]string
}

// LoadPromConfig reads the global section of a Prometheus configuration.
func LoadPromConfig(path string) (PromConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return PromConfig{}, err
	}
	var doc struct {
		Global struct {
			ScrapeInterval     string            `yaml:"scrape_interval"`
			EvaluationInterval string            `yaml:"evaluation_interval"`
			ExternalLabels     map[string]string `yaml:"external_labels"`
		} `yaml:"global"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return PromConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	// Prometheus's own defaults when the file leaves them out.
	c := PromConfig{ScrapeInterval: time.Minute, EvaluationInterval: time.Minute, ExternalLabels: doc.Global.ExternalLabels}
	for _, f := range []struct {
		s   string
		dst *time.Duration
	}{{doc.Global.ScrapeInterval, &c.ScrapeInterval}, {doc.Global.EvaluationInterval, &c.EvaluationInterval}} {
		if f.s == "" {
			continue
		}
		d, err := time.ParseDuration(f.s)
		if err != nil || d <= 0 {
			return PromConfig{}, fmt.Errorf("%s: bad interval %q", path, f.s)
		}
		*f.dst = d
	}
	return c, nil
}

// scrapeTarget is one job's target: its registry is gathered in process
// and labelled as Prometheus labels a scraped target.
type scrapeTarget struct {
	job, instance string
	gatherer      prometheus.Gatherer
	last          map[uint64]labels.Labels // series of the previous scrape (staleness)
}

// promServer is the part of Prometheus the loop needs, on the virtual
// clock: scrapes appended to a TSDB, the shipped rule files evaluated by
// Prometheus's rule manager and PromQL engine, alerts handed on as the
// notifier sends them, and instant queries for the scaler.
type promServer struct {
	cfg     PromConfig
	dir     string
	db      *tsdb.DB
	engine  *promql.Engine
	groups  []*rules.Group
	targets []*scrapeTarget
	ext     labels.Labels

	pending []alerting.Alert // alerts sent during the current evaluation
	now     func() time.Time
}

func newPromServer(cfg PromConfig, ruleFiles []string, now func() time.Time) (*promServer, error) {
	dir, err := os.MkdirTemp("", "aurora-backtest-tsdb-")
	if err != nil {
		return nil, err
	}
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = int64(24 * time.Hour / time.Millisecond)
	db, err := tsdb.Open(dir, nil, nil, opts, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p := &promServer{cfg: cfg, dir: dir, db: db, ext: labels.FromMap(cfg.ExternalLabels), now: now}
	p.engine = promql.NewEngine(promql.EngineOpts{
		MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute,
		EnableAtModifier: true, EnableNegativeOffset: true,
	})
	mgr := rules.NewManager(&rules.ManagerOptions{
		AppendableV2: db, Queryable: db,
		QueryFunc:   rules.EngineQueryFunc(p.engine, db),
		NotifyFunc:  p.notify,
		Context:     context.Background(),
		Logger:      slog.New(slog.DiscardHandler),
		ResendDelay: time.Minute, // Prometheus's --rules.alert.resend-delay default
		// Prometheus's --rules.alert.for-grace-period default; nothing
		// restores state in a backtest, but keep the semantics.
		ForGracePeriod:  10 * time.Minute,
		OutageTolerance: time.Hour,
	})
	groups, errs := mgr.LoadGroups(cfg.EvaluationInterval, p.ext, "http://prometheus:9090", nil, false, ruleFiles...)
	if len(errs) > 0 {
		p.Close()
		return nil, fmt.Errorf("rules: %v", errs)
	}
	for _, g := range groups {
		// Prometheus writes ALERTS only once a group has restored its
		// `for` state (its first run); a backtest starts with nothing to
		// restore, and the step rules' hysteresis reads ALERTS.
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				ar.SetRestored(true)
			}
		}
		p.groups = append(p.groups, g)
	}
	// Prometheus evaluates groups concurrently; a fixed order keeps the
	// backtest deterministic (no rule here reads another group's output
	// within the same evaluation).
	sort.Slice(p.groups, func(i, j int) bool {
		if p.groups[i].File() != p.groups[j].File() {
			return p.groups[i].File() < p.groups[j].File()
		}
		return p.groups[i].Name() < p.groups[j].Name()
	})
	return p, nil
}

func (p *promServer) Close() {
	_ = p.db.Close()
	_ = os.RemoveAll(p.dir)
}

func (p *promServer) addTarget(job, instance string, g prometheus.Gatherer) {
	p.targets = append(p.targets, &scrapeTarget{job: job, instance: instance, gatherer: g})
}

// Scrape gathers every target at ts and appends the samples (with `up`
// and staleness markers for series that disappeared), as Prometheus does.
func (p *promServer) Scrape(ts time.Time) error {
	app := p.db.AppenderV2(context.Background())
	ms := ts.UnixMilli()
	for _, t := range p.targets {
		seen := map[uint64]labels.Labels{}
		add := func(ls labels.Labels, v float64) error {
			seen[ls.Hash()] = ls
			_, err := app.Append(0, ls, 0, ms, v, nil, nil, storage.AOptions{})
			return err
		}
		mfs, gerr := t.gatherer.Gather()
		up := 1.0
		if gerr != nil {
			up = 0
			mfs = nil
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, s := range samplesOf(mf, m) {
					if err := add(t.labelled(s.name, m.GetLabel(), s.extra), s.v); err != nil {
						_ = app.Rollback()
						return fmt.Errorf("scrape %s: %w", t.job, err)
					}
				}
			}
		}
		if err := add(labels.FromStrings("__name__", "up", "job", t.job, "instance", t.instance), up); err != nil {
			_ = app.Rollback()
			return err
		}
		for h, ls := range t.last {
			if _, ok := seen[h]; !ok {
				if _, err := app.Append(0, ls, 0, ms, math.Float64frombits(value.StaleNaN), nil, nil, storage.AOptions{}); err != nil {
					_ = app.Rollback()
					return err
				}
			}
		}
		t.last = seen
	}
	return app.Commit()
}

// labelled applies the target labels with honor_labels: false: a scraped
// label that collides with a target label is kept as exported_<name>.
func (t *scrapeTarget) labelled(name string, lps []*dto.LabelPair, extra [2]string) labels.Labels {
	b := labels.NewScratchBuilder(len(lps) + 4)
	b.Add("__name__", name)
	for _, lp := range lps {
		n := lp.GetName()
		if n == "job" || n == "instance" {
			n = "exported_" + n
		}
		b.Add(n, lp.GetValue())
	}
	if extra[0] != "" {
		b.Add(extra[0], extra[1])
	}
	b.Add("job", t.job)
	b.Add("instance", t.instance)
	b.Sort()
	return b.Labels()
}

type sample struct {
	name  string
	extra [2]string
	v     float64
}

func samplesOf(mf *dto.MetricFamily, m *dto.Metric) []sample {
	n := mf.GetName()
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return []sample{{name: n, v: m.GetCounter().GetValue()}}
	case dto.MetricType_GAUGE:
		return []sample{{name: n, v: m.GetGauge().GetValue()}}
	case dto.MetricType_UNTYPED:
		return []sample{{name: n, v: m.GetUntyped().GetValue()}}
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		out := []sample{{name: n + "_sum", v: h.GetSampleSum()}, {name: n + "_count", v: float64(h.GetSampleCount())}}
		for _, b := range h.GetBucket() {
			out = append(out, sample{name: n + "_bucket", extra: [2]string{"le", formatFloat(b.GetUpperBound())}, v: float64(b.GetCumulativeCount())})
		}
		return append(out, sample{name: n + "_bucket", extra: [2]string{"le", "+Inf"}, v: float64(h.GetSampleCount())})
	case dto.MetricType_SUMMARY:
		s := m.GetSummary()
		out := []sample{{name: n + "_sum", v: s.GetSampleSum()}, {name: n + "_count", v: float64(s.GetSampleCount())}}
		for _, q := range s.GetQuantile() {
			out = append(out, sample{name: n, extra: [2]string{"quantile", formatFloat(q.GetQuantile())}, v: q.GetValue()})
		}
		return out
	}
	return nil
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Evaluate runs every rule group due at ts and returns the alerts the
// rule manager sent, as Prometheus's notifier forwards them.
func (p *promServer) Evaluate(ts time.Time) []alerting.Alert {
	p.pending = p.pending[:0]
	for _, g := range p.groups {
		g.Eval(context.Background(), ts)
	}
	return append([]alerting.Alert(nil), p.pending...)
}

// notify converts alerts as Prometheus's sendAlerts does (cmd/prometheus):
// EndsAt is the resolution time or ValidUntil, and the notifier adds the
// external labels.
func (p *promServer) notify(_ context.Context, expr string, alerts ...*rules.Alert) {
	for _, a := range alerts {
		out := alerting.Alert{
			Labels: map[string]string{}, Annotations: a.Annotations.Map(), StartsAt: a.FiredAt,
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=" + url.QueryEscape(expr) + "&g0.tab=1",
		}
		a.Labels.Range(func(l labels.Label) { out.Labels[l.Name] = l.Value })
		p.ext.Range(func(l labels.Label) {
			if _, ok := out.Labels[l.Name]; !ok {
				out.Labels[l.Name] = l.Value
			}
		})
		if !a.ResolvedAt.IsZero() {
			out.EndsAt = a.ResolvedAt
		} else {
			out.EndsAt = a.ValidUntil
		}
		p.pending = append(p.pending, out)
	}
}

// Query evaluates an instant query at ts.
func (p *promServer) Query(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	q, err := p.engine.NewInstantQuery(ctx, p.db, nil, expr, ts)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V}}, nil
	}
	return nil, fmt.Errorf("query %q: unsupported result type %s", expr, res.Value.Type())
}

// ServeHTTP answers /api/v1/query (GET, or POST with a form body as
// client_golang sends it) at the virtual now or the request's `time`, in
// the shape of Prometheus's HTTP API, for the scaler's demand, data-age
// and firing-alert reads.
func (p *promServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/api/v1/query" {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "error": "only /api/v1/query is served"})
		return
	}
	badData := func(err error) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": err.Error()})
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "error": "use GET or POST"})
		return
	}
	ts := p.now()
	if s := r.FormValue("time"); s != "" {
		t, err := parseAPITime(s)
		if err != nil {
			badData(err)
			return
		}
		ts = t
	}
	vec, err := p.Query(r.Context(), r.FormValue("query"), ts)
	if err != nil {
		badData(err)
		return
	}
	type sampleJSON struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	out := make([]sampleJSON, 0, len(vec))
	for _, s := range vec {
		out = append(out, sampleJSON{Metric: s.Metric.Map(), Value: [2]any{float64(ts.UnixMilli()) / 1000, formatFloat(s.F)}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": out}})
}

// parseAPITime reads a `time` parameter as Prometheus does: Unix seconds
// (fractions allowed) or RFC 3339.
func parseAPITime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

func ruleFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.rules.yml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.rules.yml in %s", dir)
	}
	sort.Strings(files)
	return files, nil
}
