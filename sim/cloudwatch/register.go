package cloudwatch

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires CloudWatch's three protocols into the emulator's router:
// RPC v2 CBOR by path, AWS JSON 1.0 by X-Amz-Target, awsQuery by signing
// name (or Version). All three are codecs over the one typed backend.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleCBOR(targetPrefix, newCBORProtocol(b))
	s.HandleJSON(targetPrefix, newJSONProtocol(b))
	s.HandleQuery("monitoring", &wire.QueryService{
		Version: "2010-08-01", XMLNS: "http://monitoring.amazonaws.com/doc/2010-08-01/",
		Ops: map[string]wire.QueryOp{
			"GetMetricData": queryGetMetricData(b), "ListMetrics": queryListMetrics(b), "GetMetricStatistics": queryGetMetricStatistics(b),
		},
	})
}
