package collector

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Where an instance's fresh signal comes from.
const (
	signalEnhancedMonitoring  = "enhanced_monitoring"
	signalPerformanceInsights = "performance_insights"
	signalCloudWatch          = "cloudwatch" // neither: only the 1-minute CloudWatch metrics
)

// freshView is what the fresh sources say about one instance: OS CPU
// from Performance Insights when it holds one, else from Enhanced
// Monitoring; DB load from Performance Insights; vCPUs from the Enhanced
// Monitoring document, else from the class. Performance Insights reads
// the CPU only of instances whose Enhanced Monitoring is off, slower
// than the Performance Insights refresh, or silent (DecidePISchedule),
// so its CPU, when present, is the fresher of the two.
type freshView struct {
	source  string
	newest  time.Time // newest datapoint of the signal (zero for cloudwatch)
	cpu     float64
	hasCPU  bool
	load    float64
	hasLoad bool
	vcpus   int
}

func freshSignal(snap *Snapshot, in *InstanceInfo) freshView {
	v := freshView{source: signalCloudWatch}
	em, hasEM := snap.OS[in.ResourceID]
	pi, hasPI := snap.PI[in.ResourceID]
	if in.ResourceID == "" {
		hasEM, hasPI = false, false
	}
	hasPI = hasPI && (pi.HasCPU || pi.HasDBLoad)
	switch {
	case hasPI && pi.HasCPU:
		v.source, v.cpu, v.hasCPU, v.newest = signalPerformanceInsights, pi.CPU, true, pi.CPUTime
	case hasEM:
		v.source, v.cpu, v.hasCPU, v.newest = signalEnhancedMonitoring, em.CPU, true, em.Time
	case hasPI:
		v.source = signalPerformanceInsights
	}
	if hasPI && pi.HasDBLoad {
		v.load, v.hasLoad = pi.DBLoad, true
		if v.source == signalPerformanceInsights && pi.DBLoadTime.After(v.newest) {
			v.newest = pi.DBLoadTime
		}
	}
	if hasEM && em.VCPUs > 0 {
		v.vcpus = em.VCPUs
	} else if !in.Serverless() {
		// Serverless v2's vCPUs follow its capacity; only the Enhanced
		// Monitoring document says how many it has now.
		v.vcpus, _ = classVCPUs(in.Class)
	}
	return v
}

// classVCPUs is the vCPU count of a provisioned Aurora class (db.r*, db.x2g,
// db.t*): large 2, xlarge 4, Nxlarge 4N; the burstable medium and small 2.
func classVCPUs(class string) (int, bool) {
	i := strings.LastIndexByte(class, '.')
	if !strings.HasPrefix(class, "db.") || i < 0 || class == "db.serverless" {
		return 0, false
	}
	switch size := class[i+1:]; {
	case size == "small" || size == "medium" || size == "large":
		return 2, true
	case size == "xlarge":
		return 4, true
	case strings.HasSuffix(size, "xlarge"):
		n, err := strconv.Atoi(strings.TrimSuffix(size, "xlarge"))
		if err != nil || n < 2 {
			return 0, false
		}
		return 4 * n, true
	}
	return 0, false
}

// freshSignalScraper says which source each instance's fresh signal comes
// from and how old it is, so rules can prefer it and fall back to
// CloudWatch when it is absent or stale.
type freshSignalScraper struct {
	source, age *prometheus.Desc
}

func newFreshSignalScraper() *freshSignalScraper {
	return &freshSignalScraper{
		source: desc("instance", "fresh_signal_source", "1 for the source of the instance's fresh signal: enhanced_monitoring, performance_insights, or cloudwatch when it has neither (the 1-minute CloudWatch metrics only).", append(instanceLabels, "source")...),
		age:    desc("instance", "fresh_signal_age_seconds", "Age of the newest fresh datapoint (Enhanced Monitoring document or Performance Insights period) as of the source's last refresh; absent for cloudwatch.", append(instanceLabels, "source")...),
	}
}

func (s *freshSignalScraper) Name() string { return "fresh_signal" }
func (s *freshSignalScraper) Help() string {
	return "Source and age of each instance's fresh signal (Enhanced Monitoring, Performance Insights or CloudWatch fallback)."
}
func (s *freshSignalScraper) Plan(*Inventory) FamilyPlan { return nil }
func (s *freshSignalScraper) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.source
	ch <- s.age
}

func (s *freshSignalScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, c := range snap.Inventory.Clusters {
		for _, in := range c.Instances {
			v := freshSignal(snap, in)
			snap.emitInventory(ch, s.source, 1, c.Account, c.Region, c.ID, in.ID, in.Role, v.source)
			if !v.newest.IsZero() {
				snap.emitInventory(ch, s.age, max(0, snap.Now.Sub(v.newest).Seconds()), c.Account, c.Region, c.ID, in.ID, in.Role, v.source)
			}
		}
	}
}
