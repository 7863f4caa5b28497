package collector

import "github.com/prometheus/client_golang/prometheus"

// dbLoadScraper: Performance Insights' DB load (average active sessions)
// per instance and role, and against the vCPUs: above 1 the sessions
// queue for CPU, which shows saturation before CPU utilisation (pinned
// at 100 %) can.
type dbLoadScraper struct {
	role, instance           *prometheus.Desc
	rolePerVCPU, instPerVCPU *prometheus.Desc
}

func newDBLoadScraper() *dbLoadScraper {
	return &dbLoadScraper{
		instance:    desc("instance", "db_load_average_active_sessions", "DB load: average active sessions (Performance Insights db.load.avg, newest 1 s period).", instanceLabels...),
		role:        desc("role", "db_load_average_active_sessions", "Average DB load per instance of the role, over the instances with Performance Insights.", roleLabels...),
		instPerVCPU: desc("instance", "db_load_per_vcpu_ratio", "DB load / vCPUs (vCPUs from Enhanced Monitoring's numVCPUs, else the instance class; Serverless v2 needs Enhanced Monitoring).", instanceLabels...),
		rolePerVCPU: desc("role", "db_load_per_vcpu_ratio", "Sum of the role's DB load / sum of their vCPUs, over the instances that have both.", roleLabels...),
	}
}

func (s *dbLoadScraper) Name() string { return "db_load" }
func (s *dbLoadScraper) Help() string {
	return "DB load (average active sessions) per instance and role, and per vCPU, from Performance Insights."
}
func (s *dbLoadScraper) Plan(*Inventory) FamilyPlan { return nil }
func (s *dbLoadScraper) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.instance
	ch <- s.role
	ch <- s.instPerVCPU
	ch <- s.rolePerVCPU
}

func (s *dbLoadScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, c := range snap.Inventory.Clusters {
		load, n := map[string]float64{}, map[string]int{}
		vload, vcpus := map[string]float64{}, map[string]int{}
		for _, in := range c.Instances {
			v := freshSignal(snap, in)
			if !v.hasLoad || in.Role == "" {
				continue
			}
			pi := snap.PI[in.ResourceID]
			snap.emit(ch, s.instance, v.load, pi.DBLoadTime, c.Account, c.Region, c.ID, in.ID, in.Role)
			load[in.Role] += v.load
			n[in.Role]++
			if v.vcpus > 0 {
				snap.emit(ch, s.instPerVCPU, v.load/float64(v.vcpus), pi.DBLoadTime, c.Account, c.Region, c.ID, in.ID, in.Role)
				vload[in.Role] += v.load
				vcpus[in.Role] += v.vcpus
			}
		}
		for _, r := range roles {
			if n[r] > 0 {
				snap.emitInventory(ch, s.role, load[r]/float64(n[r]), c.Account, c.Region, c.ID, r)
			}
			if vcpus[r] > 0 {
				snap.emitInventory(ch, s.rolePerVCPU, vload[r]/float64(vcpus[r]), c.Account, c.Region, c.ID, r)
			}
		}
	}
}
