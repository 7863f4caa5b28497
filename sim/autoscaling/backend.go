package autoscaling

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Typed inputs and outputs of the backend; query.go maps them to awsQuery.

// Filter is one Filters entry (auto-scaling-group, tag:<key>, tag-key,
// tag-value).
type Filter struct {
	Name   string
	Values []string
}

type DescribeAutoScalingGroupsInput struct {
	Names      []string
	Filters    []Filter
	MaxRecords int // 0: 50
	NextToken  string
}

type Group struct {
	Name, ARN                          string
	Min, Max, Desired, DefaultCooldown int
	AvailabilityZones                  []string
	HealthCheckType                    string
	HealthCheckGracePeriod             int
	CreatedTime                        time.Time
	Instances                          []Instance
	TargetGroupARNs                    []string
	Tags                               []Tag
	ServiceLinkedRoleARN               string
}

type Instance struct {
	ID, Type, AvailabilityZone, LifecycleState, HealthStatus string
	ProtectedFromScaleIn                                     bool
}

type Tag struct {
	ResourceID, ResourceType, Key, Value string
	PropagateAtLaunch                    bool
}

type DescribeAutoScalingGroupsOutput struct {
	Groups    []Group
	NextToken string
}

type SetDesiredCapacityInput struct {
	GroupName       string
	DesiredCapacity *int
}

type SetDesiredCapacityOutput struct{}

type DescribeScalingActivitiesInput struct {
	GroupName  string
	MaxRecords int // 0: 100
	NextToken  string
}

type Activity struct {
	ID, GroupName, GroupARN, Description, Cause string
	Start, End                                  time.Time
	StatusCode                                  string
	Progress                                    int
	Details                                     string
}

type DescribeScalingActivitiesOutput struct {
	Activities []Activity
	NextToken  string
}

type PutScheduledUpdateGroupActionInput struct {
	GroupName, Name, Recurrence string
	// StartTime, or the older Time; neither: now.
	StartTime, Time, EndTime          *time.Time
	MinSize, MaxSize, DesiredCapacity *int
}

type PutScheduledUpdateGroupActionOutput struct{}

type DeleteScheduledActionInput struct {
	GroupName, Name string
}

type DeleteScheduledActionOutput struct{}

type DescribeScheduledActionsInput struct {
	GroupName          string
	Names              []string
	StartTime, EndTime *time.Time
	MaxRecords         int // 0: 50
	NextToken          string
}

type ScheduledAction struct {
	GroupName, Name, ARN      string
	StartTime                 time.Time
	EndTime                   *time.Time
	MinSize, MaxSize, Desired *int
}

type DescribeScheduledActionsOutput struct {
	Actions   []ScheduledAction
	NextToken string
}

type backend struct{ w *sim.World }

// page applies Auto Scaling's paging: MaxRecords outside [1, 100] is a
// ValidationError, a token it did not hand out InvalidNextToken.
func page(total int, token string, size, def int) (sim.Page, *sim.APIError) {
	if size == 0 {
		size = def
	}
	if size < 1 || size > 100 {
		return sim.Page{}, validation("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", size)
	}
	p, err := sim.Paginate(total, token, size, def, 1, 100, "MaxRecords")
	if err != nil {
		return sim.Page{}, errInvalidNextToken(token)
	}
	return p, nil
}

func groupView(g *sim.AutoScalingGroup) Group {
	x := Group{
		Name: g.Name, ARN: g.ARN, Min: g.Min, Max: g.Max, Desired: g.Desired, DefaultCooldown: 300,
		HealthCheckType: "ELB", HealthCheckGracePeriod: 300, CreatedTime: g.CreateTime,
		ServiceLinkedRoleARN: fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", g.Region.Account),
	}
	for _, s := range []string{"a", "b", "c"} {
		x.AvailabilityZones = append(x.AvailabilityZones, g.Region.Name+s)
	}
	for _, in := range g.Instances {
		x.Instances = append(x.Instances, Instance{ID: in.ID, Type: "c6g.large", AvailabilityZone: in.AZ, LifecycleState: in.LifecycleState, HealthStatus: in.Health})
	}
	for _, tg := range g.TargetGroups {
		x.TargetGroupARNs = append(x.TargetGroupARNs, tg.ARN)
	}
	for _, t := range g.Tags {
		x.Tags = append(x.Tags, Tag{ResourceID: g.Name, ResourceType: "auto-scaling-group", Key: t.Key, Value: t.Value, PropagateAtLaunch: true})
	}
	return x
}

