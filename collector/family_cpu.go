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

func (s *cpuScraper) Queries(inv *Inventory) []MetricQuery {
	var qs []MetricQuery
	for _, c := range inv.Clusters {
		for _, r := range roles {
			qs = append(qs, rdsQuery(s.Name(), c.Scope, "CPUUtilization", "Average", clusterDim(c.ID), roleDim(r)))
		}
		for _, in := range c.Instances {
			if queried(in) {
				qs = append(qs, rdsQuery(s.Name(), c.Scope, "CPUUtilization", "Average", instanceDim(in.ID)))
			}
		}
	}
	return qs
}

func (s *cpuScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, c := range snap.Inventory.Clusters {
		for _, r := range roles {
			snap.emitValue(ch, s.role, rdsQuery(s.Name(), c.Scope, "CPUUtilization", "Average", clusterDim(c.ID), roleDim(r)), 0.01, c.Account, c.Region, c.ID, r)
		}
		for _, in := range c.Instances {
			snap.emitValue(ch, s.instance, rdsQuery(s.Name(), c.Scope, "CPUUtilization", "Average", instanceDim(in.ID)), 0.01, c.Account, c.Region, c.ID, in.ID, in.Role)
		}
	}
}
