package main

import (
	"context"
	"log/slog"

	"github.com/aurora-surge/aurora-surge/sim"
)

// startDNS starts the DNS server; returns the bound address.
func startDNS(ctx context.Context, w *sim.World, addr string, log *slog.Logger) (string, error) {
	if addr == "" {
		return "", nil
	}
	return "", nil
}
