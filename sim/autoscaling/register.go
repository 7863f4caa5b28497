// Package autoscaling emulates the EC2 Auto Scaling API the product uses:
// describing groups, setting capacity and one-time scheduled actions. The
// backend (backend.go) has typed inputs and outputs and Auto Scaling's
// errors (errors.go); query.go is its awsQuery codec.
package autoscaling

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	s.HandleQuery("autoscaling", &wire.QueryService{
		Version: "2011-01-01", XMLNS: "http://autoscaling.amazonaws.com/doc/2011-01-01/",
		Ops: queryOps(&backend{w: s.World}),
	})
}
