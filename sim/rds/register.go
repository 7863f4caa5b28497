// Package rds emulates the Amazon RDS API for Aurora PostgreSQL. The
// backend (backend.go, mutate.go) holds the rules over the shared world
// (package sim) with typed inputs and outputs and RDS's own errors
// (errors.go); query.go is its awsQuery codec.
package rds

import (
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

const (
	apiVersion = "2014-10-31"
	xmlns      = "http://rds.amazonaws.com/doc/2014-10-31/"
)

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	s.HandleQuery("rds", &wire.QueryService{Version: apiVersion, XMLNS: xmlns, Ops: queryOps(&backend{w: s.World})})
}
