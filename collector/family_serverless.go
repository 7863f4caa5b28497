package collector

import "github.com/prometheus/client_golang/prometheus"

// serverlessScraper: Aurora Serverless v2 capacity. Current ACU and ACU
// utilisation per instance from CloudWatch; the configured range from
// DescribeDBClusters (ServerlessV2ScalingConfiguration).
type serverlessScraper struct {
	acu, utilization, minACU, maxACU *prometheus.Desc
}

func newServerlessScraper() *serverlessScraper {
	return &serverlessScraper{
		acu:         desc("instance", "serverless_capacity_acu", "Current Serverless v2 capacity of the instance in ACU (CloudWatch ServerlessDatabaseCapacity, newest datapoint).", instanceLabels...),
		utilization: desc("instance", "acu_utilization_ratio", "Serverless v2 capacity as a ratio of the cluster's max ACU (CloudWatch ACUUtilization / 100).", instanceLabels...),
		minACU:      desc("cluster", "serverless_min_capacity_acu", "Configured Serverless v2 minimum ACU per instance (DescribeDBClusters).", clusterLabels...),
		maxACU:      desc("cluster", "serverless_max_capacity_acu", "Configured Serverless v2 maximum ACU per instance (DescribeDBClusters).", clusterLabels...),
	}
}

func (s *serverlessScraper) Name() string { return "serverless" }
func (s *serverlessScraper) Help() string {
	return "Serverless v2 ACU per instance and the cluster's configured range."
}

func (s *serverlessScraper) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.acu
	ch <- s.utilization
	ch <- s.minACU
	ch <- s.maxACU
}

func (s *serverlessScraper) Plan(inv *Inventory) FamilyPlan {
	p := &seriesPlan{}
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			if in.Serverless() && queried(in) {
				l := serverlessLabels(c, in)
				p.add(s.acu, 1, rdsQuery(s.Name(), c.Scope, "ServerlessDatabaseCapacity", "Average", instanceDim(in.ID)), l)
				p.add(s.utilization, 0.01, rdsQuery(s.Name(), c.Scope, "ACUUtilization", "Average", instanceDim(in.ID)), l)
			}
		}
	}
	return p
}

// serverlessLabels: an instance that stopped being Serverless v2 (a class
// change) has no ACU series.
func serverlessLabels(c *ClusterInfo, in *InstanceInfo) func(ix *inventoryIndex) ([]string, bool) {
	return func(ix *inventoryIndex) ([]string, bool) {
		cur, ok := ix.instances[scopedID{c.Scope, in.ID}]
		if !ok || !cur.Serverless() {
			return nil, false
		}
		return ix.instanceLabelsNow(c, in)
	}
}

func (s *serverlessScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, c := range snap.Inventory.Clusters {
		if c.Serverless {
			snap.emitInventory(ch, s.minACU, c.MinACU, c.Account, c.Region, c.ID)
			snap.emitInventory(ch, s.maxACU, c.MaxACU, c.Account, c.Region, c.ID)
		}
	}
	snap.emitPlanned(ch, s.Name())
}
