// Package autoscaling emulates the EC2 Auto Scaling API the product uses:
// describing groups, setting capacity and one-time scheduled actions.
package autoscaling

import "github.com/aurora-surge/aurora-surge/sim/wire"

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleQuery("autoscaling", &wire.QueryService{
		Version: "2011-01-01", XMLNS: "http://autoscaling.amazonaws.com/doc/2011-01-01/",
		Ops: map[string]wire.QueryOp{
			"DescribeAutoScalingGroups":     b.describeGroups,
			"SetDesiredCapacity":            b.setDesiredCapacity,
			"PutScheduledUpdateGroupAction": b.putScheduledAction,
			"DescribeScheduledActions":      b.describeScheduledActions,
			"DescribeScalingActivities":     b.describeScalingActivities,
		},
	})
}
