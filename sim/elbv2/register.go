// Package elbv2 emulates the Elastic Load Balancing v2 calls the product
// uses: describing target groups (the ASG -> ALB link) and target health.
package elbv2

import (
	"sort"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleQuery("elasticloadbalancing", &wire.QueryService{
		Version: "2015-12-01", XMLNS: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
		Ops: map[string]wire.QueryOp{
			"DescribeTargetGroups": b.describeTargetGroups,
			"DescribeTargetHealth": b.describeTargetHealth,
		},
	})
}

type backend struct{ w *sim.World }

type xmlTargetGroup struct {
	ARN                        string   `xml:"TargetGroupArn"`
	Name                       string   `xml:"TargetGroupName"`
	Protocol                   string   `xml:"Protocol"`
	Port                       int      `xml:"Port"`
	VpcID                      string   `xml:"VpcId"`
	HealthCheckProtocol        string   `xml:"HealthCheckProtocol"`
	HealthCheckPort            string   `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool     `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int      `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int      `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int      `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int      `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string   `xml:"HealthCheckPath"`
	TargetType                 string   `xml:"TargetType"`
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
}

type describeTargetGroupsResult struct {
	TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
	NextMarker   string           `xml:"NextMarker,omitempty"`
}

type xmlTargetHealthDescription struct {
	Target struct {
		ID   string `xml:"Id"`
		Port int    `xml:"Port"`
	} `xml:"Target"`
	HealthCheckPort string `xml:"HealthCheckPort"`
	TargetHealth    struct {
		State       string `xml:"State"`
		Reason      string `xml:"Reason,omitempty"`
		Description string `xml:"Description,omitempty"`
	} `xml:"TargetHealth"`
}

type describeTargetHealthResult struct {
	Descriptions []xmlTargetHealthDescription `xml:"TargetHealthDescriptions>member"`
}

func errTargetGroupNotFound(what string) *sim.APIError {
	return sim.NewAPIError(400, "TargetGroupNotFound", "One or more target groups not found: %s", what)
}

func (b *backend) describeTargetGroups(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	arns, names, lb := p.List("TargetGroupArns.member"), p.List("Names.member"), p.String("LoadBalancerArn")
	size, _, err := p.Int("PageSize")
	if err != nil {
		return nil, err
	}
	var out describeTargetGroupsResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
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
				return sim.NewAPIError(400, "LoadBalancerNotFound", "One or more load balancers not found: %s", lb)
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
			if len(arns) > 0 && !contains(arns, tg.ARN) || len(names) > 0 && !contains(names, tg.Name) || lb != "" && tg.LoadBalancer.ARN != lb {
				continue
			}
			list = append(list, tg)
		}
		page, err := sim.Paginate(len(list), p.String("Marker"), int(size), 400, 1, 400, "PageSize")
		if err != nil {
			err.Code = "ValidationError"
			return err
		}
		for _, tg := range list[page.Start:page.End] {
			out.TargetGroups = append(out.TargetGroups, xmlTargetGroup{
				ARN: tg.ARN, Name: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcID: "vpc-0a1b2c3d4e5f60718",
				HealthCheckProtocol: "HTTP", HealthCheckPort: "traffic-port", HealthCheckEnabled: true,
				HealthCheckIntervalSeconds: 30, HealthCheckTimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2,
				HealthCheckPath: "/health", TargetType: "instance", LoadBalancerArns: []string{tg.LoadBalancer.ARN},
			})
		}
		out.NextMarker = page.Next
		return nil
	})
	return out, err
}

func (b *backend) describeTargetHealth(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	arn, err := p.Required("TargetGroupArn")
	if err != nil {
		return nil, err
	}
	var out describeTargetHealthResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var tg *sim.TargetGroup
		for _, t := range r.TargetGroups {
			if t.ARN == arn {
				tg = t
			}
		}
		if tg == nil {
			return errTargetGroupNotFound(arn)
		}
		for _, in := range tg.ASG.Instances {
			var d xmlTargetHealthDescription
			d.Target.ID, d.Target.Port, d.HealthCheckPort = in.ID, tg.Port, "8080"
			if in.LifecycleState == "InService" {
				d.TargetHealth.State = "healthy"
			} else {
				d.TargetHealth.State = "initial"
				d.TargetHealth.Reason = "Elb.RegistrationInProgress"
				d.TargetHealth.Description = "Target registration is in progress"
			}
			out.Descriptions = append(out.Descriptions, d)
		}
		return nil
	})
	return out, err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
