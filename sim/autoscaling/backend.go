package autoscaling

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

type backend struct{ w *sim.World }

// Auto Scaling reports most client errors as ValidationError.
func validation(format string, args ...any) *sim.APIError {
	return sim.NewAPIError(400, "ValidationError", format, args...)
}

func errGroupNotFound(name string) *sim.APIError {
	return validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
}

type xmlInstance struct {
	InstanceID           string `xml:"InstanceId"`
	InstanceType         string `xml:"InstanceType"`
	AvailabilityZone     string `xml:"AvailabilityZone"`
	LifecycleState       string `xml:"LifecycleState"`
	HealthStatus         string `xml:"HealthStatus"`
	ProtectedFromScaleIn bool   `xml:"ProtectedFromScaleIn"`
}

type xmlTag struct {
	ResourceID        string `xml:"ResourceId"`
	ResourceType      string `xml:"ResourceType"`
	Key               string `xml:"Key"`
	Value             string `xml:"Value"`
	PropagateAtLaunch bool   `xml:"PropagateAtLaunch"`
}

type xmlGroup struct {
	Name                   string        `xml:"AutoScalingGroupName"`
	ARN                    string        `xml:"AutoScalingGroupARN"`
	MinSize                int           `xml:"MinSize"`
	MaxSize                int           `xml:"MaxSize"`
	DesiredCapacity        int           `xml:"DesiredCapacity"`
	DefaultCooldown        int           `xml:"DefaultCooldown"`
	AvailabilityZones      []string      `xml:"AvailabilityZones>member"`
	HealthCheckType        string        `xml:"HealthCheckType"`
	HealthCheckGracePeriod int           `xml:"HealthCheckGracePeriod"`
	CreatedTime            time.Time     `xml:"CreatedTime"`
	Instances              []xmlInstance `xml:"Instances>member"`
	TargetGroupARNs        []string      `xml:"TargetGroupARNs>member"`
	Tags                   []xmlTag      `xml:"Tags>member"`
	ServiceLinkedRoleARN   string        `xml:"ServiceLinkedRoleARN"`
}

type describeGroupsResult struct {
	Groups    []xmlGroup `xml:"AutoScalingGroups>member"`
	NextToken string     `xml:"NextToken,omitempty"`
}

type xmlScheduledAction struct {
	Group           string     `xml:"AutoScalingGroupName"`
	Name            string     `xml:"ScheduledActionName"`
	ARN             string     `xml:"ScheduledActionARN"`
	Time            time.Time  `xml:"Time"`
	StartTime       time.Time  `xml:"StartTime"`
	EndTime         *time.Time `xml:"EndTime,omitempty"`
	MinSize         *int       `xml:"MinSize,omitempty"`
	MaxSize         *int       `xml:"MaxSize,omitempty"`
	DesiredCapacity *int       `xml:"DesiredCapacity,omitempty"`
}

type describeScheduledResult struct {
	Actions   []xmlScheduledAction `xml:"ScheduledUpdateGroupActions>member"`
	NextToken string               `xml:"NextToken,omitempty"`
}

func groupXML(g *sim.AutoScalingGroup) xmlGroup {
	x := xmlGroup{
		Name: g.Name, ARN: g.ARN, MinSize: g.Min, MaxSize: g.Max, DesiredCapacity: g.Desired, DefaultCooldown: 300,
		HealthCheckType: "ELB", HealthCheckGracePeriod: 300, CreatedTime: g.CreateTime.UTC(),
		ServiceLinkedRoleARN: fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", g.Region.Account),
	}
	for _, s := range []string{"a", "b", "c"} {
		x.AvailabilityZones = append(x.AvailabilityZones, g.Region.Name+s)
	}
	for _, in := range g.Instances {
		x.Instances = append(x.Instances, xmlInstance{InstanceID: in.ID, InstanceType: "c6g.large", AvailabilityZone: in.AZ,
			LifecycleState: in.LifecycleState, HealthStatus: in.Health})
	}
	for _, tg := range g.TargetGroups {
		x.TargetGroupARNs = append(x.TargetGroupARNs, tg.ARN)
	}
	for _, t := range g.Tags {
		x.Tags = append(x.Tags, xmlTag{ResourceID: g.Name, ResourceType: "auto-scaling-group", Key: t.Key, Value: t.Value, PropagateAtLaunch: true})
	}
	return x
}

// groupFilter reads Filters.member.N (tag:<key>, tag-key, tag-value).
type groupFilter struct {
	name   string
	values []string
}

