package backtest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/aurora-surge/aurora-surge/backtest/alerting"
	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/scaler"
	"github.com/aurora-surge/aurora-surge/scaler/events"
	"github.com/aurora-surge/aurora-surge/sim"
)

// Repo is where the shipped configuration lives: the rules, and the
// monitoring host's Prometheus, Alertmanager, exporter and scaler files.
type Repo struct {
	Rules        string // directory of *.rules.yml
	Prometheus   string // prometheus.yml
	Alertmanager string // alertmanager.yml
	Exporter     string // aurora_exporter.yml (refresh and source settings)
	Scaler       string // aurora_scaler.yml (guardrails; targets come from the scenario)
}

// RepoAt names the shipped files under a checkout's root.
func RepoAt(root string) Repo {
	return Repo{
		Rules:        filepath.Join(root, "rules"),
		Prometheus:   filepath.Join(root, "deploy/prometheus/prometheus.yml"),
		Alertmanager: filepath.Join(root, "deploy/alertmanager/alertmanager.yml"),
		Exporter:     filepath.Join(root, "deploy/aurora_exporter/aurora_exporter.yml"),
		Scaler:       filepath.Join(root, "deploy/aurora_scaler/aurora_scaler.yml"),
	}
}

// surgeLoop is the product on the virtual clock: the exporter's pipeline,
// Prometheus with the shipped rules, Alertmanager's routing and timing,
// and the scaler with its procedures and scheduled events. Everything is
// the binaries' own code; only the clock and the transports differ.
type surgeLoop struct {
	name  string
	emu   *emulator
	fleet Fleet
	log   *slog.Logger

	pipeline  *collector.Pipeline
	prom      *promServer
	promHTTP  *http.Server
	am        *alerting.Manager
	scaler    *scaler.Scaler
	procs     *scaler.Procedures
	events    *events.Service
	sleep     *sleepers
	eventsDir string

	next        map[string]time.Time // next due time per periodic task
	reconciling atomic.Bool          // an event reconcile pass is under way
	actionsMu   sync.Mutex           // the event loop records beside the tick
	ctx         context.Context
	cancel      context.CancelFunc

	webhook       http.Handler // the scaler's handler, built once
	lastEval      time.Time
	seenDecisions map[string]bool
	actions       []Action
}

