// Package elbv2 emulates the Elastic Load Balancing v2 calls the product
// uses: describing target groups (the ASG -> ALB link) and target health.
// The backend (backend.go) has typed inputs and outputs and ELB's errors
// (errors.go); query.go is its awsQuery codec.
package elbv2

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	s.HandleQuery("elasticloadbalancing", &wire.QueryService{
		Version: "2015-12-01", XMLNS: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
		Ops: queryOps(&backend{w: s.World}),
	})
}
