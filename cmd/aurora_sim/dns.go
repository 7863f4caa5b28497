package main

import (
	"context"
	"log/slog"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/dnsserver"
)

// startDNS serves the world's DNS on addr (UDP and TCP) until ctx ends and
// returns the bound address; an empty addr disables DNS.
func startDNS(ctx context.Context, w *sim.World, addr string, log *slog.Logger) (string, error) {
	if addr == "" {
		return "", nil
	}
	s, err := dnsserver.Start(w, addr, log.With("component", "dns"))
	if err != nil {
		return "", err
	}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	return s.Addr(), nil
}
