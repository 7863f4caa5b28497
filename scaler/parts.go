package scaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/scaler/events"
	"github.com/aurora-surge/aurora-surge/scaler/procedure"
)

// PartsOptions are the process-level choices the scaler is built with
// (flags in the command, fixed values in tests and the backtest).
type PartsOptions struct {
	// AWS is the base SDK configuration (its HTTPClient wrapped with
	// awshttp.Wrap by the caller); the config's accounts: add roles.
	AWS   aws.Config
	Retry RetryPolicy // zero: DefaultRetryPolicy
	Clock Clock       // nil: the system clock
	Log   *slog.Logger
	// Registerer gets the scaler's, the procedures' and the events'
	// metrics (nil: not registered).
	Registerer  prometheus.Registerer
	BearerToken string // empty: no bearer check
	DryRun      bool   // or'ed with the config's dry_run
	Paused      bool
	// EventsFile holds the registered events (events.OpenStore).
	EventsFile string
	// EventsInterval is how often Run applies due event steps (default 30s).
	EventsInterval time.Duration
	// DataAge overrides the Prometheus at the config's prometheus_url
	// (nil: that one, or none without prometheus_url).
	DataAge DataAgeSource
	// Procedures' clock-dependent parts, injected so tests and the
	// backtest run them on a virtual clock; zero values are the
	// production defaults (NewProcedures).
	Resolver procedure.Resolver
	Wait     func(context.Context, time.Duration) error
	Poll     time.Duration
	Holder   string
	LeaseTTL time.Duration
}

// Parts are one configuration's scaler, wired: the AWS adapter, the
// procedures runner that uses it, the events service, the Grafana
// annotator and the Scaler that acts through the adapter and the runner.
// Only the adapter talks to AWS; the runner holds the adapter, never the
// other way round.
type Parts struct {
	Config     *Config
	AWS        *AWS
	Procedures *Procedures
	Events     *events.Service
	Annotator  *Annotator // nil without grafana:
	Scaler     *Scaler

	log         *slog.Logger
	eventsEvery time.Duration
}

// New builds the scaler's parts from a validated configuration. It makes
// no AWS call: VerifyAccounts on Parts.AWS before Run checks the
// credentials.
func New(ctx context.Context, cfg *Config, o PartsOptions) (*Parts, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.EventsInterval <= 0 {
		o.EventsInterval = 30 * time.Second
	}
	if o.EventsFile == "" {
		return nil, errors.New("scaler: no events file")
	}
	p := &Parts{Config: cfg, log: o.Log, eventsEvery: o.EventsInterval}
	p.AWS = NewAWS(o.AWS, o.Retry)
	p.AWS.UseAccounts(cfg.Accounts)
	p.AWS.Log = o.Log
	var err error
	if p.Procedures, err = NewProcedures(ctx, ProcedureOptions{Config: cfg, AWS: p.AWS, Resolver: o.Resolver, Wait: o.Wait, Poll: o.Poll,
		Log: o.Log, Registerer: o.Registerer, Clock: o.Clock, Holder: o.Holder, LeaseTTL: o.LeaseTTL}); err != nil {
		return nil, fmt.Errorf("procedures: %w", err)
	}
	if p.Events, err = newEventsService(cfg, o, p.AWS, p.Procedures); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if g := cfg.Grafana; g != nil {
		key := ""
		if g.APIKeyFile != "" {
			if key, err = ReadBearerToken(g.APIKeyFile); err != nil {
				return nil, fmt.Errorf("grafana api key: %w", err)
			}
		}
		if p.Annotator, err = NewAnnotator(g.URL, key, o.Log, o.Registerer); err != nil {
			return nil, fmt.Errorf("grafana: %w", err)
		}
	}
	so := Options{
		Config: cfg, Cloud: withProcedures(p.AWS, p.Procedures), Busy: p.Procedures.Busy, Annotator: p.Annotator,
		Clock: o.Clock, Log: o.Log, Registerer: o.Registerer, BearerToken: o.BearerToken, DryRun: o.DryRun, Paused: o.Paused,
		DataAge: o.DataAge,
	}
	if so.DataAge == nil && cfg.PrometheusURL != "" {
		so.DataAge = Prometheus{URL: cfg.PrometheusURL}
	}
	p.Scaler = newScaler(so)
	return p, nil
}

