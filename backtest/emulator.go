package backtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aurora-surge/aurora-surge/internal/awshttp"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/dnsserver"
)

// emulator is one policy's world: aurora_sim on the run's virtual clock,
// behind a real HTTP listener and a real DNS server on loopback, so every
// part of the loop talks to it exactly as it talks to AWS.
type emulator struct {
	World *sim.World
	Clock *sim.VirtualClock
	URL   string
	DNS   string

	http *http.Server
	dns  *dnsserver.Server
}

func startEmulator(sc *sim.Scenario, start time.Time) (*emulator, error) {
	clock := sim.NewVirtualClock(start)
	w, err := sim.New(sc, clock)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &emulator{World: w, Clock: clock, URL: "http://" + ln.Addr().String()}
	e.http = &http.Server{Handler: awsapi.New(w, nil), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := e.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(fmt.Sprintf("backtest: emulator listener: %v", err))
		}
	}()
	if e.dns, err = dnsserver.Start(w, "127.0.0.1:0", nil); err != nil {
		_ = e.http.Close()
		return nil, err
	}
	e.DNS = e.dns.Addr()
	return e, nil
}

// AWSConfig is an SDK configuration for region pointed at the emulator,
// with the standard retryer as the product's binaries use it.
func (e *emulator) AWSConfig(ctx context.Context, region string) (aws.Config, error) {
	return awshttp.StaticConfig(ctx, e.URL, region, "AKIAIOSFODNN7EXAMPLE", "backtest", 3)
}

func (e *emulator) Close() {
	e.dns.Close()
	_ = e.http.Close()
}
