package collector

import "github.com/prometheus/client_golang/prometheus"

// osCPUScraper: OS CPU per instance from the fresh sources (Enhanced
// Monitoring's cpuUtilization.total, else Performance Insights'
// os.cpuUtilization.total.avg) and its average per role over the
// instances that have it. Seconds old instead of CloudWatch's minutes.
type osCPUScraper struct {
	role, instance *prometheus.Desc
}

func newOSCPUScraper() *osCPUScraper {
	return &osCPUScraper{
		role:     desc("role", "os_cpu_utilization_ratio", "Average OS CPU utilisation (0-1) of the role's instances that have a fresh signal (Enhanced Monitoring, else Performance Insights).", roleLabels...),
		instance: desc("instance", "os_cpu_utilization_ratio", "OS CPU utilisation (0-1) from Enhanced Monitoring's cpuUtilization.total, else Performance Insights' os.cpuUtilization.total.avg; absent when the instance has neither.", instanceLabels...),
	}
}

func (s *osCPUScraper) Name() string { return "os_cpu" }
func (s *osCPUScraper) Help() string {
	return "OS CPU per instance and role from Enhanced Monitoring or Performance Insights."
}
func (s *osCPUScraper) Plan(*Inventory) FamilyPlan { return nil }
func (s *osCPUScraper) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.role
	ch <- s.instance
}

func (s *osCPUScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, c := range snap.Inventory.Clusters {
		sum, n := map[string]float64{}, map[string]int{}
		for _, in := range c.Instances {
			v := freshSignal(snap, in)
			if !v.hasCPU || in.Role == "" {
				continue
			}
			snap.emit(ch, s.instance, v.cpu, v.newest, c.Account, c.Region, c.ID, in.ID, in.Role)
			sum[in.Role] += v.cpu
			n[in.Role]++
		}
		for _, r := range roles {
			if n[r] > 0 {
				snap.emitInventory(ch, s.role, sum[r]/float64(n[r]), c.Account, c.Region, c.ID, r)
			}
		}
	}
}