func filters(p wire.Params) ([]groupFilter, *sim.APIError) {
	var out []groupFilter
	for _, i := range p.Indexes("Filters.member") {
		base := fmt.Sprintf("Filters.member.%d", i)
		f := groupFilter{name: p.String(base + ".Name"), values: p.List(base + ".Values.member")}
		if f.name != "tag-key" && f.name != "tag-value" && f.name != "auto-scaling-group" && !strings.HasPrefix(f.name, "tag:") {
			return nil, validation("Filter name %q is not supported: use auto-scaling-group, tag:<key>, tag-key or tag-value.", f.name)
		}
		out = append(out, f)
	}
	return out, nil
}

func (f groupFilter) match(g *sim.AutoScalingGroup) bool {
	in := func(v string) bool {
		for _, w := range f.values {
			if w == v {
				return true
			}
		}
		return false
	}
	if f.name == "auto-scaling-group" {
		return in(g.Name)
	}
	for _, t := range g.Tags {
		switch {
		case f.name == "tag-key" && in(t.Key), f.name == "tag-value" && in(t.Value):
			return true
		case strings.HasPrefix(f.name, "tag:") && t.Key == f.name[4:] && in(t.Value):
			return true
		}
	}
	return false
}

func paging(p wire.Params, total int) (sim.Page, *sim.APIError) {
	n, _, err := p.Int("MaxRecords")
	if err != nil {
		return sim.Page{}, err
	}
	page, err := sim.Paginate(total, p.String("NextToken"), int(n), 50, 1, 100, "MaxRecords")
	if err != nil {
		err.Code = "ValidationError"
	}
	return page, err
}

func (b *backend) describeGroups(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	names := p.List("AutoScalingGroupNames.member")
	fs, err := filters(p)
	if err != nil {
		return nil, err
	}
	var out describeGroupsResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.AutoScalingGroup
		for _, g := range r.SortedASGs() {
			ok := len(names) == 0
			for _, n := range names {
				ok = ok || n == g.Name || n == g.ARN
			}
			for _, f := range fs {
				ok = ok && f.match(g)
			}
			if ok {
				list = append(list, g)
			}
		}
		page, err := paging(p, len(list))
		if err != nil {
			return err
		}
		for _, g := range list[page.Start:page.End] {
			out.Groups = append(out.Groups, groupXML(g))
		}
		out.NextToken = page.Next
		return nil
	})
	return out, err
}

func (b *backend) setDesiredCapacity(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	name, err := p.Required("AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	desired, ok, err := p.Int("DesiredCapacity")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sim.ErrMissingParameter("DesiredCapacity")
	}
	if _, _, err := p.Bool("HonorCooldown"); err != nil {
		return nil, err
	}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		g := r.ASGs[name]
		if g == nil {
			return errGroupNotFound(name)
		}
		if int(desired) > g.Max {
			return validation("New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", desired, g.Max)
		}
		if int(desired) < g.Min {
			return validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", desired, g.Min)
		}
		g.RecordCapacityChange(now, "a user request explicitly set group desired capacity", g.Desired, int(desired))
		g.Desired = int(desired)
		return nil
	})
	return nil, err
}

type activityXML struct {
	ActivityID           string    `xml:"ActivityId"`
	AutoScalingGroupName string    `xml:"AutoScalingGroupName"`
	AutoScalingGroupARN  string    `xml:"AutoScalingGroupARN"`
	Description          string    `xml:"Description"`
	Cause                string    `xml:"Cause"`
	StartTime            time.Time `xml:"StartTime"`
	EndTime              time.Time `xml:"EndTime"`
	StatusCode           string    `xml:"StatusCode"`
	Progress             int       `xml:"Progress"`
	Details              string    `xml:"Details"`
}

type describeActivitiesOut struct {
	Activities []activityXML `xml:"Activities>member"`
	NextToken  string        `xml:"NextToken,omitempty"`
}

