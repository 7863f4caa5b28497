package scaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Clock is the scaler's only source of time.
type Clock interface{ Now() time.Time }

// Options wire a Scaler.
type Options struct {
	Config      *Config
	Cloud       Cloud
	Clock       Clock
	Log         *slog.Logger
	Registerer  prometheus.Registerer
	BearerToken string // empty: no bearer check (exporter-toolkit may still guard)
	// DataAge tells the exporter's data age (nil: unknown, so no
	// scale-in); when it is also a DemandSource (Prometheus is) it
	// observes demand, and a SignalSource the firing scale-out alerts.
	// Without a DemandSource every scale-out and scale-in is refused as
	// "demand unknown".
	DataAge     DataAgeSource
	DryRun      bool // or'ed with the config's dry_run
	Paused      bool
	QueueSize   int           // alerts accepted and not yet finished, across targets
	Workers     int           // targets worked on at once by Run (default 8)
	Timeout     time.Duration // per alert: observe, decide, act
	KeepDecided int           // decisions kept for /api/v1/decisions
	// Busy names a procedure running on a target ("" when none): no other
	// change is made to that cluster meanwhile.
	Busy func(target string) string
	// Annotator, when set, marks every decision on Grafana.
	Annotator *Annotator
}

// Scaler receives notifications, queues their alerts per target and
// acts on each target's alerts in the order they arrived; targets are
// worked on concurrently, so a slow AWS service only delays its own.
type Scaler struct {
	cfg     *Config
	cloud   Cloud
	clock   Clock
	log     *slog.Logger
	token   string
	dataAge DataAgeSource
	dryRun  bool
	paused  atomic.Bool
	timeout time.Duration
	busy    func(string) string
	annot   *Annotator
	m       *metrics
	limit   int // QueueSize
	workers int
	wake    chan struct{} // something was queued or a worker finished

	mu        sync.Mutex
	inflight  map[string]bool      // alert keys queued or being processed
	history   map[string][]Event   // actions taken (or, in dry run, simulated) by this process, by target
	simulated map[string]*simState // dry run: what the actions would have changed, by target
	decisions []Decision           // most recent last
	keep      int
	queues    map[string]*targetQueue // by target
	seq       uint64                  // arrival order of queued alerts
	queued    int                     // alerts waiting or being worked on
	active    int                     // targets being worked on
}

// targetQueue holds one target's alerts in arrival order; busy while a
// worker (Run's or Drain) works it, so its alerts are handled one by one.
type targetQueue struct {
	items []item
	busy  bool
}

type item struct {
	req      Request
	received time.Time
	seq      uint64
}

type metrics struct {
	webhooks  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	actions   *prometheus.CounterVec
	latency   prometheus.Histogram
	paused    prometheus.Gauge
	dryRun    prometheus.Gauge
	breaker   *prometheus.GaugeVec
	degraded  prometheus.Counter
	queued    prometheus.Gauge
	workers   prometheus.Gauge
	unknown   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "aurora_scaler", Name: "webhooks_total",
			Help: "Webhook requests by outcome (accepted, duplicate, ignored, unauthorized, malformed, too_large, unknown_target, method_not_allowed, queue_full)."}, []string{"outcome"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "aurora_scaler", Name: "decisions_total",
			Help: "Decisions by action and outcome (act, dry_run, refused, noop)."}, []string{"action", "outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "aurora_scaler", Name: "actions_total",
			Help: "Executed actions by action and outcome (success, error, not_implemented)."}, []string{"action", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "aurora_scaler", Name: "decision_latency_seconds",
			Help:    "Time from receiving a notification to deciding on one of its alerts (live state read included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		paused:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "aurora_scaler", Name: "paused", Help: "1 when the kill switch pauses all actions."}),
		dryRun:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "aurora_scaler", Name: "dry_run", Help: "1 when decisions are recorded but not executed."}),
		breaker:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "aurora_scaler", Name: "breaker_open", Help: "1 when the target reached max_actions_per_hour."}, []string{"target"}),
		degraded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "aurora_scaler", Name: "degraded_notifications_total", Help: "Notifications whose alerts Alertmanager truncated (truncatedAlerts > 0)."}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "aurora_scaler", Name: "queue_length",
			Help: "Alerts accepted and not yet finished, across targets: waiting for their target's worker or being worked on."}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "aurora_scaler", Name: "workers_busy", Help: "Targets being worked on at once."}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "aurora_scaler", Name: "demand_signals_unknown_total",
			Help: "Demand signals a decision asked Prometheus for and could not use (absent, stale, NaN, an error), by signal."}, []string{"signal"}),
	}
	if reg != nil {
		reg.MustRegister(m.webhooks, m.decisions, m.actions, m.latency, m.paused, m.dryRun, m.breaker, m.degraded, m.queued, m.workers, m.unknown)
	}
	return m
}

