package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/internal/dnsq"
)

// PipelineOptions are the process-level choices a pipeline is built with
// (flags in the command, fixed values in tests).
type PipelineOptions struct {
	Clock Clock
	Log   *slog.Logger
	// Enabled filters scrapers by name; nil enables all.
	Enabled func(name string) bool
	// DNSServer overrides the config's DNS server (--dns.server).
	DNSServer string
}

// Pipeline is one configuration's running parts: the clients, the sources
// that refresh in the background and the exporter that serves them. The
// command swaps pipelines whole on reload.
type Pipeline struct {
	Config     *Config
	Runner     *Runner
	Discovery  *Discovery
	CloudWatch *CloudWatchSource
	DNS        *DNSSource // nil when the dns scraper is disabled
	// The fresh sources; nil when off in the config or when every family
	// they feed (os_cpu, db_load, fresh_signal) is disabled.
	EnhancedMonitoring  *EnhancedMonitoringSource
	PerformanceInsights *PerformanceInsightsSource
	Exporter            *Exporter
	// Trigger refreshes discovery when DNS is ahead of it.
	Trigger *DiscoveryTrigger

	clock   Clock
	log     *slog.Logger
	render  renderer
	running atomic.Bool
}

// NewPipeline resolves clients (assume-role and STS account lookups happen
// here, bounded by the refresh timeout) and assembles the sources.
func NewPipeline(ctx context.Context, awsCfg aws.Config, cfg *Config, o PipelineOptions) (*Pipeline, error) {
	if o.Clock == nil {
		o.Clock = RealClock
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	initCtx, cancel := context.WithTimeout(ctx, cfg.Refresh.Timeout)
	clients, err := NewClientSet(initCtx, awsCfg, cfg.Targets)
	cancel()
	if err != nil {
		return nil, err
	}
	var scrapers []Scraper
	var planners []QueryPlanner
	dnsEnabled, freshEnabled := false, false
	for _, s := range AllScrapers(cfg.CloudWatch.Period) {
		if o.Enabled != nil && !o.Enabled(s.Name()) {
			continue
		}
		scrapers = append(scrapers, s)
		planners = append(planners, s)
		dnsEnabled = dnsEnabled || s.Name() == "dns"
		freshEnabled = freshEnabled || s.Name() == "os_cpu" || s.Name() == "db_load" || s.Name() == "fresh_signal"
	}
	p := &Pipeline{Config: cfg, Runner: NewRunner(o.Clock, o.Log, cfg.Refresh.Timeout), clock: o.Clock, log: o.Log}
	p.Discovery = NewDiscovery(clients, o.Clock)
	p.Trigger = NewDiscoveryTrigger(o.Clock, cfg.Refresh.DiscoveryTriggerMinInterval)
	p.CloudWatch = NewCloudWatchSource(clients, p.Discovery, planners, cfg.CloudWatch, o.Clock)
	if dnsEnabled {
		server := o.DNSServer
		if server == "" {
			server = cfg.DNS.Server
		}
		if server == "" {
			if server, err = dnsq.SystemNameserver(); err != nil {
				return nil, fmt.Errorf("dns: %w (set --dns.server)", err)
			}
		}
		p.DNS = NewDNSSource(p.Discovery, dnsq.Resolver{Server: server, Timeout: cfg.DNS.Timeout}, cfg.DNS.Samples, o.Clock)
		p.DNS.OnUnknownInstances(func(ids []string) {
			if p.Trigger.Request(ids) {
				o.Log.Debug("DNS answers instances discovery does not know as serving; refreshing discovery", "db_instances", ids)
			}
		})
	}
	if freshEnabled && cfg.EnhancedMonitoring.Enabled {
		p.EnhancedMonitoring = NewEnhancedMonitoringSource(clients, p.Discovery, cfg.EnhancedMonitoring, o.Clock)
	}
	if freshEnabled && cfg.PerformanceInsights.Enabled {
		pio := PerformanceInsightsOptions{
			Clients: clients, Discovery: p.Discovery, Config: cfg.PerformanceInsights,
			FreshInterval: cfg.Refresh.PerformanceInsights, Clock: o.Clock,
			// A document older than the exporter serves no longer counts.
			EMMaxAge: min(cfg.EnhancedMonitoring.Window, cfg.Refresh.StaleAfter),
		}
		if p.EnhancedMonitoring != nil {
			pio.EnhancedMonitoring = p.EnhancedMonitoring
		}
		p.PerformanceInsights = NewPerformanceInsightsSource(pio)
	}
	p.Exporter = NewExporter(ExporterOptions{
		Runner: p.Runner, Discovery: p.Discovery, CloudWatch: p.CloudWatch, DNS: p.DNS, Scrapers: scrapers,
		EnhancedMonitoring: p.EnhancedMonitoring, PerformanceInsights: p.PerformanceInsights,
		StaleAfter: cfg.Refresh.StaleAfter, ExportTimestamps: cfg.CloudWatch.ExportTimestamps, Clock: o.Clock,
	})
	return p, nil
}

// Run refreshes every source on its interval until ctx ends. Discovery
// goes first: the other sources plan from its inventory.
func (p *Pipeline) Run(ctx context.Context) {
	p.running.Store(true)
	_ = p.Runner.RefreshOnce(ctx, p.Discovery)
	go p.runDiscovery(ctx)
	for _, s := range p.Schedule()[1:] {
		go p.Runner.Run(ctx, s.Source, s.Every, true)
	}
	// Re-render the families when a refresh lands or data goes stale;
	// the key check makes an idle tick nearly free.
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if _, err := p.Render(); err != nil {
				p.log.Error("rendering metrics", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// runDiscovery refreshes discovery on its interval and when the trigger
// asks; one goroutine does both, so two discovery refreshes never overlap.
func (p *Pipeline) runDiscovery(ctx context.Context) {
	t := time.NewTicker(p.Config.Refresh.Discovery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = p.Runner.RefreshOnce(ctx, p.Discovery)
		case <-p.Trigger.C():
			p.Trigger.ran()
			_ = p.Runner.RefreshOnce(ctx, p.Discovery)
		}
	}
}

// RefreshAll refreshes each source once, in dependency order, then the
// discovery refresh DNS asked for, if any; tests on a virtual clock drive
// the pipeline with it.
func (p *Pipeline) RefreshAll(ctx context.Context) error {
	var errs []error
	for _, src := range p.sources() {
		if err := p.Runner.RefreshOnce(ctx, src); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.Name(), err))
		}
	}
	if err := p.RefreshTriggered(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RefreshDue refreshes each source whose interval has passed on the
// pipeline's clock since its last attempt, then the discovery refresh DNS
// asked for: Run's schedule, for tests that move a virtual clock in small
// steps.
func (p *Pipeline) RefreshDue(ctx context.Context) error {
	now := p.clock.Now()
	var errs []error
	for _, s := range p.Schedule() {
		last := p.Runner.Status(s.Source.Name()).LastAttempt
		if !last.IsZero() && now.Sub(last) < s.Every {
			continue
		}
		if err := p.Runner.RefreshOnce(ctx, s.Source); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Source.Name(), err))
		}
	}
	if err := p.RefreshTriggered(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RefreshTriggered runs the discovery refresh DNS asked for, if any, for
// drivers that schedule the sources themselves (RefreshAll, RefreshDue,
// the backtest).
func (p *Pipeline) RefreshTriggered(ctx context.Context) error {
	if !p.Trigger.take() {
		return nil
	}
	p.Trigger.ran()
	if err := p.Runner.RefreshOnce(ctx, p.Discovery); err != nil {
		return fmt.Errorf("%s (triggered): %w", p.Discovery.Name(), err)
	}
	return nil
}

// Scheduled is a source and its refresh interval.
type Scheduled struct {
	Source Source
	Every  time.Duration
}

// Schedule is every source with its interval, discovery first (the others
// plan from its inventory). Run, RefreshAll, RefreshDue and the backtest
// refresh what is listed here.
func (p *Pipeline) Schedule() []Scheduled {
	rc := p.Config.Refresh
	out := []Scheduled{{p.Discovery, rc.Discovery}, {p.CloudWatch, rc.CloudWatch}}
	if p.DNS != nil {
		out = append(out, Scheduled{p.DNS, rc.DNS})
	}
	if p.EnhancedMonitoring != nil {
		out = append(out, Scheduled{p.EnhancedMonitoring, rc.EnhancedMonitoring})
	}
	if p.PerformanceInsights != nil {
		out = append(out, Scheduled{p.PerformanceInsights, rc.PerformanceInsights})
	}
	return out
}

func (p *Pipeline) sources() []Source {
	var out []Source
	for _, s := range p.Schedule() {
		out = append(out, s.Source)
	}
	return out
}

// Ready reports whether every source has refreshed once. In a running
// pipeline (Run) it also waits for the rendering that includes them.
func (p *Pipeline) Ready() bool {
	if !p.Runner.Ready(p.Exporter.Sources()...) {
		return false
	}
	if !p.running.Load() {
		return true
	}
	p.render.mu.RLock()
	defer p.render.mu.RUnlock()
	return p.render.complete
}

// Describe is unchecked: the set of families depends on the config.
func (p *Pipeline) Describe(chan<- *prometheus.Desc) {}

// Collect serves the exporter's series and the CloudWatch source's and
// the discovery trigger's own counters.
func (p *Pipeline) Collect(ch chan<- prometheus.Metric) {
	p.CollectSelf(ch)
	p.Exporter.collectFamilies(p.Exporter.Snapshot(), ch)
}