func validFilters(fs []Filter) *sim.APIError {
	for _, f := range fs {
		if f.Name != "tag-key" && f.Name != "tag-value" && f.Name != "auto-scaling-group" && !strings.HasPrefix(f.Name, "tag:") {
			return validation("Filter name %q is not supported: use auto-scaling-group, tag:<key>, tag-key or tag-value.", f.Name)
		}
	}
	return nil
}

func (f Filter) match(g *sim.AutoScalingGroup) bool {
	in := func(v string) bool { return slices.Contains(f.Values, v) }
	if f.Name == "auto-scaling-group" {
		return in(g.Name)
	}
	for _, t := range g.Tags {
		switch {
		case f.Name == "tag-key" && in(t.Key), f.Name == "tag-value" && in(t.Value):
			return true
		case strings.HasPrefix(f.Name, "tag:") && t.Key == f.Name[4:] && in(t.Value):
			return true
		}
	}
	return false
}

func (b *backend) DescribeAutoScalingGroups(c sim.CallContext, in *DescribeAutoScalingGroupsInput) (*DescribeAutoScalingGroupsOutput, *sim.APIError) {
	if err := validFilters(in.Filters); err != nil {
		return nil, err
	}
	out := &DescribeAutoScalingGroupsOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.AutoScalingGroup
		for _, g := range r.SortedASGs() {
			ok := len(in.Names) == 0
			for _, n := range in.Names {
				ok = ok || n == g.Name || n == g.ARN
			}
			for _, f := range in.Filters {
				ok = ok && f.match(g)
			}
			if ok {
				list = append(list, g)
			}
		}
		p, err := page(len(list), in.NextToken, in.MaxRecords, 50)
		if err != nil {
			return err
		}
		for _, g := range list[p.Start:p.End] {
			out.Groups = append(out.Groups, groupView(g))
		}
		out.NextToken = p.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) SetDesiredCapacity(c sim.CallContext, in *SetDesiredCapacityInput) (*SetDesiredCapacityOutput, *sim.APIError) {
	name := in.GroupName
	if name == "" {
		return nil, sim.ErrMissingParameter("AutoScalingGroupName")
	}
	if in.DesiredCapacity == nil {
		return nil, sim.ErrMissingParameter("DesiredCapacity")
	}
	desired := *in.DesiredCapacity
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		g := r.ASGs[name]
		if g == nil {
			return errGroupNotFound(name)
		}
		if desired > g.Max {
			return validation("New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", desired, g.Max)
		}
		if desired < g.Min {
			return validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", desired, g.Min)
		}
		g.RecordCapacityChange(now, "a user request explicitly set group desired capacity", g.Desired, desired)
		g.Desired = desired
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &SetDesiredCapacityOutput{}, nil
}

