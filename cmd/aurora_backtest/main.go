// Command aurora_backtest plays a scenario through the whole loop on a
// virtual clock (emulator, exporter, Prometheus rules, Alertmanager, the
// scaler) once per policy and writes a report and a plot comparing them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/aurora-surge/aurora-surge/backtest"
	"github.com/aurora-surge/aurora-surge/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type flags struct {
	scenario string
	out      string
	policies string
	seed     int64
	params   string
	repo     string
	after    time.Duration
	live     string
	pace     time.Duration
	fresh    backtest.FreshSources
	log      *promslog.Config
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	app := kingpin.New("aurora_backtest", "Plays a scenario through the whole Aurora Surge loop on a virtual clock, once per scaling policy, and compares them.")
	f := &flags{log: &promslog.Config{}}
	app.Flag("scenario", "Embedded scenario name ("+strings.Join(sim.EmbeddedScenarios(), ", ")+") or a scenario file.").Default("field-avalanche").StringVar(&f.scenario)
	app.Flag("out", "Directory for report.json, report.md, timeline.png and timeline.svg.").Default("backtest-out").StringVar(&f.out)
	app.Flag("policies", "Comma-separated policies ("+strings.Join(backtest.Policies, ", ")+").").Default(strings.Join(backtest.Policies, ",")).StringVar(&f.policies)
	app.Flag("seed", "Model seed (0: the scenario's).").Default("0").Int64Var(&f.seed)
	app.Flag("params", "Policy parameter file (default: the embedded one, see backtest/policy/policies.yml).").StringVar(&f.params)
	app.Flag("repo", "Checkout whose rules/ and deploy/ configuration the product runs with.").Default(".").StringVar(&f.repo)
	app.Flag("after", "How long to keep playing after the event's end.").Default("30m").DurationVar(&f.after)
	app.Flag("live", "Print this policy's fleet, alerts and decisions minute by minute.").StringVar(&f.live)
	app.Flag("pace", "Wall time per simulated minute of the live view (0: as fast as possible).").Default("0s").DurationVar(&f.pace)
	app.Flag("enhanced-monitoring", "Turn Enhanced Monitoring on at this interval in seconds (1, 5, 10, 15, 30, 60) for every instance of the scenario; 0: as the scenario says.").Default("0").IntVar(&f.fresh.EnhancedMonitoringSeconds)
	app.Flag("performance-insights", "Turn Performance Insights on for every instance of the scenario.").BoolVar(&f.fresh.PerformanceInsights)
	promslogflag.AddFlags(app, f.log)
	app.Version(version.Print("aurora_backtest"))
	app.HelpFlag.Short('h')
	app.ErrorWriter(stderr)
	if _, err := app.Parse(args); err != nil {
		return f, err
	}
	return f, f.fresh.Validate()
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_backtest:", err)
		return 2
	}
	sc, err := sim.LoadScenario(f.scenario)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_backtest: scenario:", err)
		return 2
	}
	var policies []string
	for _, p := range strings.Split(f.policies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			policies = append(policies, p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := backtest.Options{Scenario: sc, Policies: policies, Seed: f.seed, Repo: backtest.RepoAt(f.repo), Params: f.params,
		After: f.after, Log: promslog.New(f.log), Fresh: f.fresh}
	if f.live != "" {
		o.ProgressPolicy = f.live
		o.Progress = liveView(stdout, f.pace)
	}
	wall := time.Now()
	res, err := backtest.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_backtest:", err)
		return 1
	}
	elapsed := time.Since(wall)
	paths, err := backtest.WriteAll(res, f.out)
	if err != nil {
		fmt.Fprintln(stderr, "aurora_backtest:", err)
		return 1
	}
	simulated := res.Report.Stop.Sub(res.Report.Start) * time.Duration(len(policies))
	fmt.Fprintf(stdout, "\n%s\n%s", backtest.MarkdownTable(res.Report.Policies), backtest.MarkdownTargets(res.Report.Targets))
	fmt.Fprintf(stdout, "\n%d policies x %s simulated in %.1f s (%.0fx real time)\n", len(policies),
		res.Report.Stop.Sub(res.Report.Start), elapsed.Seconds(), simulated.Seconds()/elapsed.Seconds())
	for _, p := range paths {
		abs, _ := filepath.Abs(p)
		fmt.Fprintln(stdout, "wrote", abs)
	}
	return 0
}

// liveView prints one line per simulated minute: users, readers, CPU,
// ACU, ASG capacity, the alerts firing and the scaler's decisions.
func liveView(w io.Writer, pace time.Duration) func(backtest.Frame) {
	return func(fr backtest.Frame) {
		s := fr.Sample
		fmt.Fprintf(w, "T%+6.0fm users %5.0f  readers %d (+%d creating)  reader CPU %5.1f %%  ACU %5.1f (max %g)  ASG %2d in service/%2d",
			fr.SinceOnset.Minutes(), s.Users, s.ReadersUp, s.ReadersCreating, s.ReaderCPU, s.ACU, s.MaxACU, s.ASGInService, s.ASGDesired)
		if len(fr.Firing) > 0 {
			fmt.Fprintf(w, "  firing: %s", strings.Join(fr.Firing, " "))
		}
		fmt.Fprintln(w)
		for _, a := range fr.Actions {
			verb := "ACT"
			if a.Refused != "" {
				verb = "refused"
			}
			fmt.Fprintf(w, "        %s %s %s %g -> %g: %s%s\n", verb, a.Kind, a.Target, a.From, a.To, a.Reason, prefixed(a.Refused))
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