// newScaler builds a Scaler (New wires it); Run (or Drain) works its queue.
func newScaler(o Options) *Scaler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.KeepDecided <= 0 {
		o.KeepDecided = 500
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	s := &Scaler{
		cfg: o.Config, cloud: o.Cloud, clock: o.Clock, log: o.Log, token: o.BearerToken, dataAge: o.DataAge,
		dryRun: o.DryRun || o.Config.DryRun, timeout: o.Timeout, busy: o.Busy, annot: o.Annotator, m: newMetrics(o.Registerer),
		limit: o.QueueSize, workers: o.Workers, wake: make(chan struct{}, 1), queues: map[string]*targetQueue{},
		inflight: map[string]bool{}, history: map[string][]Event{}, simulated: map[string]*simState{}, keep: o.KeepDecided,
	}
	if pe, ok := o.Cloud.(interface{ OnProcedureEnd(func(ProcedureEnd)) }); ok {
		pe.OnProcedureEnd(s.procedureEnded)
	}
	s.SetPaused(o.Paused)
	if s.dryRun {
		s.m.dryRun.Set(1)
	}
	return s
}

// SetPaused is the kill switch.
func (s *Scaler) SetPaused(p bool) {
	s.paused.Store(p)
	if p {
		s.m.paused.Set(1)
	} else {
		s.m.paused.Set(0)
	}
}

func (s *Scaler) Paused() bool { return s.paused.Load() }

// enqueue queues the alerts not already queued or being worked on
// (concurrent copies of a notification queue once) on their targets'
// queues; full when they do not fit in QueueSize, and then none is queued.
func (s *Scaler) enqueue(reqs []Request, received time.Time) (fresh []Request, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range reqs {
		if k := r.Key(); !s.inflight[k] && !seen[k] {
			seen[k] = true
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return nil, false
	}
	if s.queued+len(fresh) > s.limit {
		return nil, true
	}
	for _, r := range fresh {
		s.inflight[r.Key()] = true
		q := s.queues[r.Target()]
		if q == nil {
			q = &targetQueue{}
			s.queues[r.Target()] = q
		}
		s.seq++
		q.items = append(q.items, item{req: r, received: received, seq: s.seq})
	}
	s.queued += len(fresh)
	s.m.queued.Set(float64(s.queued))
	s.signal()
	return fresh, false
}

func (s *Scaler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next takes the head of the idle target whose head arrived first and
// marks that target busy; ok is false when no idle target has work.
func (s *Scaler) next() (string, item, bool) {
	var best string
	var bestSeq uint64
	for t, q := range s.queues {
		if !q.busy && len(q.items) > 0 && (best == "" || q.items[0].seq < bestSeq) {
			best, bestSeq = t, q.items[0].seq
		}
	}
	if best == "" {
		return "", item{}, false
	}
	return best, s.queues[best].take(), true
}

// take removes the queue's head and marks the target busy.
func (q *targetQueue) take() item {
	it := q.items[0]
	q.items = q.items[1:]
	q.busy = true
	return it
}

// done finishes an alert taken by next and frees its target.
func (s *Scaler) done(target string, it item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, it.req.Key())
	s.queued--
	s.m.queued.Set(float64(s.queued))
	q := s.queues[target]
	q.busy = false
	if len(q.items) == 0 {
		delete(s.queues, target)
	}
}

// Decisions returns the recent decisions, newest first.
func (s *Scaler) Decisions() []Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Decision, len(s.decisions))
	for i, d := range s.decisions {
		out[len(out)-1-i] = d
	}
	return out
}