// describeScalingActivities lists a group's capacity changes, newest
// first, paged by MaxRecords (1-100) and NextToken.
func (b *backend) describeScalingActivities(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	name := p.String("AutoScalingGroupName")
	size, _, err := p.Int("MaxRecords")
	if err != nil {
		return nil, err
	}
	out := &describeActivitiesOut{}
	err = b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		var all []activityXML
		for _, g := range r.SortedASGs() {
			if name != "" && g.Name != name {
				continue
			}
			for i := len(g.Activities) - 1; i >= 0; i-- {
				a := g.Activities[i]
				all = append(all, activityXML{ActivityID: a.ID, AutoScalingGroupName: g.Name, AutoScalingGroupARN: g.ARN, Description: a.Description,
					Cause: a.Cause, StartTime: a.Start.UTC(), EndTime: a.End.UTC(), StatusCode: "Successful", Progress: 100, Details: "{}"})
			}
		}
		if name != "" && r.ASGs[name] == nil {
			return nil // AWS answers an unknown group with no activities
		}
		page, perr := sim.Paginate(len(all), p.String("NextToken"), int(size), 100, 1, 100, "MaxRecords")
		if perr != nil {
			return perr
		}
		out.Activities, out.NextToken = all[page.Start:page.End], page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func optionalInt(p wire.Params, key string) (*int, *sim.APIError) {
	v, ok, err := p.Int(key)
	if err != nil || !ok {
		return nil, err
	}
	if v < 0 {
		return nil, validation("%s must be >= 0.", key)
	}
	n := int(v)
	return &n, nil
}

func (b *backend) putScheduledAction(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	group, err := p.Required("AutoScalingGroupName")
	if err != nil {
		return nil, err
	}
	name, err := p.Required("ScheduledActionName")
	if err != nil {
		return nil, err
	}
	if p.String("Recurrence") != "" {
		return nil, validation("aurora_sim runs one-time scheduled actions only: Recurrence %q is not modelled; give StartTime instead.", p.String("Recurrence"))
	}
	start, hasStart, err := p.Time("StartTime")
	if err != nil {
		return nil, err
	}
	if !hasStart {
		if start, hasStart, err = p.Time("Time"); err != nil {
			return nil, err
		}
	}
	end, hasEnd, err := p.Time("EndTime")
	if err != nil {
		return nil, err
	}
	a := &sim.ScheduledAction{Name: name, Group: group, StartTime: start}
	if hasEnd {
		a.EndTime = end
	}
	if a.Min, err = optionalInt(p, "MinSize"); err != nil {
		return nil, err
	}
	if a.Max, err = optionalInt(p, "MaxSize"); err != nil {
		return nil, err
	}
	if a.Desired, err = optionalInt(p, "DesiredCapacity"); err != nil {
		return nil, err
	}
	if a.Min == nil && a.Max == nil && a.Desired == nil {
		return nil, validation("At least one of MinSize, MaxSize or DesiredCapacity must be specified.")
	}
	if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
		return nil, validation("MinSize %d is greater than MaxSize %d.", *a.Min, *a.Max)
	}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		g := r.ASGs[group]
		if g == nil {
			return errGroupNotFound(group)
		}
		if !hasStart {
			a.StartTime = now
		} else if a.StartTime.Before(now) {
			return validation("Given start time is in the past")
		}
		if hasEnd && !a.EndTime.After(a.StartTime) {
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
		a.ARN = r.ARN("autoscaling", fmt.Sprintf("scheduledUpdateGroupAction:%s:autoScalingGroupName/%s:scheduledActionName/%s", "0f0e0d0c-0b0a-0908-0706-050403020100", group, name))
		g.Scheduled[name] = a
		return nil
	})
	return nil, err
}

func (b *backend) describeScheduledActions(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	group := p.String("AutoScalingGroupName")
	names := p.List("ScheduledActionNames.member")
	from, hasFrom, err := p.Time("StartTime")
	if err != nil {
		return nil, err
	}
	to, hasTo, err := p.Time("EndTime")
	if err != nil {
		return nil, err
	}
	var out describeScheduledResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if group != "" && r.ASGs[group] == nil {
			return errGroupNotFound(group)
		}
		var list []*sim.ScheduledAction
		for _, g := range r.SortedASGs() {
			if group != "" && g.Name != group {
				continue
			}
			for _, a := range g.Scheduled {
				ok := len(names) == 0
				for _, n := range names {
					ok = ok || n == a.Name
				}
				if ok && (!hasFrom || !a.StartTime.Before(from)) && (!hasTo || !a.StartTime.After(to)) {
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
		page, err := paging(p, len(list))
		if err != nil {
			return err
		}
		for _, a := range list[page.Start:page.End] {
			x := xmlScheduledAction{Group: a.Group, Name: a.Name, ARN: a.ARN, Time: a.StartTime.UTC(), StartTime: a.StartTime.UTC(),
				MinSize: a.Min, MaxSize: a.Max, DesiredCapacity: a.Desired}
			if !a.EndTime.IsZero() {
				e := a.EndTime.UTC()
				x.EndTime = &e
			}
			out.Actions = append(out.Actions, x)
		}
		out.NextToken = page.Next
		return nil
	})
	return out, err
}
