// Package backtest plays a scenario through the whole loop on one virtual
// clock: aurora_sim's world, the exporter's pipeline, Prometheus's rule
// manager and PromQL engine on an in-memory TSDB with the shipped rules,
// Alertmanager's routing and timing, and the scaler with its procedures
// and scheduled events. The same scenario and seed run once per policy,
// the product's and the ones users would pick instead, and the report
// compares what each did and what the users got.
package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Policies the backtest knows, in report order.
var Policies = []string{"none", "aws-target-tracking", "field", "surge", "surge+schedule"}

// Options choose a run.
type Options struct {
	Scenario *sim.Scenario
	Policies []string
	Seed     int64
	Repo     Repo
	// Params is the policies' parameter file ("" = the embedded default).
	Params string
	// After is how long the run goes on after the event's end, to see
	// idle capacity go (default 30 min).
	After time.Duration
	// Lead is the least time between the run's start and the onset
	// (default 30 min): the scenario is shifted later when it starts
	// closer, so a schedule registered at the start is ahead of the
	// event as an operator's would be. Every policy gets the same shift.
	Lead time.Duration
	// SampleEvery is the ground-truth sampling interval (default 10 s).
	SampleEvery time.Duration
	Log         *slog.Logger
	// Progress, when set, is called for the named policy once per
	// simulated minute (the demo's live view), from the run's goroutine.
	Progress       func(Frame)
	ProgressPolicy string
	// Fresh turns Enhanced Monitoring and Performance Insights on in the
	// scenario's fleet before the worlds start (zero: as the scenario
	// says).
	Fresh FreshSources
}

// Frame is one minute of the live view.
type Frame struct {
	Policy     string
	At         time.Time
	SinceOnset time.Duration
	Sample     Sample
	Firing     []string
	Actions    []Action // taken in this minute
}

// Result is a run: the report and what the plot and the live view need.
type Result struct {
	Report    Report
	Timelines map[string][]Sample
	Actions   map[string][]Action
	Fleet     Fleet
}

// controller is a policy running on the virtual clock.
type controller interface {
	Name() string
	Tick(ctx context.Context, now time.Time) error
	Actions() []Action
	Close()
}

