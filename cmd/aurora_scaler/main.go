// Command aurora_scaler acts on Alertmanager webhooks: it adds Aurora
// readers, raises the Serverless v2 max ACU and sets Auto Scaling group
// capacity, within guardrails, exactly once per alert.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/aws/aws-sdk-go-v2/config"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	webflag "github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/aurora-surge/aurora-surge/internal/awshttp"
	"github.com/aurora-surge/aurora-surge/internal/webserve"
	"github.com/aurora-surge/aurora-surge/scaler"
)

func main() {
	if version.Version == "" {
		version.Version = "0.0.0-dev"
	}
	if version.Branch == "" {
		version.Branch = "dev"
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type flags struct {
	configFile  string
	configCheck bool
	metricsPath string
	dryRun      bool
	paused      bool
	maxAttempts int
	awsWait     time.Duration
	eventsFile  string
	eventsEvery time.Duration
	web         *web.FlagConfig
	log         *promslog.Config
	command     string
	client      clientFlags
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	app := kingpin.New("aurora_scaler", "Acts on Alertmanager webhooks to scale Aurora readers, max ACU and Auto Scaling groups, safely and exactly once.")
	f := &flags{log: &promslog.Config{}}
	app.Flag("config.file", "Path to the YAML configuration.").Default("aurora_scaler.yml").StringVar(&f.configFile)
	app.Flag("config.check", "Validate the configuration and exit (errors name file:line:column).").BoolVar(&f.configCheck)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.metricsPath)
	app.Flag("dry-run", "Decide and record, never change AWS (or'ed with dry_run in the config).").BoolVar(&f.dryRun)
	app.Flag("paused", "Start with the kill switch on (POST /api/v1/resume to act).").BoolVar(&f.paused)
	app.Flag("aws.max-attempts", "Attempts per AWS call, retries of throttling and 5xx included, with exponential backoff.").Default("6").IntVar(&f.maxAttempts)
	app.Flag("aws.startup-wait", "How long to keep retrying at startup while AWS (or the emulator) cannot be reached; an answer that refuses ends the wait at once.").Default("5m").DurationVar(&f.awsWait)
	app.Flag("events.file", "JSON file holding registered events (written atomically; a restart resumes their plans).").Default("aurora_scaler_events.json").StringVar(&f.eventsFile)
	app.Flag("events.interval", "How often due event steps are checked and applied.").Default("30s").DurationVar(&f.eventsEvery)
	f.web = webflag.AddFlags(app, ":9854")
	promslogflag.AddFlags(app, f.log)
	app.Command("serve", "Run the scaler (the default command).").Default()
	addClientCommands(app, &f.client)
	app.Version(version.Print("aurora_scaler"))
	app.HelpFlag.Short('h')
	app.ErrorWriter(stderr)
	cmd, err := app.Parse(args)
	f.command = cmd
	return f, err
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_scaler:", err)
		return 2
	}
	if f.command != "serve" {
		return runClient(f.command, &f.client, stdout, stderr)
	}
	cfg, err := scaler.LoadConfig(f.configFile)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_scaler: config:", err)
		return 1
	}
	var token string
	if cfg.BearerTokenFile != "" {
		if token, err = scaler.ReadBearerToken(cfg.BearerTokenFile); err != nil {
			fmt.Fprintln(stderr, "aurora_scaler: config:", err)
			return 1
		}
	}
	if f.configCheck {
		fmt.Fprintf(stdout, "%s: OK (%d clusters, %d asgs)\n", f.configFile, len(cfg.Clusters), len(cfg.ASGs))
		return 0
	}
	log := promslog.New(f.log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("AWS configuration", "err", err)
		return 1
	}
	awsCfg.HTTPClient = awshttp.Wrap(awsCfg.HTTPClient)

	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector("aurora_scaler"), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	parts, err := scaler.New(ctx, cfg, scaler.PartsOptions{
		AWS: awsCfg, Retry: scaler.RetryPolicy{MaxAttempts: f.maxAttempts, MaxBackoff: 20 * time.Second},
		Log: log, Registerer: reg, BearerToken: token, DryRun: f.dryRun, Paused: f.paused,
		EventsFile: f.eventsFile, EventsInterval: f.eventsEvery,
	})
	if err != nil {
		log.Error("wiring the scaler", "err", err)
		return 1
	}
	err = waitForAWS(ctx, log, f.awsWait, 2*time.Second, func(ctx context.Context) error { return parts.AWS.VerifyAccounts(ctx, cfg) })
	if err != nil {
		// Acting with credentials of another account than the target's
		// would change the wrong fleet or fail at the worst moment.
		log.Error("AWS accounts", "err", err)
		return 1
	}
	log.Info("starting aurora_scaler", "version", version.Info(), "config", f.configFile, "scaler", parts.Scaler.String())
	parts.Run(ctx)

	mux := http.NewServeMux()
	mux.Handle(f.metricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	api := parts.Handler()
	mux.Handle("/webhook", api)
	mux.Handle("/api/v1/", api)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Healthy\n") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Ready\n") })
	// Alertmanager's default webhook timeout is 10s: answer well within.
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	if err := webserve.Serve(ctx, srv, mux, f.web, web.LandingConfig{
		Name: "Aurora Scaler", Description: "Acts on Alertmanager webhooks within guardrails", Version: version.Info(),
		Links: []web.LandingLinks{{Address: f.metricsPath, Text: "Metrics"}, {Address: "/api/v1/decisions", Text: "Decisions"}},
	}, log); err != nil {
		log.Error("web server failed", "err", err)
		return 1
	}
	return 0
}

// waitForAWS runs verify until it gets through: in a compose stack or
// after a reboot the scaler can start before the endpoint (or the
// emulator standing in for AWS) answers, and exiting then only turns into
// a restart loop. Only transport failures are retried; an answer that
// refuses (wrong account, bad credentials) ends the wait at once.
func waitForAWS(ctx context.Context, log *slog.Logger, wait, every time.Duration, verify func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 30*time.Second)
		err := verify(attempt)
		cancelAttempt()
		var send *smithyhttp.RequestSendError
		if err == nil || !errors.As(err, &send) {
			return err
		}
		log.Warn("AWS not reachable yet, retrying", "every", every, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("not reachable within --aws.startup-wait=%s: %w", wait, err)
		case <-time.After(every):
		}
	}
}
