package backtest

import (
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Sample is the world's ground truth at one instant: what the policies
// did to the fleet and what the users got, as the report and the plot
// read it.
type Sample struct {
	At              time.Time `json:"at"`
	Users           float64   `json:"users"`
	ReadersUp       int       `json:"readers_available"`
	ReadersCreating int       `json:"readers_creating"`
	ReadersDeleting int       `json:"readers_deleting"`
	ReaderCPU       float64   `json:"reader_cpu_percent"` // mean over available readers
	MaxACU          float64   `json:"max_acu"`            // sum of the clusters' configured max
	ACU             float64   `json:"acu"`                // sum of current ACU
	ASGDesired      int       `json:"asg_desired"`        // sum over the ASGs
	ASGInService    int       `json:"asg_in_service"`
	// ASGOverTarget counts the ASGs whose instances serve more than
	// their target requests per minute plus the 10 % tolerance.
	ASGOverTarget int     `json:"asg_over_target"`
	FailedReads   float64 `json:"failed_reads"` // cumulative
	FailedWrites  float64 `json:"failed_writes"`
}

// appStats sums the applications' ground truth over the fleet's
// clusters: query totals and the read latency histogram (the emulator's
// buckets are the same for every cluster).
func appStats(w *sim.World, f Fleet) sim.AppStats {
	var sum sim.AppStats
	for _, c := range f.Clusters() {
		st, ok := w.AppStats(f.Account, f.Region, c)
		if !ok {
			continue
		}
		sum.ReadsTotal += st.ReadsTotal
		sum.ReadsFailedTotal += st.ReadsFailedTotal
		sum.WritesTotal += st.WritesTotal
		sum.WritesFailedTotal += st.WritesFailedTotal
		if sum.ReadLatency.Bounds == nil {
			sum.ReadLatency = sim.LatencyHistogram{Bounds: st.ReadLatency.Bounds, Counts: make([]float64, len(st.ReadLatency.Counts))}
		}
		for i, n := range st.ReadLatency.Counts {
			if i < len(sum.ReadLatency.Counts) {
				sum.ReadLatency.Counts[i] += n
			}
		}
		sum.ReadLatency.Sum += st.ReadLatency.Sum
	}
	return sum
}

// observe samples the world (lock held by Truth) for the fleet's clusters.
func observe(w *sim.World, f Fleet) Sample {
	t := w.Truth()
	s := Sample{At: t.Now}
	want := map[string]bool{}
	for _, c := range f.Clusters() {
		want[c] = true
	}
	asgs := map[string]float64{}
	for _, g := range f.ASGs {
		asgs[g.Name] = g.TargetRequests
	}
	var cpuSum float64
	for _, a := range t.Accounts {
		for _, r := range a.Regions {
			for _, c := range r.Clusters {
				if !want[c.ID] {
					continue
				}
				s.Users += c.Users
				s.MaxACU += c.MaxACU
				for _, in := range c.Instances {
					s.ACU += in.ACU
					if in.Role == "writer" || in.Role == "WRITER" || in.ID == c.Writer {
						continue
					}
					switch in.Status {
					case sim.StatusAvailable:
						s.ReadersUp++
						cpuSum += in.CPU
					case sim.StatusCreating:
						s.ReadersCreating++
					case sim.StatusDeleting:
						s.ReadersDeleting++
					}
				}
			}
			for _, g := range r.ASGs {
				if target, ok := asgs[g.Name]; ok {
					s.ASGDesired += g.Desired
					s.ASGInService += g.InService
					if target > 0 && g.RequestsPerInstance > target*1.1 {
						s.ASGOverTarget++
					}
				}
			}
		}
	}
	if s.ReadersUp > 0 {
		s.ReaderCPU = cpuSum / float64(s.ReadersUp)
	}
	app := appStats(w, f)
	s.FailedReads, s.FailedWrites = app.ReadsFailedTotal, app.WritesFailedTotal
	return s
}