func newSurgeLoop(name string, emu *emulator, fleet Fleet, repo Repo, params SurgeParams, schedule bool, log *slog.Logger) (*surgeLoop, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &surgeLoop{name: name, emu: emu, fleet: fleet, log: log, ctx: ctx, cancel: cancel, next: map[string]time.Time{}}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()
	awsCfg, err := emu.AWSConfig(ctx, fleet.Region)
	if err != nil {
		return nil, err
	}

	// The exporter: the shipped refresh settings, targets from the scenario.
	expCfg, err := collector.LoadConfig(repo.Exporter)
	if err != nil {
		return nil, err
	}
	expCfg.Targets = []collector.Target{{
		Regions: []string{fleet.Region}, Clusters: collector.Selector{Names: fleet.Clusters()},
		ASGs: collector.Selector{Names: fleet.asgNames()}, Route53Records: fleet.ReadRecordNames(),
	}}
	if l.pipeline, err = collector.NewPipeline(ctx, awsCfg, expCfg, collector.PipelineOptions{Clock: emu.Clock, Log: log, DNSServer: emu.DNS}); err != nil {
		return nil, fmt.Errorf("exporter: %w", err)
	}
	expReg := prometheus.NewRegistry()
	if err := expReg.Register(l.pipeline); err != nil {
		return nil, err
	}

	// Prometheus.
	pcfg, err := LoadPromConfig(repo.Prometheus)
	if err != nil {
		return nil, err
	}
	files, err := ruleFiles(repo.Rules)
	if err != nil {
		return nil, err
	}
	if l.prom, err = newPromServer(pcfg, files, emu.Clock.Now); err != nil {
		return nil, err
	}
	promURL, err := l.servePrometheus()
	if err != nil {
		return nil, err
	}

	// Alertmanager.
	if l.am, err = alerting.Load(repo.Alertmanager); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}

	// The scaler: the shipped guardrails, targets from the scenario.
	scfg, err := scalerConfig(repo.Scaler, fleet, params, promURL, emu.DNS)
	if err != nil {
		return nil, err
	}
	scalerReg := prometheus.NewRegistry()
	l.sleep = newSleepers(emu.Clock)
	if l.eventsDir, err = os.MkdirTemp("", "aurora-backtest-events-"); err != nil {
		return nil, err
	}
	parts, err := scaler.New(ctx, scfg, scaler.PartsOptions{
		AWS: awsCfg, Retry: scaler.RetryPolicy{MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond}, Clock: emu.Clock, Log: log,
		Registerer: scalerReg, EventsFile: filepath.Join(l.eventsDir, "events.json"), DataAge: scaler.Prometheus{URL: promURL},
		Wait: l.sleep.Wait, Poll: 5 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	l.procs, l.events, l.scaler = parts.Procedures, parts.Events, parts.Scaler
	// The event reconciler's calls and drains, as the scaler built them,
	// are recorded as the backtest's actions.
	rc := l.events.Reconciler
	rec := recordingEvents{clients: rc.Clients, now: emu.Clock.Now, record: l.record}
	scaleIn := rc.ScaleIn
	rc.Clients = rec.Clients
	rc.ScaleIn = func(ctx context.Context, cluster string, readers int) error {
		err := scaleIn(ctx, cluster, readers)
		a := Action{At: emu.Clock.Now(), Kind: scaler.ActionRemoveReaders, Target: cluster, From: float64(readers + 1), To: float64(readers),
			Reason: "scheduled event: back to the baseline readers (safe drain)"}
		if err != nil {
			a.Refused = "error: " + err.Error()
		}
		l.record(a)
		return err
	}
	l.webhook = l.scaler.Handler()
	l.prom.addTarget("aurora_exporter", "aurora_exporter:9853", expReg)
	l.prom.addTarget("aurora_scaler", "aurora_scaler:9854", scalerReg)

	if schedule {
		for _, ev := range params.eventsFor(fleet, emu.World.Scenario(), scfg) {
			if _, err := l.events.Add(ctx, ev); err != nil {
				return nil, fmt.Errorf("registering event %s: %w", ev.ID, err)
			}
		}
	}
	ok = true
	return l, nil
}

func (l *surgeLoop) servePrometheus() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	l.promHTTP = &http.Server{Handler: l.prom, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.promHTTP.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

func (l *surgeLoop) Name() string { return l.name }

func (l *surgeLoop) Close() {
	l.cancel()
	if l.procs != nil {
		// Procedures parked on the virtual clock end with the context.
		l.procs.Wait()
	}
	if l.promHTTP != nil {
		_ = l.promHTTP.Close()
	}
	if l.prom != nil {
		l.prom.Close()
	}
	if l.eventsDir != "" {
		_ = os.RemoveAll(l.eventsDir)
	}
}

// due reports whether a periodic task runs at now, and schedules its next
// run; the first run is at the loop's first tick.
func (l *surgeLoop) due(task string, now time.Time, every time.Duration) bool {
	n, ok := l.next[task]
	if ok && now.Before(n) {
		return false
	}
	l.next[task] = now.Add(every)
	return true
}

// Tick runs what is due at now, in the order a real deployment would
// see it within one second: exporter refreshes, scrape, rule evaluation,
// Alertmanager, webhooks to the scaler, event reconciliation, then the
// background procedures up to their next wait.
func (l *surgeLoop) Tick(ctx context.Context, now time.Time) error {
	// Every source the exporter schedules, on its interval, then the
	// discovery refresh DNS asks for, as the exporter's Run does.
	for _, s := range l.pipeline.Schedule() {
		if l.due(s.Source.Name(), now, s.Every) {
			_ = l.pipeline.Runner.RefreshOnce(ctx, s.Source)
		}
	}
	_ = l.pipeline.RefreshTriggered(ctx)
	if l.due("scrape", now, l.prom.cfg.ScrapeInterval) {
		if err := l.prom.Scrape(now); err != nil {
			return err
		}
	}
	if l.due("evaluate", now, l.prom.cfg.EvaluationInterval) {
		alerts := l.prom.Evaluate(now)
		l.lastEval = now
		if len(alerts) > 0 {
			if err := l.am.Put(now, alerts); err != nil {
				// Alertmanager answers 400 for the bad ones and keeps the rest.
				l.log.Warn("alertmanager refused alerts", "err", err)
			}
		}
	}
	for _, n := range l.am.Advance(now) {
		l.deliver(ctx, n)
	}
	// The event loop runs beside the rest, as in the binary: its safe
	// scale-in waits (parked on the clock) inside a reconcile pass.
	if l.due("events", now, 30*time.Second) && l.reconciling.CompareAndSwap(false, true) {
		go func() {
			defer l.reconciling.Store(false)
			if err := l.events.ReconcileAll(ctx); err != nil {
				l.log.Debug("event reconcile", "err", err)
			}
		}()
	}
	l.settle(now)
	l.collectDecisions()
	return nil
}

// deliver hands a notification for the scaler to its webhook handler and
// works what it queued; receivers for people have no webhook here.
func (l *surgeLoop) deliver(ctx context.Context, n alerting.Notification) {
	if !strings.HasSuffix(n.URL, "/webhook") {
		return
	}
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(n.Body)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	l.webhook.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		// Alertmanager would retry; the scaler counts it in its metrics.
		l.log.Warn("the scaler refused a notification", "status", rec.Code, "answer", strings.TrimSpace(rec.Body.String()))
	}
	l.scaler.Drain(ctx)
}

// settle wakes the procedures' due waits one at a time and lets each run
// to its next wait (or its end), so the clock never moves under them.
func (l *surgeLoop) settle(now time.Time) {
	for {
		l.quiesce()
		if !l.sleep.WakeOne(now) {
			return
		}
	}
}

// quiesce returns once every running procedure and the event loop (when
// in a pass) are parked on the clock.
func (l *surgeLoop) quiesce() {
	for {
		busy := l.procs.Running()
		if l.reconciling.Load() {
			busy++
		}
		if busy == l.sleep.Parked() {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func (l *surgeLoop) collectDecisions() {
	ds := l.scaler.Decisions() // newest first; the scaler keeps the last 500
	if l.seenDecisions == nil {
		l.seenDecisions = map[string]bool{}
	}
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if l.seenDecisions[d.ID] {
			continue
		}
		l.seenDecisions[d.ID] = true
		a := Action{At: d.At, Kind: d.Action, Target: d.Target, From: d.From, To: d.To, Reason: d.Reason}
		switch d.Outcome {
		case "act":
		case "noop":
			continue
		default:
			a.Refused = d.Outcome + ": " + d.Reason
		}
		if d.Result != "" && d.Result != "success" && d.Result != scaler.ResultStarted {
			a.Refused = d.Result + ": " + d.Error
		}
		l.record(a)
	}
}

func (l *surgeLoop) record(a Action) {
	l.actionsMu.Lock()
	defer l.actionsMu.Unlock()
	l.actions = append(l.actions, a)
}

func (l *surgeLoop) Actions() []Action {
	l.actionsMu.Lock()
	defer l.actionsMu.Unlock()
	return append([]Action(nil), l.actions...)
}

// scalerConfig is the shipped scaler configuration with its targets
// replaced by the scenario's fleet: the guardrails (cooldowns, windows,
// breaker) and the per-cluster bounds of its first cluster apply to
// every cluster of the scenario.
func scalerConfig(path string, fleet Fleet, p SurgeParams, promURL, dnsServer string) (*scaler.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tmpl := map[string]any{}
	if cs, ok := doc["clusters"].([]any); ok && len(cs) > 0 {
		if m, ok := cs[0].(map[string]any); ok {
			tmpl = m
		}
	}
	var clusters []any
	for _, c := range fleet.ClusterDefs {
		m := map[string]any{}
		for k, v := range tmpl {
			m[k] = v
		}
		m["name"], m["account"], m["region"] = c.ID, fleet.Account, fleet.Region
		delete(m, "read_record")
		delete(m, "drain_custom_endpoint")
		if c.ReadRecord != nil {
			m["read_record"] = map[string]any{"zone_id": c.ReadRecord.ZoneID, "name": c.ReadRecord.Name}
		}
		if p.MaxReaders > 0 {
			m["max_readers"] = p.MaxReaders
		}
		// The max ACU the scale-in returns to is the one the scenario's
		// cluster starts with, not the shipped file's example.
		if _, ok := m["acu_baseline"]; ok && c.MaxACU > 0 {
			m["acu_baseline"] = c.MaxACU
		}
		clusters = append(clusters, m)
	}
	// Each group takes the shipped entry of the same name, else of the
	// same tier (the name's last part: events-web is the web tier), for
	// its target and max step.
	byName, byTier := map[string]map[string]any{}, map[string]map[string]any{}
	if gs, ok := doc["asgs"].([]any); ok {
		for _, g := range gs {
			if m, ok := g.(map[string]any); ok {
				name, _ := m["name"].(string)
				byName[name] = m
				if i := strings.LastIndex(name, "-"); i >= 0 {
					if _, seen := byTier[name[i+1:]]; !seen {
						byTier[name[i+1:]] = m
					}
				}
			}
		}
	}
	var asgs []any
	for _, g := range fleet.ASGs {
		m := map[string]any{}
		tmpl, ok := byName[g.Name]
		if !ok {
			tmpl = byTier[g.Tier]
		}
		for k, v := range tmpl {
			m[k] = v
		}
		m["name"], m["account"], m["region"] = g.Name, fleet.Account, fleet.Region
		asgs = append(asgs, m)
	}
	doc["clusters"], doc["asgs"] = clusters, asgs
	doc["prometheus_url"], doc["dns_server"] = promURL, dnsServer
	for _, k := range []string{"bearer_token_file", "grafana", "accounts"} {
		delete(doc, k)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return scaler.ParseConfig(path+" (targets from the scenario)", out)
}

// SurgeParams are the backtest's choices for the surge policies.
type SurgeParams struct {
	// MaxReaders overrides the shipped per-cluster bound (0: keep it).
	MaxReaders int `yaml:"max_readers" json:"max_readers"`
	// Schedule sizes the event registered ahead for surge+schedule.
	Schedule ScheduleParams `yaml:"schedule" json:"schedule"`
}

// ScheduleParams size a pre-registered event from the scenario's peak,
// as an operator would from the expected audience.
type ScheduleParams struct {
	// ReaderCPUTarget is the reader CPU the event's readers should sit
	// at during the peak, at the event's max ACU.
	ReaderCPUTarget float64 `yaml:"reader_cpu_target" json:"reader_cpu_target"`
	// MaxACU for the event (0: the scaler's acu_ceiling).
	MaxACU float64 `yaml:"max_acu" json:"max_acu"`
	// MinACU for the event: warm capacity at the onset.
	MinACU float64 `yaml:"min_acu" json:"min_acu"`
	// RequestsPerInstance per tier: the ASG capacity the peak needs.
	RequestsPerInstance map[string]float64 `yaml:"requests_per_instance_per_minute" json:"requests_per_instance_per_minute"`
}

// eventsFor sizes one event per cluster from the scenario's peak, as an
// operator registers it ahead through the events API: enough readers to
// hold the peak's reads at ReaderCPUTarget at the event's max ACU, and
// each ASG at the capacity the peak's requests need.
func (p SurgeParams) eventsFor(fleet Fleet, sc *sim.Scenario, scfg *scaler.Config) []events.Event {
	var out []events.Event
	for _, c := range fleet.ClusterDefs {
		t, ok := scfg.Cluster(c.ID, "", "")
		if !ok {
			continue
		}
		maxACU := p.Schedule.MaxACU
		if maxACU == 0 {
			maxACU = t.ACUCeiling
		}
		if maxACU == 0 {
			maxACU = c.MaxACU
		}
		ev := events.Event{ID: "backtest-" + c.ID, Cluster: c.ID, Start: fleet.Onset, End: fleet.End, PeakUsers: int(c.PeakUsers),
			MaxACU: maxACU, MinACU: p.Schedule.MinACU}
		if c.MaxACU == 0 {
			ev.MaxACU, ev.MinACU = 0, 0
		}
		perReader := maxACU * sc.Params.QueriesPerACUSecond * p.Schedule.ReaderCPUTarget
		ev.Readers = min(max(ceilDiv(c.PeakUsers*c.Traffic.ReadsPerUserSecond, perReader), c.Readers), t.MaxReaders)
		for _, g := range fleet.ASGs {
			target := p.Schedule.RequestsPerInstance[g.Tier]
			if g.Cluster != c.ID || target <= 0 {
				continue
			}
			if ev.ASGDesired == nil {
				ev.ASGDesired = map[string]int32{}
			}
			n := ceilDiv(c.PeakUsers*c.Traffic.RequestsPerUserMinute*g.RequestShare, target)
			ev.ASGDesired[g.Name] = int32(min(max(n, g.Desired), g.Max))
		}
		out = append(out, ev)
	}
	return out
}

func ceilDiv(a, b float64) int {
	if b <= 0 {
		return 0
	}
	return int(math.Ceil(a/b - 1e-9))
}

// Firing lists the alerts Prometheus holds firing at its last evaluation,
// read from its ALERTS series like /alerts shows them, sorted.
func (l *surgeLoop) Firing() []string {
	if l.lastEval.IsZero() {
		return nil
	}
	vec, err := l.prom.Query(l.ctx, `ALERTS{alertstate="firing"}`, l.lastEval)
	if err != nil {
		l.log.Warn("reading ALERTS", "err", err)
		return nil
	}
	out := make([]string, 0, len(vec))
	for _, s := range vec {
		m := s.Metric
		target := m.Get("db_cluster")
		if target == "" {
			target = m.Get("asg")
		}
		out = append(out, m.Get("alertname")+"{"+target+"}")
	}
	sort.Strings(out)
	return slices.Compact(out)
}