// newEventsService opens the events store and acts on events through
// the adapter's clients, draining readers through the procedures.
func newEventsService(cfg *Config, o PartsOptions, cloud *AWS, procs *Procedures) (*events.Service, error) {
	store, err := events.OpenStore(o.EventsFile)
	if err != nil {
		return nil, err
	}
	svc := &events.Service{
		Store: store,
		Reconciler: &events.Reconciler{Clients: cloud.EventClients(cfg), Clock: o.Clock, Leads: events.DefaultLeads(), Log: o.Log,
			ScaleIn: procs.ScaleIn},
		Limits: cfg.EventLimits,
		Scope: func(c string) (string, string) {
			if t, ok := cfg.Cluster(c, "", ""); ok {
				return t.Account, t.Region
			}
			return "", ""
		},
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(svc); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// Acting reports whether changes are made now: neither paused nor dry run
// (the Scaler's, the flag or'ed with the config's dry_run).
func (p *Parts) Acting() bool { return !p.Scaler.Paused() && !p.Scaler.dryRun }

// Run starts the background work until ctx ends: the Scaler's workers,
// the annotator, the drains a previous process left (only when acting:
// a paused or dry-run scaler changes nothing) and the events loop.
func (p *Parts) Run(ctx context.Context) {
	go p.Scaler.Run(ctx)
	if p.Annotator != nil {
		go p.Annotator.Run(ctx)
	}
	if p.Acting() {
		// A drain a previous process left is finished (or rolled back)
		// before anything else touches the cluster.
		p.Procedures.Resume(ctx)
	} else {
		p.log.Warn("paused or dry run: interrupted drains are not resumed and event steps are not applied until resumed")
	}
	go p.Events.Run(ctx, p.eventsEvery, p.Acting)
}

// Handler serves the scaler's API: /webhook, /api/v1/decisions, pause and
// resume, /api/v1/events and /api/v1/writer (changes behind the bearer
// token and the kill switch).
func (p *Parts) Handler() http.Handler {
	mux := http.NewServeMux()
	api := p.Scaler.Handler()
	mux.Handle("/webhook", api)
	mux.Handle("/api/v1/", api)
	eventsAPI := p.Scaler.RequireAuth(p.Events.Handler())
	mux.Handle("/api/v1/events", eventsAPI)
	mux.Handle("/api/v1/events/", eventsAPI)
	mux.Handle("/api/v1/writer", p.Scaler.RequireAuth(p.Procedures.WriterHandler()))
	return mux
}

// procedureCloud is the Cloud the Scaler acts through: one-call changes
// go to the AWS adapter, remove_readers starts the procedures runner's
// drain, whose end completes the decision (OnProcedureEnd).
type procedureCloud struct {
	*AWS
	procs *Procedures
}

func withProcedures(a *AWS, p *Procedures) procedureCloud { return procedureCloud{AWS: a, procs: p} }

func (c procedureCloud) Execute(ctx context.Context, d Decision) error {
	if d.Action != ActionRemoveReaders {
		return c.AWS.Execute(ctx, d)
	}
	// The drain-then-delete procedure reports its own outcome
	// (aurora_scaler_procedures_total, OnProcedureEnd) when done.
	if err := c.procs.StartScaleIn(d); err != nil {
		return err
	}
	return ErrStarted
}

func (c procedureCloud) OnProcedureEnd(fn func(ProcedureEnd)) { c.procs.OnProcedureEnd(fn) }
