package policy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// asgAPI is the part of the Auto Scaling client ASG scaling uses.
type asgAPI interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	SetDesiredCapacity(context.Context, *autoscaling.SetDesiredCapacityInput, ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	PutScheduledUpdateGroupAction(context.Context, *autoscaling.PutScheduledUpdateGroupActionInput, ...func(*autoscaling.Options)) (*autoscaling.PutScheduledUpdateGroupActionOutput, error)
}

// asgController runs an Auto Scaling group's target tracking, step and
// scheduled scaling as EC2 Auto Scaling does.
type asgController struct {
	g  ASG
	p  ASGParams
	as asgAPI

	started  bool
	tgDim    string               // TargetGroup dimension: targetgroup/<name>/<id>
	inServed map[string]time.Time // instance -> first seen InService
	steps    []cooldown
}

func newASGController(g ASG, p ASGParams, as asgAPI) *asgController {
	return &asgController{g: g, p: p, as: as, inServed: map[string]time.Time{}, steps: make([]cooldown, len(p.Steps))}
}

type groupState struct {
	min, max, desired int
	inService         int
	warm              int      // in service for at least the warmup
	warming           []string // pending, or InService for less than the warmup
}

func (c *asgController) describe(ctx context.Context, now time.Time) (*groupState, error) {
	out, err := c.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{c.g.Name}})
	if err != nil {
		return nil, fmt.Errorf("DescribeAutoScalingGroups %s: %w", c.g.Name, err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return nil, fmt.Errorf("DescribeAutoScalingGroups %s: %d groups", c.g.Name, len(out.AutoScalingGroups))
	}
	g := out.AutoScalingGroups[0]
	if !c.started {
		for _, arn := range g.TargetGroupARNs {
			if i := strings.Index(arn, ":targetgroup/"); i >= 0 && (c.g.TargetGroup == "" || strings.HasPrefix(arn[i+1:], "targetgroup/"+c.g.TargetGroup+"/")) {
				c.tgDim = arn[i+1:]
			}
		}
	}
	st := &groupState{min: int(aws.ToInt32(g.MinSize)), max: int(aws.ToInt32(g.MaxSize)), desired: int(aws.ToInt32(g.DesiredCapacity))}
	for _, in := range g.Instances {
		id := aws.ToString(in.InstanceId)
		if in.LifecycleState != "InService" {
			st.warming = append(st.warming, id+" "+string(in.LifecycleState))
			continue
		}
		st.inService++
		first, seen := c.inServed[id]
		if !seen {
			first = now
			if !c.started {
				first = time.Time{} // in service before the run: warm
			}
			c.inServed[id] = first
		}
		if !first.IsZero() && now.Before(first.Add(c.p.InstanceWarmup)) {
			st.warming = append(st.warming, id+" warming up")
		} else {
			st.warm++
		}
	}
	return st, nil
}

// observe notes when instances come into service (their warmup starts
// then) and, at the first tick, puts the scheduled actions.
func (c *asgController) observe(ctx context.Context, now time.Time) ([]Action, error) {
	first := !c.started
	st, err := c.describe(ctx, now)
	if err != nil {
		return nil, err // the scheduled actions wait for a tick that can see the group
	}
	c.started = true
	if !first || c.p.Scheduled == nil {
		return nil, nil
	}
	return c.schedule(ctx, now, st), nil
}

