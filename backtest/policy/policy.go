// Package policy holds the scaling policies aurora_backtest compares with
// the product's own: no auto scaling, AWS's target tracking as AWS
// documents it, and the field's hand-built alarms. Each is a controller
// ticked on the backtest's virtual clock that reads CloudWatch and acts
// on RDS and EC2 Auto Scaling through the real aws-sdk-go-v2 clients, so
// against the emulator it meets the same API, delays and errors it would
// meet in AWS. Semantics and sources: README.md.
package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// Policy is a scaling controller ticked on the backtest's virtual clock.
type Policy interface {
	Name() string
	// Tick runs the policy's periodic work at simulated time now (the
	// world has already advanced to now). The harness calls it every 10
	// simulated seconds. It reads CloudWatch and acts through the SDK
	// clients it was built with.
	Tick(ctx context.Context, now time.Time) error
	// Actions returns every action taken or refused so far, in order.
	Actions() []Action
}

// Action kinds.
const (
	KindAddReaders      = "add_readers"
	KindRemoveReader    = "remove_reader"
	KindSetASGCapacity  = "set_asg_capacity"
	KindRaiseMaxACU     = "raise_max_acu"
	KindScheduledAction = "scheduled_action"
)

// Action is one scaling action, taken or refused.
type Action struct {
	At       time.Time
	Kind     string // one of the Kind constants
	Target   string // cluster id or ASG name
	From, To float64
	Reason   string // e.g. "AlarmHigh 3/3 datapoints > 30: 41.2"
	Refused  string // non-empty when not done, and why
}

// Names are the policies New builds.
var Names = []string{"none", "aws-target-tracking", "field"}

// TagKey marks the readers a policy created; scale-in removes only those,
// as Aurora auto scaling removes only the replicas it created.
const TagKey = "aurora-backtest/policy"

// New builds the policy name over fleet with the SDK configuration cfg
// (region and credentials of the fleet's account).
func New(name string, p *Params, cfg aws.Config, fleet Fleet) (Policy, error) {
	if name == "none" {
		return &policy{name: name}, nil
	}
	if name != "aws-target-tracking" && name != "field" {
		return nil, fmt.Errorf("unknown policy %q (known: %s)", name, strings.Join(Names, ", "))
	}
	if p == nil {
		return nil, fmt.Errorf("policy %q: no parameters", name)
	}
	fam := &p.Field
	if name == "aws-target-tracking" {
		fam = &p.AWSTargetTracking
	}
	if cfg.Region == "" {
		cfg.Region = fleet.Region
	}
	if fleet.Region != "" && cfg.Region != fleet.Region {
		return nil, fmt.Errorf("policy %q: SDK region %s but fleet region %s", name, cfg.Region, fleet.Region)
	}
	pol := &policy{name: name, cw: cloudwatch.NewFromConfig(cfg)}
	db, as := rds.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)
	for _, c := range fleet.Clusters {
		pol.ctrls = append(pol.ctrls, newReaderController(name, c, fam.Readers, db))
	}
	for _, g := range fleet.ASGs {
		pol.ctrls = append(pol.ctrls, newASGController(g, fam.ASGs, as))
	}
	return pol, nil
}

// controller scales one cluster or one ASG.
type controller interface {
	// observe runs every tick (state the minute evaluation needs).
	observe(ctx context.Context, now time.Time) ([]Action, error)
	// metrics lists the series the minute evaluation reads.
	metrics() []metricSpec
	// evaluate runs the alarms on data (ascending datapoints per series)
	// and acts.
	evaluate(ctx context.Context, now time.Time, data map[metricSpec][]point) ([]Action, error)
}

type policy struct {
	name     string
	cw       *cloudwatch.Client
	ctrls    []controller
	actions  []Action
	lastEval time.Time
}

func (p *policy) Name() string { return p.name }

func (p *policy) Actions() []Action { return append([]Action(nil), p.actions...) }

// Tick observes every tick and evaluates the alarms once a minute, at the
// first tick of each minute, as CloudWatch evaluates standard alarms. A
// failed call (throttling, a fault) costs only its own controller's work
// for this tick or minute, as a missed alarm evaluation would: the other
// controllers still run, nothing is changed on missing data, and the next
// tick or minute tries again. The error is returned for the record.
func (p *policy) Tick(ctx context.Context, now time.Time) error {
	var errs []error
	for _, c := range p.ctrls {
		acts, err := c.observe(ctx, now)
		p.actions = append(p.actions, acts...)
		errs = append(errs, err)
	}
	minute := now.Truncate(time.Minute)
	if len(p.ctrls) > 0 && minute.After(p.lastEval) {
		p.lastEval = minute
		var specs []metricSpec
		for _, c := range p.ctrls {
			specs = append(specs, c.metrics()...)
		}
		data, err := fetch(ctx, p.cw, specs, now)
		errs = append(errs, err)
		for _, c := range p.ctrls {
			if err != nil {
				break
			}
			acts, err := c.evaluate(ctx, now, data)
			p.actions = append(p.actions, acts...)
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s at %s: %w", p.name, now.UTC().Format(time.RFC3339), err)
	}
	return nil
}
