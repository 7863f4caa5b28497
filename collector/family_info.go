package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// infoScraper: identity of clusters and instances as info series (value
// 1), for joins in rules and dashboards.
type infoScraper struct {
	cluster, instance *prometheus.Desc
}

func newInfoScraper() *infoScraper {
	return &infoScraper{
		cluster:  desc("cluster", "info", "Cluster identity and state (DescribeDBClusters); value 1.", "account", "region", "db_cluster", "engine", "engine_version", "status", "writer"),
		instance: desc("instance", "info", "Instance identity and state (DescribeDBInstances); value 1.", "account", "region", "db_cluster", "db_instance", "role", "class", "promotion_tier", "availability_zone", "status"),
	}
}

func (s *infoScraper) Name() string                        { return "info" }
func (s *infoScraper) Help() string                        { return "Cluster and instance info series." }
func (s *infoScraper) Plan(*Inventory) FamilyPlan          { return nil }
func (s *infoScraper) Describe(ch chan<- *prometheus.Desc) { ch <- s.cluster; ch <- s.instance }

func (s *infoScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, c := range snap.Inventory.Clusters {
		snap.emitInventory(ch, s.cluster, 1, c.Account, c.Region, c.ID, c.Engine, c.EngineVersion, c.Status, c.Writer)
		for _, in := range c.Instances {
			snap.emitInventory(ch, s.instance, 1, c.Account, c.Region, c.ID, in.ID, in.Role, in.Class, strconv.Itoa(in.Tier), in.AZ, in.Status)
		}
	}
}
