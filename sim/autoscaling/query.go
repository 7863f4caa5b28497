package autoscaling

import (
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// The awsQuery codec of Auto Scaling (2011-01-01): lists are <member>
// elements both ways.

func queryOps(b *backend) map[string]wire.QueryOp {
	return map[string]wire.QueryOp{
		"DescribeAutoScalingGroups":     wire.Op(decodeDescribeGroups, b.DescribeAutoScalingGroups, encodeDescribeGroups),
		"SetDesiredCapacity":            wire.Op(decodeSetDesiredCapacity, b.SetDesiredCapacity, nil),
		"PutScheduledUpdateGroupAction": wire.Op(decodePutScheduledAction, b.PutScheduledUpdateGroupAction, nil),
		"DeleteScheduledAction":         wire.Op(decodeDeleteScheduledAction, b.DeleteScheduledAction, nil),
		"DescribeScheduledActions":      wire.Op(decodeDescribeScheduledActions, b.DescribeScheduledActions, encodeDescribeScheduledActions),
		"DescribeScalingActivities":     wire.Op(decodeDescribeScalingActivities, b.DescribeScalingActivities, encodeDescribeScalingActivities),
	}
}

func decodeDescribeGroups(p wire.Params) (*DescribeAutoScalingGroupsInput, *sim.APIError) {
	in := &DescribeAutoScalingGroupsInput{Names: p.List("AutoScalingGroupNames.member"), NextToken: p.String("NextToken")}
	for _, f := range p.Filters("Filters.member", "Values.member") {
		in.Filters = append(in.Filters, Filter{Name: f.Name, Values: f.Values})
	}
	n, _, err := p.Int("MaxRecords")
	in.MaxRecords = int(n)
	return in, err
}

func decodeSetDesiredCapacity(p wire.Params) (*SetDesiredCapacityInput, *sim.APIError) {
	desired, err := p.OptionalInt("DesiredCapacity")
	if err != nil {
		return nil, err
	}
	// HonorCooldown is accepted (and checked) but cooldowns are not modelled.
	if _, _, err := p.Bool("HonorCooldown"); err != nil {
		return nil, err
	}
	return &SetDesiredCapacityInput{GroupName: p.String("AutoScalingGroupName"), DesiredCapacity: desired}, nil
}

func decodePutScheduledAction(p wire.Params) (*PutScheduledUpdateGroupActionInput, *sim.APIError) {
	in := &PutScheduledUpdateGroupActionInput{GroupName: p.String("AutoScalingGroupName"), Name: p.String("ScheduledActionName"), Recurrence: p.String("Recurrence")}
	var err *sim.APIError
	for _, f := range []struct {
		key string
		dst **int
	}{{"MinSize", &in.MinSize}, {"MaxSize", &in.MaxSize}, {"DesiredCapacity", &in.DesiredCapacity}} {
		if *f.dst, err = p.OptionalInt(f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		dst **time.Time
	}{{"StartTime", &in.StartTime}, {"Time", &in.Time}, {"EndTime", &in.EndTime}} {
		if *f.dst, err = p.OptionalTime(f.key); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func decodeDeleteScheduledAction(p wire.Params) (*DeleteScheduledActionInput, *sim.APIError) {
	return &DeleteScheduledActionInput{GroupName: p.String("AutoScalingGroupName"), Name: p.String("ScheduledActionName")}, nil
}

func decodeDescribeScheduledActions(p wire.Params) (*DescribeScheduledActionsInput, *sim.APIError) {
	in := &DescribeScheduledActionsInput{GroupName: p.String("AutoScalingGroupName"), Names: p.List("ScheduledActionNames.member"), NextToken: p.String("NextToken")}
	var err *sim.APIError
	if in.StartTime, err = p.OptionalTime("StartTime"); err != nil {
		return nil, err
	}
	if in.EndTime, err = p.OptionalTime("EndTime"); err != nil {
		return nil, err
	}
	n, _, err := p.Int("MaxRecords")
	in.MaxRecords = int(n)
	return in, err
}

func decodeDescribeScalingActivities(p wire.Params) (*DescribeScalingActivitiesInput, *sim.APIError) {
	n, _, err := p.Int("MaxRecords")
	return &DescribeScalingActivitiesInput{GroupName: p.String("AutoScalingGroupName"), MaxRecords: int(n), NextToken: p.String("NextToken")}, err
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
	Name                   string         `xml:"AutoScalingGroupName"`
	ARN                    string         `xml:"AutoScalingGroupARN"`
	MinSize                int            `xml:"MinSize"`
	MaxSize                int            `xml:"MaxSize"`
	DesiredCapacity        int            `xml:"DesiredCapacity"`
	DefaultCooldown        int            `xml:"DefaultCooldown"`
	AvailabilityZones      []string       `xml:"AvailabilityZones>member"`
	HealthCheckType        string         `xml:"HealthCheckType"`
	HealthCheckGracePeriod int            `xml:"HealthCheckGracePeriod"`
	CreatedTime            wire.Timestamp `xml:"CreatedTime"`
	Instances              []xmlInstance  `xml:"Instances>member"`
	TargetGroupARNs        []string       `xml:"TargetGroupARNs>member"`
	Tags                   []xmlTag       `xml:"Tags>member"`
	ServiceLinkedRoleARN   string         `xml:"ServiceLinkedRoleARN"`
}

type describeGroupsResult struct {
	Groups    []xmlGroup `xml:"AutoScalingGroups>member"`
	NextToken string     `xml:"NextToken,omitempty"`
}

type xmlScheduledAction struct {
	Group           string          `xml:"AutoScalingGroupName"`
	Name            string          `xml:"ScheduledActionName"`
	ARN             string          `xml:"ScheduledActionARN"`
	Time            wire.Timestamp  `xml:"Time"`
	StartTime       wire.Timestamp  `xml:"StartTime"`
	EndTime         *wire.Timestamp `xml:"EndTime,omitempty"`
	MinSize         *int            `xml:"MinSize,omitempty"`
	MaxSize         *int            `xml:"MaxSize,omitempty"`
	DesiredCapacity *int            `xml:"DesiredCapacity,omitempty"`
}

type describeScheduledResult struct {
	Actions   []xmlScheduledAction `xml:"ScheduledUpdateGroupActions>member"`
	NextToken string               `xml:"NextToken,omitempty"`
}

type xmlActivity struct {
	ActivityID           string         `xml:"ActivityId"`
	AutoScalingGroupName string         `xml:"AutoScalingGroupName"`
	AutoScalingGroupARN  string         `xml:"AutoScalingGroupARN"`
	Description          string         `xml:"Description"`
	Cause                string         `xml:"Cause"`
	StartTime            wire.Timestamp `xml:"StartTime"`
	EndTime              wire.Timestamp `xml:"EndTime"`
	StatusCode           string         `xml:"StatusCode"`
	Progress             int            `xml:"Progress"`
	Details              string         `xml:"Details"`
}

type describeActivitiesResult struct {
	Activities []xmlActivity `xml:"Activities>member"`
	NextToken  string        `xml:"NextToken,omitempty"`
}

func encodeDescribeGroups(out *DescribeAutoScalingGroupsOutput) any {
	res := describeGroupsResult{NextToken: out.NextToken}
	for _, g := range out.Groups {
		x := xmlGroup{
			Name: g.Name, ARN: g.ARN, MinSize: g.Min, MaxSize: g.Max, DesiredCapacity: g.Desired, DefaultCooldown: g.DefaultCooldown,
			AvailabilityZones: g.AvailabilityZones, HealthCheckType: g.HealthCheckType, HealthCheckGracePeriod: g.HealthCheckGracePeriod,
			CreatedTime: wire.Timestamp(g.CreatedTime), TargetGroupARNs: g.TargetGroupARNs, ServiceLinkedRoleARN: g.ServiceLinkedRoleARN,
		}
		for _, in := range g.Instances {
			x.Instances = append(x.Instances, xmlInstance{InstanceID: in.ID, InstanceType: in.Type, AvailabilityZone: in.AvailabilityZone,
				LifecycleState: in.LifecycleState, HealthStatus: in.HealthStatus, ProtectedFromScaleIn: in.ProtectedFromScaleIn})
		}
		for _, t := range g.Tags {
			x.Tags = append(x.Tags, xmlTag{ResourceID: t.ResourceID, ResourceType: t.ResourceType, Key: t.Key, Value: t.Value, PropagateAtLaunch: t.PropagateAtLaunch})
		}
		res.Groups = append(res.Groups, x)
	}
	return res
}

func encodeDescribeScheduledActions(out *DescribeScheduledActionsOutput) any {
	res := describeScheduledResult{NextToken: out.NextToken}
	for _, a := range out.Actions {
		res.Actions = append(res.Actions, xmlScheduledAction{Group: a.GroupName, Name: a.Name, ARN: a.ARN,
			Time: wire.Timestamp(a.StartTime), StartTime: wire.Timestamp(a.StartTime), EndTime: wire.OptionalTimestamp(a.EndTime),
			MinSize: a.MinSize, MaxSize: a.MaxSize, DesiredCapacity: a.Desired})
	}
	return res
}

func encodeDescribeScalingActivities(out *DescribeScalingActivitiesOutput) any {
	res := describeActivitiesResult{NextToken: out.NextToken}
	for _, a := range out.Activities {
		res.Activities = append(res.Activities, xmlActivity{ActivityID: a.ID, AutoScalingGroupName: a.GroupName, AutoScalingGroupARN: a.GroupARN,
			Description: a.Description, Cause: a.Cause, StartTime: wire.Timestamp(a.Start), EndTime: wire.Timestamp(a.End),
			StatusCode: a.StatusCode, Progress: a.Progress, Details: a.Details})
	}
	return res
}
