package wire

import (
	"log/slog"

	"github.com/aurora-surge/aurora-surge/sim"
)

// NewAWS returns a server speaking every AWS API the product uses.
func NewAWS(w *sim.World, log *slog.Logger) *Server {
	s := NewServer(w, log)
	registerRDS(s)
	registerCloudWatch(s)
	registerAutoScaling(s)
	registerELBv2(s)
	registerSTS(s)
	registerRoute53(s)
	return s
}
