package collector

import "github.com/prometheus/client_golang/prometheus"

// cpuScraper: CPU per role ({DBClusterIdentifier, Role}: the same average
// RDSReaderAverageCPUUtilization uses) and per instance with its current
// role, which follows a failover within one discovery refresh.
type cpuScraper struct {
	role, instance *prometheus.Desc
}

func newCPUScraper() *cpuScraper {
	return &cpuScraper{
		role:     desc("role", "cpu_utilization_ratio", "Average CPU utilisation of the cluster's instances in the role (CloudWatch CPUUtilization by DBClusterIdentifier and Role, / 100).", roleLabels...),
		instance: desc("instance", "cpu_utilization_ratio", "CPU utilisation of the instance (CloudWatch CPUUtilization / 100); role is its current role.", instanceLabels...),
	}
}

func (s *cpuScraper) Name() string { return "cpu" }
func (s *cpuScraper) Help() string { return "CPU utilisation per role and per instance." }

func (s *cpuScraper) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.role
	ch <- s.instance
}

func (s *cpuScraper) Plan(inv *Inventory) FamilyPlan {
	p := &seriesPlan{}
	for _, c := range inv.Clusters {
		for _, r := range roles {
			p.add(s.role, 0.01, rdsQuery(s.Name(), c.Scope, "CPUUtilization", "Average", clusterDim(c.ID), roleDim(r)), roleSeriesLabels(c, r))
		}
		for _, in := range c.Instances {
			if queried(in) {
				p.add(s.instance, 0.01, rdsQuery(s.Name(), c.Scope, "CPUUtilization", "Average", instanceDim(in.ID)), instanceSeriesLabels(c, in))
			}
		}
	}
	return p
}

func (s *cpuScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	snap.emitPlanned(ch, s.Name())
}
