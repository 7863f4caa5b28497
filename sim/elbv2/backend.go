package elbv2

import (
	"slices"
	"sort"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

type DescribeTargetGroupsInput struct {
	TargetGroupARNs, Names []string
	LoadBalancerARN        string
	PageSize               int // 0: 400
	Marker                 string
}

type TargetGroup struct {
	ARN, Name, Protocol                     string
	Port                                    int
	VpcID                                   string
	HealthCheckProtocol                     string
	HealthCheckPort                         string
	HealthCheckEnabled                      bool
	HealthCheckInterval, HealthCheckTimeout time.Duration
	HealthyThreshold, UnhealthyThreshold    int
	HealthCheckPath                         string
	TargetType                              string
	LoadBalancerARNs                        []string
}

type DescribeTargetGroupsOutput struct {
	TargetGroups []TargetGroup
	NextMarker   string
}

type DescribeTargetHealthInput struct{ TargetGroupARN string }

type TargetHealthDescription struct {
	TargetID        string
	Port            int
	HealthCheckPort string
	State, Reason   string
	Description     string
}

type DescribeTargetHealthOutput struct {
	Descriptions []TargetHealthDescription
}

type backend struct{ w *sim.World }

func (b *backend) DescribeTargetGroups(c sim.CallContext, in *DescribeTargetGroupsInput) (*DescribeTargetGroupsOutput, *sim.APIError) {
	arns, names, lb := in.TargetGroupARNs, in.Names, in.LoadBalancerARN
	out := &DescribeTargetGroupsOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var all []*sim.TargetGroup
		for _, tg := range r.TargetGroups {
			all = append(all, tg)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].ARN < all[j].ARN })
		if lb != "" {
			found := false
			for _, l := range r.LoadBalancers {
				found = found || l.ARN == lb
			}
			if !found {
				return errLoadBalancerNotFound(lb)
			}
		}
		byARN, byName := map[string]*sim.TargetGroup{}, map[string]*sim.TargetGroup{}
		for _, tg := range all {
			byARN[tg.ARN], byName[tg.Name] = tg, tg
		}
		for _, a := range arns {
			if byARN[a] == nil {
				return errTargetGroupNotFound(a)
			}
		}
		for _, n := range names {
			if byName[n] == nil {
				return errTargetGroupNotFound(n)
			}
		}
		var list []*sim.TargetGroup
		for _, tg := range all {
			if len(arns) > 0 && !slices.Contains(arns, tg.ARN) || len(names) > 0 && !slices.Contains(names, tg.Name) || lb != "" && tg.LoadBalancer.ARN != lb {
				continue
			}
			list = append(list, tg)
		}
		page, err := sim.Paginate(len(list), in.Marker, in.PageSize, 400, 1, 400, "PageSize")
		if err != nil {
			return validation("%s", err.Message)
		}
		for _, tg := range list[page.Start:page.End] {
			out.TargetGroups = append(out.TargetGroups, TargetGroup{
				ARN: tg.ARN, Name: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcID: "vpc-0a1b2c3d4e5f60718",
				HealthCheckProtocol: "HTTP", HealthCheckPort: "traffic-port", HealthCheckEnabled: true,
				HealthCheckInterval: 30 * time.Second, HealthCheckTimeout: 5 * time.Second, HealthyThreshold: 5, UnhealthyThreshold: 2,
				HealthCheckPath: "/health", TargetType: "instance", LoadBalancerARNs: []string{tg.LoadBalancer.ARN},
			})
		}
		out.NextMarker = page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DescribeTargetHealth reports an instance healthy once its group has it
// InService, and in registration before.
func (b *backend) DescribeTargetHealth(c sim.CallContext, in *DescribeTargetHealthInput) (*DescribeTargetHealthOutput, *sim.APIError) {
	arn := in.TargetGroupARN
	if arn == "" {
		return nil, sim.ErrMissingParameter("TargetGroupArn")
	}
	out := &DescribeTargetHealthOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var tg *sim.TargetGroup
		for _, t := range r.TargetGroups {
			if t.ARN == arn {
				tg = t
			}
		}
		if tg == nil {
			return errTargetGroupNotFound(arn)
		}
		for _, inst := range tg.ASG.Instances {
			d := TargetHealthDescription{TargetID: inst.ID, Port: tg.Port, HealthCheckPort: "8080", State: "healthy"}
			if inst.LifecycleState != "InService" {
				d.State, d.Reason, d.Description = "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
			}
			out.Descriptions = append(out.Descriptions, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
