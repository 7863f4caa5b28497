// Command aurora_exporter exports Aurora Serverless v2 capacity, per-role
// CPU, connections and latency, RDS Proxy pinning, Auto Scaling group load
// and DNS endpoint membership to Prometheus.
package main

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	webflag "github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/internal/awshttp"
	"github.com/aurora-surge/aurora-surge/internal/webserve"
)

func main() {
	setVersionDefaults()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type flags struct {
	configFile  string
	configCheck bool
	metricsPath string
	dnsServer   string
	memLimit    int64
	profiling   func(*http.ServeMux) // nil unless built with -tags pprof
	enabled     map[string]*bool
	web         *web.FlagConfig
	log         *promslog.Config
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	app := kingpin.New("aurora_exporter", "Prometheus exporter for Amazon Aurora fleets under avalanche traffic.")
	f := &flags{enabled: map[string]*bool{}, log: &promslog.Config{}}
	app.Flag("config.file", "Path to the YAML configuration.").Default("aurora_exporter.yml").StringVar(&f.configFile)
	app.Flag("config.check", "Validate the configuration and exit (errors name file:line:column).").BoolVar(&f.configCheck)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.metricsPath)
	app.Flag("dns.server", "DNS server (host:port) to resolve endpoints with; overrides dns.server in the config; default: /etc/resolv.conf.").StringVar(&f.dnsServer)
	app.Flag("runtime.memory-limit", "Soft memory limit for the Go runtime (as GOMEMLIMIT, which takes precedence when set); 0 disables. Keeps the exporter's RSS near its working set instead of twice it.").Default("40MiB").BytesVar((*units.Base2Bytes)(&f.memLimit))
	f.profiling = profilingFlag(app)
	for _, s := range collector.AllScrapers(time.Minute) {
		f.enabled[s.Name()] = app.Flag("collector."+s.Name(), s.Help()+" Enabled by default; --no-collector."+s.Name()+" disables.").Default("true").Bool()
	}
	f.web = webflag.AddFlags(app, ":9853")
	promslogflag.AddFlags(app, f.log)
	app.Version(version.Print("aurora_exporter"))
	app.HelpFlag.Short('h')
	app.ErrorWriter(stderr)
	_, err := app.Parse(args)
	return f, err
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_exporter:", err)
		return 2
	}
	cfg, err := collector.LoadConfig(f.configFile)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_exporter: config:", err)
		return 1
	}
	if f.configCheck {
		fmt.Fprintf(stdout, "%s: OK (%d targets)\n", f.configFile, len(cfg.Targets))
		return 0
	}
	log := promslog.New(f.log)
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && f.memLimit > 0 {
		debug.SetMemoryLimit(f.memLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	calls := collector.NewCallCounter()
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "aurora_exporter", Name: "config_reloads_total", Help: "Configuration reloads by outcome.",
	}, []string{"outcome"})
	lastReload := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "aurora_exporter", Name: "config_last_reload_success_timestamp_seconds", Help: "Unix time of the last successful configuration load.",
	})
	reg.MustRegister(calls, reloads, lastReload, versioncollector.NewCollector("aurora_exporter"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	app := &application{log: log, flags: f, calls: calls}
	if err := app.start(ctx, cfg); err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	lastReload.SetToCurrentTime()
	reg.MustRegister(app)

	reload := func() error {
		next, err := collector.LoadConfig(f.configFile)
		if err == nil {
			err = app.start(ctx, next)
		}
		if err != nil {
			reloads.WithLabelValues("failure").Inc()
			log.Error("config reload failed; keeping the running configuration", "err", err)
			return err
		}
		reloads.WithLabelValues("success").Inc()
		lastReload.SetToCurrentTime()
		log.Info("configuration reloaded", "file", f.configFile)
		return nil
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = reload()
			}
		}
	}()

	mux := http.NewServeMux()
	mux.Handle(f.metricsPath, app.metricsHandler(reg, log))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Healthy\n") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !app.ready() {
			http.Error(w, "Not ready: waiting for every source's first refresh\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "Ready\n")
	})
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if err := reload(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "Reloaded\n")
	})
	if f.profiling != nil {
		f.profiling(mux)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	if err := webserve.Serve(ctx, srv, mux, f.web, web.LandingConfig{
		Name: "Aurora Exporter", Description: "Prometheus exporter for Amazon Aurora fleets under avalanche traffic", Version: version.Info(),
		Links: []web.LandingLinks{{Address: f.metricsPath, Text: "Metrics"}, {Address: "/-/ready", Text: "Readiness"}},
	}, log); err != nil {
		log.Error("web server failed", "err", err)
		app.stop()
		return 1
	}
	app.stop()
	return 0
}

