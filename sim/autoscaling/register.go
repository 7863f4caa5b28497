// Package autoscaling emulates the AWS service: backend operations over the
// shared world (package sim) and the wire protocol that exposes them.
package autoscaling

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {}
