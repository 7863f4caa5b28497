// Command aurora_sim emulates an Aurora fleet under event traffic behind
// the real AWS APIs (RDS, CloudWatch, EC2 Auto Scaling, ELBv2, Route 53,
// STS) and a real DNS server, for the demo, end-to-end tests and
// benchmarks. See sim/README.md for the model.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/admin"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func run(args []string, stdout *os.File) int {
	app := kingpin.New("aurora_sim", "AWS-compatible emulator of an Aurora fleet under event traffic.")
	scenario := app.Flag("scenario", "Scenario: an embedded name ("+fmt.Sprint(sim.EmbeddedScenarios())+") or a YAML file path.").Default("field-avalanche").String()
	listen := app.Flag("web.listen-address", "Address of the AWS API and /_sim/ admin listener.").Default("127.0.0.1:4566").String()
	dnsListen := app.Flag("dns.listen-address", "Address of the DNS server (UDP and TCP); empty disables it.").Default("127.0.0.1:8053").String()
	clockKind := app.Flag("clock", "real: wall time (scaled by --speed); virtual: moves only through POST /_sim/clock/advance.").Default("real").Enum("real", "virtual")
	speed := app.Flag("speed", "Run the real clock this many times faster than wall time.").Default("1").Float64()
	summaryEvery := app.Flag("summary.interval", "Print a fleet summary to stdout at this wall-time interval (0 disables).").Default("0s").Duration()
	checkOnly := app.Flag("scenario.check", "Validate the scenario and exit.").Bool()
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	app.Version(version.Print("aurora_sim"))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "aurora_sim:", err)
		return 2
	}
	log := promslog.New(logCfg)

	sc, err := sim.LoadScenario(*scenario)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aurora_sim:", err)
		return 2
	}
	if *checkOnly {
		fmt.Fprintf(stdout, "scenario %q is valid: %d fleets\n", sc.Name, len(sc.Fleets))
		return 0
	}
	if *speed <= 0 {
		fmt.Fprintln(os.Stderr, "aurora_sim: --speed must be positive")
		return 2
	}
	start := sc.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	var clock sim.Clock = sim.NewScaledClock(start, *speed)
	if *clockKind == "virtual" {
		clock = sim.NewVirtualClock(start)
	}
	w, err := sim.New(sc, clock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aurora_sim:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := awsapi.New(w, log)
	srv.Admin = admin.New(w)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aurora_sim:", err)
		return 1
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
			stop()
		}
	}()
	dnsAddr, err := startDNS(ctx, w, *dnsListen, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aurora_sim: dns:", err)
		return 1
	}
	if _, virtual := clock.(*sim.VirtualClock); !virtual {
		go syncLoop(ctx, w, *speed)
	}
	printBanner(stdout, w, "http://"+ln.Addr().String(), dnsAddr)
	if *summaryEvery > 0 {
		go func() {
			t := time.NewTicker(*summaryEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					printSummary(stdout, w.Truth())
				}
			}
		}()
	}
	log.Info("aurora_sim started", "scenario", sc.Name, "listen", ln.Addr().String(), "dns", dnsAddr, "clock", *clockKind, "speed", *speed)
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(shutdownCtx)
	return 0
}

// syncLoop keeps the model (and so CloudWatch datapoints) moving when no
// request arrives; requests also sync, so this only bounds staleness.
func syncLoop(ctx context.Context, w *sim.World, speed float64) {
	every := time.Duration(float64(time.Second) / speed)
	if every < 50*time.Millisecond {
		every = 50 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Sync()
		}
	}
}