// application holds the running pipeline and swaps it whole on reload,
// so a bad config never half-applies.
type application struct {
	log   *slog.Logger
	flags *flags
	calls *collector.CallCounter

	mu       sync.RWMutex
	pipeline *collector.Pipeline
	cancel   context.CancelFunc
}

func (a *application) start(parent context.Context, cfg *collector.Config) error {
	awsCfg, err := config.LoadDefaultConfig(parent, config.WithAPIOptions([]func(*middleware.Stack) error{a.calls.Middleware}))
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	awsCfg.HTTPClient = awshttp.Wrap(awsCfg.HTTPClient)
	p, err := collector.NewPipeline(parent, awsCfg, cfg, collector.PipelineOptions{
		Log: a.log, DNSServer: a.flags.dnsServer,
		Enabled: func(name string) bool { return *a.flags.enabled[name] },
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(parent)
	go p.Run(ctx)

	a.mu.Lock()
	old := a.cancel
	a.pipeline, a.cancel = p, cancel
	a.mu.Unlock()
	if old != nil {
		old()
	}
	return nil
}

func (a *application) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *application) ready() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.pipeline.Ready()
}

// Describe is unchecked: the set of families changes with the config.
func (a *application) Describe(chan<- *prometheus.Desc) {}

var renderDuration = prometheus.NewDesc("aurora_exporter_render_duration_seconds",
	"Duration of the last rendering of the metric families (done when a source refreshes or data goes stale, not per scrape).", nil, nil)

func (a *application) current() *collector.Pipeline {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.pipeline
}

// Collect serves the per-scrape series; the families come pre-rendered
// (metricsHandler).
func (a *application) Collect(ch chan<- prometheus.Metric) {
	p := a.current()
	p.CollectSelf(ch)
	if r := p.Rendered(); r != nil {
		ch <- prometheus.MustNewConstMetric(renderDuration, prometheus.GaugeValue, r.Took.Seconds())
	}
}

// metricsHandler writes the pre-rendered families followed by the live
// series of reg, in the text format, gzip-compressed when the client
// accepts it (one gzip member: the cached deflate stream continued by the
// live series).
func (a *application) metricsHandler(reg prometheus.Gatherer, log *slog.Logger) http.Handler {
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	// A compressor is hundreds of KB of state (BestSpeed, the smallest:
	// the live part is a few KB), and the live part's buffer grows
	// to its size: both are reused across scrapes rather than allocated
	// by each.
	type scratch struct {
		live bytes.Buffer
		zw   *flate.Writer
	}
	pool := sync.Pool{New: func() any {
		zw, _ := flate.NewWriter(io.Discard, flate.BestSpeed)
		return &scratch{zw: zw}
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs, err := reg.Gather()
		if err != nil {
			log.Error("gathering metrics", "err", err)
			http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		sc := pool.Get().(*scratch)
		defer pool.Put(sc)
		sc.live.Reset()
		enc := expfmt.NewEncoder(&sc.live, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				log.Error("encoding metrics", "family", mf.GetName(), "err", err)
				http.Error(w, "encoding metrics: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		rendered := a.current().Rendered()
		w.Header().Set("Content-Type", string(format))
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			if err := rendered.WriteGzip(w, sc.live.Bytes(), sc.zw); err != nil {
				log.Debug("writing /metrics", "err", err)
			}
			sc.zw.Reset(io.Discard) // not keeping the response writer alive in the pool
			return
		}
		if rendered != nil {
			_ = rendered.WriteText(w)
		}
		_, _ = w.Write(sc.live.Bytes())
	})
}

// setVersionDefaults fills build_info's labels for binaries built without
// the Makefile's -ldflags (go run, go build, tests), so no label is empty.
func setVersionDefaults() {
	if version.Version == "" {
		version.Version = "0.0.0-dev"
	}
	if version.Branch == "" {
		version.Branch = "dev"
	}
}
