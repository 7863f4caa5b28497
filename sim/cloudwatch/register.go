package cloudwatch

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires CloudWatch's two protocols into the emulator's router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleCBOR("GraniteServiceVersion20100801", newCBORProtocol(b))
	s.HandleQuery("monitoring", &wire.QueryService{
		Version: "2010-08-01", XMLNS: "http://monitoring.amazonaws.com/doc/2010-08-01/",
		Ops: map[string]wire.QueryOp{"GetMetricData": queryGetMetricData(b), "ListMetrics": queryListMetrics(b)},
	})
}