// schedule puts the pre-event action (MinSize and DesiredCapacity to the
// tier's capacity, lead before the event) and the post-event one (MinSize
// back, hold after the event start).
func (c *asgController) schedule(ctx context.Context, now time.Time, st *groupState) []Action {
	s := c.p.Scheduled
	want, ok := s.Desired[c.g.Tier]
	if !ok {
		return []Action{{At: now, Kind: KindScheduledAction, Target: c.g.Name, Refused: fmt.Sprintf("no scheduled capacity for tier %q", c.g.Tier)}}
	}
	want = clamp(want, st.min, st.max)
	pre, post := c.g.EventStart.Add(-s.Lead), c.g.EventStart.Add(s.Hold)
	late := ""
	if !pre.After(now) {
		// The run starts inside the lead (the team would have scheduled it
		// earlier): run it at the next minute, as close as AWS allows.
		late = fmt.Sprintf(" (lead time %s before the event was already past at the start)", s.Lead)
		pre = now.Truncate(time.Minute).Add(time.Minute)
	}
	var acts []Action
	for _, sa := range []struct {
		name     string
		at       time.Time
		min      int
		desired  *int32
		from, to int
	}{
		{"aurora-backtest-pre-event", pre, want, aws.Int32(int32(want)), st.desired, want},
		{"aurora-backtest-post-event", post, st.min, nil, want, st.min},
	} {
		a := Action{At: now, Kind: KindScheduledAction, Target: c.g.Name, From: float64(sa.from), To: float64(sa.to),
			Reason: fmt.Sprintf("%s at %s (event %s): MinSize %d", sa.name, sa.at.UTC().Format(time.RFC3339), c.g.EventStart.UTC().Format(time.RFC3339), sa.min)}
		if sa.desired != nil {
			a.Reason += fmt.Sprintf(", DesiredCapacity %d", *sa.desired) + late
		}
		_, err := c.as.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{
			AutoScalingGroupName: aws.String(c.g.Name), ScheduledActionName: aws.String(sa.name),
			StartTime: aws.Time(sa.at), MinSize: aws.Int32(int32(sa.min)), DesiredCapacity: sa.desired,
		})
		if err != nil {
			a.Refused = "PutScheduledUpdateGroupAction: " + err.Error()
		}
		acts = append(acts, a)
	}
	return acts
}

func (c *asgController) metrics() []metricSpec {
	var specs []metricSpec
	for _, t := range c.p.TargetTracking {
		if s, ok := c.metric(t.Metric); ok {
			specs = append(specs, s)
		}
	}
	for _, s := range c.p.Steps {
		if m, ok := c.metric(s.Metric); ok {
			specs = append(specs, m)
		}
	}
	return specs
}

// metric is the series of a metric name for this group; a request metric
// needs the group's target group.
func (c *asgController) metric(name string) (metricSpec, bool) {
	if name == "requests_per_target" && c.tgDim == "" {
		return metricSpec{}, false
	}
	return asgMetric(c.g.Name, c.tgDim, name), true
}