// DescribeScalingActivities lists a group's capacity changes, newest
// first, paged by MaxRecords (1-100) and NextToken.
func (b *backend) DescribeScalingActivities(c sim.CallContext, in *DescribeScalingActivitiesInput) (*DescribeScalingActivitiesOutput, *sim.APIError) {
	out := &DescribeScalingActivitiesOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		var all []Activity
		for _, g := range r.SortedASGs() {
			if in.GroupName != "" && g.Name != in.GroupName {
				continue
			}
			for i := len(g.Activities) - 1; i >= 0; i-- {
				a := g.Activities[i]
				all = append(all, Activity{ID: a.ID, GroupName: g.Name, GroupARN: g.ARN, Description: a.Description,
					Cause: a.Cause, Start: a.Start, End: a.End, StatusCode: "Successful", Progress: 100, Details: "{}"})
			}
		}
		// AWS answers an unknown group with no activities, not an error.
		p, err := page(len(all), in.NextToken, in.MaxRecords, 100)
		if err != nil {
			return err
		}
		out.Activities, out.NextToken = all[p.Start:p.End], p.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func nonNegative(name string, v *int) *sim.APIError {
	if v != nil && *v < 0 {
		return validation("%s must be >= 0.", name)
	}
	return nil
}

func (b *backend) PutScheduledUpdateGroupAction(c sim.CallContext, in *PutScheduledUpdateGroupActionInput) (*PutScheduledUpdateGroupActionOutput, *sim.APIError) {
	if in.GroupName == "" {
		return nil, sim.ErrMissingParameter("AutoScalingGroupName")
	}
	if in.Name == "" {
		return nil, sim.ErrMissingParameter("ScheduledActionName")
	}
	if in.Recurrence != "" {
		return nil, validation("aurora_sim runs one-time scheduled actions only: Recurrence %q is not modelled; give StartTime instead.", in.Recurrence)
	}
	start := in.StartTime
	if start == nil {
		start = in.Time
	}
	a := &sim.ScheduledAction{Name: in.Name, Group: in.GroupName, Min: in.MinSize, Max: in.MaxSize, Desired: in.DesiredCapacity}
	if in.EndTime != nil {
		a.EndTime = *in.EndTime
	}
	for _, v := range []struct {
		name string
		v    *int
	}{{"MinSize", a.Min}, {"MaxSize", a.Max}, {"DesiredCapacity", a.Desired}} {
		if err := nonNegative(v.name, v.v); err != nil {
			return nil, err
		}
	}
	if a.Min == nil && a.Max == nil && a.Desired == nil {
		return nil, validation("At least one of MinSize, MaxSize or DesiredCapacity must be specified.")
	}
	if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
		return nil, validation("MinSize %d is greater than MaxSize %d.", *a.Min, *a.Max)
	}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		g := r.ASGs[in.GroupName]
		if g == nil {
			return errGroupNotFound(in.GroupName)
		}
		if start == nil {
			a.StartTime = now
		} else if a.StartTime = *start; a.StartTime.Before(now) {
			return validation("Given start time is in the past")
		}
		if in.EndTime != nil && !a.EndTime.After(a.StartTime) {
			return validation("EndTime must be after StartTime.")
		}
		lo, hi := g.Min, g.Max
		if a.Min != nil {
			lo = *a.Min
		}
		if a.Max != nil {
			hi = *a.Max
		}
		if a.Desired != nil && (*a.Desired < lo || *a.Desired > hi) {
			return validation("DesiredCapacity %d is outside [%d, %d] for the scheduled action.", *a.Desired, lo, hi)
		}
		a.ARN = r.ARN("autoscaling", fmt.Sprintf("scheduledUpdateGroupAction:%s:autoScalingGroupName/%s:scheduledActionName/%s", "0f0e0d0c-0b0a-0908-0706-050403020100", in.GroupName, in.Name))
		g.Scheduled[in.Name] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PutScheduledUpdateGroupActionOutput{}, nil
}

// DeleteScheduledAction removes a pending action; one that already ran
// is gone (one-time actions are deleted once run), so it is not found.
func (b *backend) DeleteScheduledAction(c sim.CallContext, in *DeleteScheduledActionInput) (*DeleteScheduledActionOutput, *sim.APIError) {
	if in.GroupName == "" {
		return nil, sim.ErrMissingParameter("AutoScalingGroupName")
	}
	if in.Name == "" {
		return nil, sim.ErrMissingParameter("ScheduledActionName")
	}
	err := b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		g := r.ASGs[in.GroupName]
		if g == nil {
			return errGroupNotFound(in.GroupName)
		}
		if g.Scheduled[in.Name] == nil {
			return validation("Scheduled Update Group Action name not found - Could not find scheduled update group action named %s", in.Name)
		}
		delete(g.Scheduled, in.Name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &DeleteScheduledActionOutput{}, nil
}

func (b *backend) DescribeScheduledActions(c sim.CallContext, in *DescribeScheduledActionsInput) (*DescribeScheduledActionsOutput, *sim.APIError) {
	out := &DescribeScheduledActionsOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if in.GroupName != "" && r.ASGs[in.GroupName] == nil {
			return errGroupNotFound(in.GroupName)
		}
		var list []*sim.ScheduledAction
		for _, g := range r.SortedASGs() {
			if in.GroupName != "" && g.Name != in.GroupName {
				continue
			}
			for _, a := range g.Scheduled {
				ok := len(in.Names) == 0
				for _, n := range in.Names {
					ok = ok || n == a.Name
				}
				if ok && (in.StartTime == nil || !a.StartTime.Before(*in.StartTime)) && (in.EndTime == nil || !a.StartTime.After(*in.EndTime)) {
					list = append(list, a)
				}
			}
		}
		sort.Slice(list, func(i, j int) bool {
			if !list[i].StartTime.Equal(list[j].StartTime) {
				return list[i].StartTime.Before(list[j].StartTime)
			}
			return list[i].Group+list[i].Name < list[j].Group+list[j].Name
		})
		p, err := page(len(list), in.NextToken, in.MaxRecords, 50)
		if err != nil {
			return err
		}
		for _, a := range list[p.Start:p.End] {
			x := ScheduledAction{GroupName: a.Group, Name: a.Name, ARN: a.ARN, StartTime: a.StartTime, MinSize: a.Min, MaxSize: a.Max, Desired: a.Desired}
			if !a.EndTime.IsZero() {
				e := a.EndTime
				x.EndTime = &e
			}
			out.Actions = append(out.Actions, x)
		}
		out.NextToken = p.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