// Pending is the number of alerts queued or being worked on.
func (s *Scaler) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

// Run works the queues until ctx ends: one worker per target with
// alerts (at most Options.Workers at once), each working its target's
// alerts in arrival order.
func (s *Scaler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		s.mu.Lock()
		for s.active < s.workers {
			target, it, ok := s.next()
			if !ok {
				break
			}
			s.active++
			s.m.workers.Set(float64(s.active))
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.work(ctx, target, it)
				s.mu.Lock()
				s.active--
				s.m.workers.Set(float64(s.active))
				s.mu.Unlock()
				s.signal()
			}()
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// work handles it and then the rest of its target's queue.
func (s *Scaler) work(ctx context.Context, target string, it item) {
	for {
		s.handle(ctx, it.req, it.received)
		s.done(target, it)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		q := s.queues[target]
		if q == nil || q.busy || len(q.items) == 0 {
			s.mu.Unlock()
			return
		}
		it = q.take()
		s.mu.Unlock()
	}
}

// Drain works, in the calling goroutine, every alert queued on a target
// no other worker holds, in arrival order (so each target's in its
// order), and returns how many it handled; tests and the backtest call it
// instead of Run to stay deterministic.
func (s *Scaler) Drain(ctx context.Context) int {
	n := 0
	for {
		s.mu.Lock()
		target, it, ok := s.next()
		s.mu.Unlock()
		if !ok {
			return n
		}
		s.handle(ctx, it.req, it.received)
		s.done(target, it)
		n++
	}
}

func (s *Scaler) policy() Policy {
	c := s.cfg
	return Policy{
		ScaleOutCooldown: c.Cooldowns.ScaleOut, ScaleInCooldown: c.Cooldowns.ScaleIn,
		MaxActionsPerHour: c.MaxActionsPerHour, MaxDataAge: c.MaxDataAge, Paused: s.Paused(), DryRun: s.dryRun,
	}
}

// handle observes, decides, acts and records one alert. A replay needs
// no memory of alerts: the same demand gives the same desired state,
// and that is a no-op.
func (s *Scaler) handle(parent context.Context, r Request, received time.Time) {
	ctx, cancel := context.WithTimeout(parent, s.timeout)
	defer cancel()
	in := Input{Req: r, Policy: s.policy()}
	if r.Status == StatusFiring && !in.Policy.Paused {
		s.observe(ctx, r, &in)
	}
	in.History = s.historyFor(r.Target(), in.ClusterState, in.ASGState)
	in.Now = s.clock.Now()
	d := Decide(in)
	if d.Outcome == OutcomeAct && s.busy != nil {
		if proc := s.busy(r.Target()); proc != "" {
			d.Outcome, d.Reason = OutcomeRefused, fmt.Sprintf("%s in progress on %s: one change per cluster at a time", proc, r.Target())
		}
	}
	switch d.Outcome {
	case OutcomeAct:
		err := s.cloud.Execute(ctx, d)
		switch {
		case err == nil:
			d.Result = "success"
			s.remember(r, d)
		case errors.Is(err, ErrStarted):
			// A background procedure: procedureEnded completes the result.
			d.Result = ResultStarted
			s.remember(r, d)
		case errors.Is(err, ErrNotImplemented):
			d.Result, d.Error = "not_implemented", err.Error()
		default:
			d.Result, d.Error = "error", err.Error()
		}
		s.m.actions.WithLabelValues(d.Action, d.Result).Inc()
	case OutcomeDryRun:
		// What the live scaler would have done becomes the state the
		// next dry-run decision sees, so a repeat is a no-op there too.
		d.Result = ResultSimulated
		s.simulate(d)
		s.remember(r, d)
	}
	s.record(d, received)
	s.updateBreaker(r.Target(), s.historyFor(r.Target(), in.ClusterState, in.ASGState))
}

// observe fills in what the decision depends on: the target's live state
// from AWS (with the dry run's simulated changes over it), current demand,
// and for a scale-in the data age and the firing scale-out signals.
func (s *Scaler) observe(ctx context.Context, r Request, in *Input) {
	switch r.Kind {
	case "cluster":
		in.Cluster, _ = s.cfg.Cluster(r.Name, r.Account, r.Region)
		in.ClusterState, in.StateErr = s.cloud.Cluster(ctx, r.Account, r.Region, r.Name)
	case "asg":
		in.ASG, _ = s.cfg.ASG(r.Name, r.Account, r.Region)
		in.ASGState, in.StateErr = s.cloud.ASG(ctx, r.Account, r.Region, r.Name)
	}
	if s.dryRun {
		s.overlay(r.Target(), in.ClusterState, in.ASGState)
	}
	if ds, ok := s.dataAge.(DemandSource); ok {
		in.Observation = ds.Observe(ctx, r, s.cfg.StabilizationWindow)
		in.Observation.At = s.clock.Now()
		if len(in.Observation.Errors) > 0 {
			s.log.Warn("demand partly unknown", "target", r.Target(), "errors", in.Observation.Errors)
			for sig := range in.Observation.Errors {
				s.m.unknown.WithLabelValues(sig).Inc()
			}
		}
	}
	if r.Direction != DirIn || s.dataAge == nil {
		return
	}
	if age, err := s.dataAge.DataAge(ctx, r.Account, r.Region, r.Name); err == nil {
		in.DataAge, in.DataAgeKnown = age, true
	} else {
		s.log.Warn("exporter data age unknown", "target", r.Target(), "err", err)
	}
	var firing []string
	var err error
	if sig, ok := s.dataAge.(ASGSignalSource); ok && r.Kind == "asg" {
		firing, err = sig.ScaleOutFiringASG(ctx, r.Account, r.Region, r.Name)
	} else if sig, ok := s.dataAge.(SignalSource); ok && r.Kind == "cluster" {
		firing, err = sig.ScaleOutFiring(ctx, r.Account, r.Region, r.Name)
	} else {
		return // no source of the target's signals: unknown, so no scale-in
	}
	if err != nil {
		s.log.Warn("firing scale-out signals unknown", "target", r.Target(), "err", err)
		return
	}
	in.ScaleOutFiring, in.SignalsKnown = firing, true
}

// historyFor merges what AWS says (tags of scaler-made readers) with what
// this process did, so a restarted or second replica sees the readers'
// cooldowns and breaker counts too.
func (s *Scaler) historyFor(target string, cs *ClusterState, as *ASGState) []Event {
	var out, recorded []Event
	seen := map[string]bool{}
	// Changes recorded in AWS itself: readers' tags (one event per
	// decision), the cluster's last max ACU change and the group's
	// scaling activities.
	if cs != nil {
		byID := map[string]*Event{}
		for _, in := range cs.Instances {
			if !in.Managed || in.DecisionID == "" || in.DecidedAt.IsZero() {
				continue
			}
			e := byID[in.DecisionID]
			if e == nil {
				e = &Event{DecisionID: in.DecisionID, Dimension: DimReaders, Direction: DirOut, At: in.DecidedAt, From: float64(in.From), To: float64(in.From)}
				byID[in.DecisionID] = e
			}
			e.To++
		}
		for id, e := range byID {
			seen[id] = true
			out = append(out, *e)
		}
		recorded = append(recorded, cs.History...)
	}
	if as != nil {
		recorded = append(recorded, as.History...)
	}
	s.mu.Lock()
	mine := append([]Event(nil), s.history[target]...)
	s.mu.Unlock()
	for _, e := range recorded {
		if !seen[e.DecisionID] && !sameChange(e, mine) {
			seen[e.DecisionID] = true
			out = append(out, e)
		}
	}
	for _, e := range mine {
		if !seen[e.DecisionID] {
			out = append(out, e)
		}
	}
	return out
}

// sameChange reports whether this process remembers a change AWS also
// recorded (a scaling activity has its own id, not the decision's).
func sameChange(e Event, mine []Event) bool {
	for _, m := range mine {
		d := e.At.Sub(m.At)
		if m.Dimension == e.Dimension && m.From == e.From && m.To == e.To && d > -time.Minute && d < time.Minute {
			return true
		}
	}
	return false
}

func (s *Scaler) remember(r Request, d Decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := r.Target()
	h := append(s.history[t], Event{DecisionID: d.ID, Dimension: d.Dimension, Direction: d.Direction, At: d.At, From: d.From, To: d.To})
	// Nothing older than a day matters to any guardrail.
	for len(h) > 0 && d.At.Sub(h[0].At) > 24*time.Hour {
		h = h[1:]
	}
	s.history[t] = h
}

func (s *Scaler) updateBreaker(target string, h []Event) {
	v := 0.0
	if BreakerOpen(s.clock.Now(), h, s.cfg.MaxActionsPerHour) {
		v = 1
	}
	s.m.breaker.WithLabelValues(target).Set(v)
}

func (s *Scaler) record(d Decision, received time.Time) {
	s.m.decisions.WithLabelValues(d.Action, d.Outcome).Inc()
	s.m.latency.Observe(max(d.At.Sub(received), 0).Seconds())
	if s.fold(d) {
		s.log.Debug("decision folded into the previous identical no-op", "id", d.ID, "action", d.Action, "target", d.Target, "reason", d.Reason)
		return
	}
	d.Count = 1
	s.log.Log(context.Background(), d.logLevel(), "decision", "id", d.ID, "action", d.Action, "target", d.Target, "account", d.Account,
		"region", d.Region, "alertname", d.AlertName, "fingerprint", d.Fingerprint, "starts_at", d.StartsAt, "outcome", d.Outcome,
		"reason", d.Reason, "from", d.From, "to", d.To, "instances", d.Instances, "result", d.Result, "err", d.Error,
		"desired", d.Desired, "observation", d.Observation)
	if s.annot != nil {
		s.annot.Add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decisions = append(s.decisions, d)
	if len(s.decisions) > s.keep {
		s.decisions = s.decisions[len(s.decisions)-s.keep:]
	}
}

// logLevel is error for a decision whose action failed, info otherwise.
func (d Decision) logLevel() slog.Level {
	if d.Result == "error" {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// procedureEnded completes the decision that started a procedure with
// the procedure's real outcome.
func (s *Scaler) procedureEnded(e ProcedureEnd) {
	s.mu.Lock()
	var d Decision
	found := false
	for i := len(s.decisions) - 1; i >= 0; i-- {
		if p := &s.decisions[i]; p.ID == e.DecisionID && p.Result == ResultStarted {
			p.Result, p.Error, p.EndedAt = e.Outcome, e.Error, e.At
			d, found = *p, true
			break
		}
	}
	s.mu.Unlock()
	if !found {
		return // another replica's decision, or one no longer kept
	}
	s.log.Log(context.Background(), d.logLevel(), "decision's procedure ended", "id", d.ID, "action", d.Action, "target", d.Target,
		"procedure", e.Procedure, "result", d.Result, "err", d.Error)
	if s.annot != nil {
		s.annot.Add(d)
	}
}

// fold counts a no-op into the newest decision of its target when that
// one is the same no-op (action, outcome, reason): repeated copies of an
// alert would otherwise push every other decision out of the list.
func (s *Scaler) fold(d Decision) bool {
	if d.Outcome != OutcomeNoop {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.decisions) - 1; i >= 0; i-- {
		p := &s.decisions[i]
		if p.Target != d.Target {
			continue
		}
		if p.Action != d.Action || p.Outcome != d.Outcome || p.Reason != d.Reason {
			return false
		}
		p.Count++
		p.LastAt = d.At
		return true
	}
	return false
}

// String helps logs of the configuration at start.
func (s *Scaler) String() string {
	return fmt.Sprintf("scaler{clusters: %d, asgs: %d, dry_run: %v, paused: %v}", len(s.cfg.Clusters), len(s.cfg.ASGs), s.dryRun, s.Paused())
}