func (c *asgController) evaluate(ctx context.Context, now time.Time, data map[metricSpec][]point) ([]Action, error) {
	type ttResult struct {
		high, low alarmState
		hv, lv    float64
		target    float64
	}
	var tts []ttResult
	var props []proposal
	var reasons []string
	for _, t := range c.p.TargetTracking {
		spec, ok := c.metric(t.Metric)
		target, hasTarget := t.target(c.g.Tier)
		if !ok || !hasTarget {
			continue
		}
		pts := data[spec]
		r := ttResult{target: target}
		r.high, r.hv = evaluateAlarm(recent(pts, t.HighDatapoints, now), t.HighDatapoints, func(v float64) bool { return v > target })
		r.low, r.lv = evaluateAlarm(recent(pts, t.LowDatapoints, now), t.LowDatapoints, func(v float64) bool { return v < t.LowRatio*target })
		tts = append(tts, r)
		if r.high == inAlarm {
			reasons = append(reasons, fmt.Sprintf("%s AlarmHigh %d/%d datapoints > %g: %.4g", t.Metric, t.HighDatapoints, t.HighDatapoints, target, r.hv))
		}
	}
	type stepResult struct {
		state alarmState
		v     float64
	}
	stepRes := make([]stepResult, len(c.p.Steps))
	for i, s := range c.p.Steps {
		spec, ok := c.metric(s.Metric)
		if !ok {
			continue
		}
		stepRes[i].state, stepRes[i].v = evaluateAlarm(recent(data[spec], s.Datapoints, now), s.Datapoints, func(v float64) bool { return v > s.Adjustments[0].Above })
	}
	allLow := len(tts) > 0
	anyAlarm := false
	for _, r := range tts {
		allLow = allLow && r.low == inAlarm
		anyAlarm = anyAlarm || r.high == inAlarm
	}
	for _, r := range stepRes {
		anyAlarm = anyAlarm || r.state == inAlarm
	}
	if !anyAlarm && !allLow {
		return nil, nil
	}
	st, err := c.describe(ctx, now)
	if err != nil {
		return nil, err
	}
	// Target tracking: the capacity the metric stands for is the warmed-up
	// instances (AWS leaves warming instances out of the aggregated
	// metric); instances still launching or warming up already count in
	// the desired capacity, so only a larger result scales out again.
	for _, r := range tts {
		if r.high == inAlarm {
			props = append(props, proposal{to: proportional(st.warm, r.hv, r.target)})
		}
	}
	for i, s := range c.p.Steps {
		if stepRes[i].state != inAlarm {
			continue
		}
		i := i
		to, cooling := stepOut(st.desired, stepAdd(s.Adjustments, stepRes[i].v), c.steps[i], s.Cooldown, now)
		props = append(props, proposal{to: to, cooling: cooling, onOut: func(now time.Time, from int) { c.steps[i].outAt, c.steps[i].outFrom = now, from }})
		reasons = append(reasons, fmt.Sprintf("%s %d/%d datapoints > %g: %.4g", s.Name, s.Datapoints, s.Datapoints, s.Adjustments[0].Above, stepRes[i].v))
	}
	if len(props) > 0 {
		return c.scaleOut(ctx, now, st, props, strings.Join(reasons, "; ")), nil
	}
	// Scale in only when every target tracking policy is ready to, to the
	// largest capacity among them, and never while instances warm up.
	to := 0
	var why []string
	for i, r := range tts {
		to = max(to, proportional(st.warm, r.lv, r.target))
		t := c.p.TargetTracking[i]
		why = append(why, fmt.Sprintf("%s AlarmLow %d/%d datapoints < %g: %.4g", t.Metric, t.LowDatapoints, t.LowDatapoints, t.LowRatio*r.target, r.lv))
	}
	to = clamp(to, st.min, st.desired)
	if to >= st.desired {
		return nil, nil
	}
	a := Action{At: now, Kind: KindSetASGCapacity, Target: c.g.Name, From: float64(st.desired), To: float64(to), Reason: strings.Join(why, "; ")}
	if len(st.warming) > 0 {
		a.Refused = "instances warming up: " + strings.Join(st.warming, ", ")
		return []Action{a}, nil
	}
	return []Action{c.set(ctx, a)}, nil
}

func (c *asgController) scaleOut(ctx context.Context, now time.Time, st *groupState, props []proposal, reason string) []Action {
	best := props[0]
	for _, p := range props {
		if p.to > best.to {
			best = p
		}
	}
	if best.to <= st.desired {
		if !best.cooling {
			return nil // launching and warming instances already cover it
		}
		return []Action{{At: now, Kind: KindSetASGCapacity, Target: c.g.Name, From: float64(st.desired), To: float64(best.to), Reason: reason,
			Refused: fmt.Sprintf("step cooldown: capacity %d already covers %d", st.desired, best.to)}}
	}
	a := Action{At: now, Kind: KindSetASGCapacity, Target: c.g.Name, From: float64(st.desired), To: float64(min(best.to, st.max)), Reason: reason}
	if st.desired >= st.max {
		a.To = float64(best.to)
		a.Refused = fmt.Sprintf("at max size %d", st.max)
		return []Action{a}
	}
	a = c.set(ctx, a)
	if a.Refused == "" {
		for _, p := range props {
			if p.to > st.desired && p.onOut != nil {
				p.onOut(now, st.desired)
			}
		}
	}
	return []Action{a}
}

func (c *asgController) set(ctx context.Context, a Action) Action {
	_, err := c.as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(c.g.Name), DesiredCapacity: aws.Int32(int32(a.To))})
	if err != nil {
		a.Refused = "SetDesiredCapacity: " + err.Error()
	}
	return a
}
