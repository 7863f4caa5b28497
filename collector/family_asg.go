package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// asgScraper: Auto Scaling groups. Sizes from DescribeAutoScalingGroups
// (no group-metrics enablement needed); requests per instance from the ALB
// target group's RequestCountPerTarget, per second; CPU from AWS/EC2.
type asgScraper struct {
	period                               time.Duration
	desired, inService, minSize, maxSize *prometheus.Desc
	requests, cpu                        *prometheus.Desc
}

var (
	asgLabels = []string{"account", "region", "asg"}
	tgLabels  = []string{"account", "region", "asg", "target_group"}
)

func newASGScraper(period time.Duration) *asgScraper {
	return &asgScraper{
		period:    period,
		desired:   desc("asg", "desired_instances", "Desired capacity of the Auto Scaling group (DescribeAutoScalingGroups).", asgLabels...),
		inService: desc("asg", "in_service_instances", "Instances InService in the group (DescribeAutoScalingGroups).", asgLabels...),
		minSize:   desc("asg", "min_instances", "Minimum size of the group.", asgLabels...),
		maxSize:   desc("asg", "max_instances", "Maximum size of the group.", asgLabels...),
		requests:  desc("asg", "requests_per_instance_per_second", "Requests per target per second from the group's ALB target group (CloudWatch RequestCountPerTarget Sum / period). Multiply by 60 for the field's req/min thresholds.", tgLabels...),
		cpu:       desc("asg", "cpu_utilization_ratio", "Average CPU of the group's instances (CloudWatch AWS/EC2 CPUUtilization by AutoScalingGroupName, / 100).", asgLabels...),
	}
}

func (s *asgScraper) Name() string { return "asg" }
func (s *asgScraper) Help() string {
	return "Auto Scaling group sizes, CPU and ALB requests per instance."
}

func (s *asgScraper) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.desired, s.inService, s.minSize, s.maxSize, s.requests, s.cpu} {
		ch <- d
	}
}

func (s *asgScraper) tgQuery(g *ASGInfo, tg TargetGroupInfo) MetricQuery {
	return MetricQuery{Scope: g.Scope, Family: s.Name(), Namespace: "AWS/ApplicationELB", Metric: "RequestCountPerTarget",
		Dims: []Dim{{"TargetGroup", tg.Dimension}}, Stat: "Sum"}
}

func (s *asgScraper) cpuQuery(g *ASGInfo) MetricQuery {
	return MetricQuery{Scope: g.Scope, Family: s.Name(), Namespace: "AWS/EC2", Metric: "CPUUtilization",
		Dims: []Dim{{"AutoScalingGroupName", g.Name}}, Stat: "Average"}
}

func (s *asgScraper) Plan(inv *Inventory) FamilyPlan {
	p := &seriesPlan{}
	for _, g := range inv.ASGs {
		p.add(s.cpu, 0.01, s.cpuQuery(g), func(ix *inventoryIndex) ([]string, bool) {
			cur, ok := ix.asgs[scopedID{g.Scope, g.Name}]
			if !ok {
				return nil, false
			}
			return []string{cur.Account, cur.Region, cur.Name}, true
		})
		for _, tg := range g.TargetGroups {
			// Labelled with the target group's current name, while the
			// group still routes to it.
			p.add(s.requests, 1/s.period.Seconds(), s.tgQuery(g, tg), func(ix *inventoryIndex) ([]string, bool) {
				cur, ok := ix.asgs[scopedID{g.Scope, g.Name}]
				if !ok {
					return nil, false
				}
				for _, t := range cur.TargetGroups {
					if t.Dimension == tg.Dimension {
						return []string{cur.Account, cur.Region, cur.Name, t.Name}, true
					}
				}
				return nil, false
			})
		}
	}
	return p
}

func (s *asgScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, g := range snap.Inventory.ASGs {
		l := []string{g.Account, g.Region, g.Name}
		snap.emitInventory(ch, s.desired, float64(g.Desired), l...)
		snap.emitInventory(ch, s.inService, float64(g.InService), l...)
		snap.emitInventory(ch, s.minSize, float64(g.Min), l...)
		snap.emitInventory(ch, s.maxSize, float64(g.Max), l...)
	}
	snap.emitPlanned(ch, s.Name())
}
