// Package route53 emulates the Route 53 calls the scaler's drain procedure
// needs: ListHostedZones, ListResourceRecordSets, ChangeResourceRecordSets
// and GetChange. A change is visible in the API at once and in DNS (and
// INSYNC) after the scenario's propagation delay, as in the field. The
// backend (backend.go) has typed inputs and outputs and Route 53's errors
// (errors.go); restxml.go is its REST-XML codec.
package route53

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	s.HandleREST(pathPrefix, &restXML{b: &backend{w: s.World}})
}
