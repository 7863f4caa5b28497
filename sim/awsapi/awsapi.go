// Package awsapi assembles every emulated AWS service behind one router.
package awsapi

import (
	"log/slog"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/autoscaling"
	"github.com/aurora-surge/aurora-surge/sim/cloudwatch"
	"github.com/aurora-surge/aurora-surge/sim/elbv2"
	"github.com/aurora-surge/aurora-surge/sim/logs"
	"github.com/aurora-surge/aurora-surge/sim/pi"
	"github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/route53"
	"github.com/aurora-surge/aurora-surge/sim/sts"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// Services lists every service's registration, in one place.
var Services = []func(*wire.Server){
	rds.Register, cloudwatch.Register, logs.Register, pi.Register, autoscaling.Register, elbv2.Register, sts.Register, route53.Register,
}

// New returns a server speaking every AWS API the product uses.
func New(w *sim.World, log *slog.Logger) *wire.Server {
	s := wire.NewServer(w, log)
	for _, register := range Services {
		register(s)
	}
	return s
}
