// Package sts emulates the STS calls that make multi-account clients
// work: GetCallerIdentity and AssumeRole. The account of a request comes
// from its access key; AssumeRole hands out keys of the role's account,
// valid for the session's duration. The backend (backend.go) has typed
// inputs and outputs and STS's errors (errors.go); query.go is its
// awsQuery codec.
package sts

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	s.HandleQuery("sts", &wire.QueryService{
		Version: "2011-06-15", XMLNS: "https://sts.amazonaws.com/doc/2011-06-15/",
		Ops: queryOps(&backend{w: s.World}),
	})
}