// Run plays the scenario once per policy, concurrently, each in its own
// world.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.After == 0 {
		o.After = 30 * time.Minute
	}
	if o.SampleEvery == 0 {
		o.SampleEvery = 10 * time.Second
	}
	if o.Lead == 0 {
		o.Lead = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if len(o.Policies) == 0 {
		o.Policies = Policies
	}
	params, err := LoadParams(o.Params)
	if err != nil {
		return nil, err
	}
	if err := o.Fresh.Validate(); err != nil {
		return nil, err
	}
	sc := withLead(o.Scenario, o.Lead)
	if o.Seed != 0 {
		sc.Params.Seed = o.Seed
	}
	if sc.Start.IsZero() {
		// A fixed start: the same inputs give the same report.
		sc.Start = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	}
	res := &Result{Timelines: map[string][]Sample{}, Actions: map[string][]Action{}}
	reports := make([]PolicyReport, len(o.Policies))
	errs := make([]error, len(o.Policies))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, name := range o.Policies {
		wg.Add(1)
		// Each world gets its own copy: starting one fills the scenario's
		// placeholders in.
		own, err := copyScenario(&sc)
		if err != nil {
			return nil, err
		}
		o.Fresh.apply(own)
		go func() {
			defer wg.Done()
			tl, actions, fleet, event, err := runPolicy(ctx, own, name, params, o)
			if err != nil {
				errs[i] = fmt.Errorf("policy %s: %w", name, err)
				return
			}
			reports[i] = summarize(name, fleet, tl, o.SampleEvery, actions, event)
			mu.Lock()
			res.Timelines[name], res.Actions[name], res.Fleet = tl, actions, fleet
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	res.Report = Report{Scenario: sc.Name, Seed: sc.Params.Seed, Start: sc.Start, Onset: res.Fleet.Onset, EventEnd: res.Fleet.End,
		Stop: res.Fleet.End.Add(o.After), Policies: reports, Targets: checkTargets(reports)}
	if o.Fresh.On() {
		fresh := o.Fresh
		res.Report.FreshSources = &fresh
	}
	return res, nil
}

func copyScenario(sc *sim.Scenario) (*sim.Scenario, error) {
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	out := &sim.Scenario{}
	return out, json.Unmarshal(b, out)
}

// withLead copies the scenario with its events and faults shifted so the
// earliest onset is at least lead after the start.
func withLead(in *sim.Scenario, lead time.Duration) sim.Scenario {
	sc := *in
	earliest := time.Duration(-1)
	for _, f := range sc.Fleets {
		if earliest < 0 || f.Traffic.EventStart < earliest {
			earliest = f.Traffic.EventStart
		}
	}
	shift := lead - earliest
	if earliest < 0 || shift <= 0 {
		return sc
	}
	sc.Fleets = append([]sim.FleetDef(nil), sc.Fleets...)
	for i := range sc.Fleets {
		sc.Fleets[i].Traffic.EventStart += shift
	}
	sc.Faults = append([]sim.FaultDef(nil), sc.Faults...)
	for i := range sc.Faults {
		sc.Faults[i].At += shift
	}
	return sc
}

// runPolicy plays one policy; besides the timeline and the actions it
// returns the applications' queries between the onset and the event's
// end, for the latency percentile.
func runPolicy(ctx context.Context, sc *sim.Scenario, name string, params *Params, o Options) ([]Sample, []Action, Fleet, sim.AppStats, error) {
	var atOnset, event sim.AppStats
	emu, err := startEmulator(sc, sc.Start)
	if err != nil {
		return nil, nil, Fleet{}, event, err
	}
	defer emu.Close()
	fleet, err := fleetOf(emu.World)
	if err != nil {
		return nil, nil, Fleet{}, event, err
	}
	ctrl, every, err := newController(ctx, name, emu, fleet, params, o)
	if err != nil {
		return nil, nil, fleet, event, err
	}
	defer ctrl.Close()
	stop := fleet.End.Add(o.After)
	var tl []Sample
	step := time.Second
	seenActions := 0
	var firing func() []string
	if s, ok := ctrl.(*surgeLoop); ok {
		firing = s.Firing
	}
	for t := sc.Start; !t.After(stop); t = t.Add(step) {
		if err := ctx.Err(); err != nil {
			return nil, nil, fleet, event, err
		}
		emu.Clock.Set(t)
		emu.World.Sync()
		if t.Sub(sc.Start)%every == 0 {
			if err := ctrl.Tick(ctx, t); err != nil {
				return nil, nil, fleet, event, fmt.Errorf("at %s: %w", t.Format(time.RFC3339), err)
			}
		}
		if t.Equal(fleet.Onset) {
			atOnset = appStats(emu.World, fleet)
		}
		if t.Equal(fleet.End) {
			event = appStats(emu.World, fleet).Sub(atOnset)
		}
		if t.Sub(sc.Start)%o.SampleEvery == 0 {
			tl = append(tl, observe(emu.World, fleet))
		}
		if o.Progress != nil && name == o.ProgressPolicy && t.Sub(sc.Start)%time.Minute == 0 {
			acts := ctrl.Actions()
			f := Frame{Policy: name, At: t, SinceOnset: t.Sub(fleet.Onset), Sample: tl[len(tl)-1], Actions: acts[seenActions:]}
			seenActions = len(acts)
			if firing != nil {
				f.Firing = firing()
			}
			o.Progress(f)
		}
	}
	return tl, ctrl.Actions(), fleet, event, nil
}

// newController builds a policy and says how often it is ticked: the
// product every second (its parts keep their own intervals), the
// CloudWatch-alarm policies every 10 s.
func newController(ctx context.Context, name string, emu *emulator, fleet Fleet, params *Params, o Options) (controller, time.Duration, error) {
	switch name {
	case "surge", "surge+schedule":
		l, err := newSurgeLoop(name, emu, fleet, o.Repo, params.Surge, name == "surge+schedule", o.Log)
		return l, time.Second, err
	}
	c, err := newBaseline(ctx, name, emu, fleet, params, o.Log)
	return c, 10 * time.Second, err
}
