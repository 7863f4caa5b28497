package policy

import (
	"fmt"
	"sort"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Fleet is what a policy scales: every cluster and ASG of a scenario's
// fleets in one account and region.
type Fleet struct {
	Account    string
	Region     string
	Clusters   []string
	ASGs       []ASG
	EventStart time.Time // the earliest event start of the fleets
}

// ASG is one Auto Scaling group and what its policies need to know.
type ASG struct {
	Name        string
	Tier        string    // web or api: selects the per-tier targets
	TargetGroup string    // target group name (its ARN comes from the API)
	EventStart  time.Time // traffic.event_start of the group's fleet
}

// FleetFromScenario gathers every cluster and ASG of the scenario (count
// copies included, named as the emulator names them) for a run starting
// at start. For a scenario spanning accounts or regions, use
// FleetsFromScenario: one SDK configuration reaches one of them.
func FleetFromScenario(sc *sim.Scenario, start time.Time) Fleet {
	var all Fleet
	for i, f := range FleetsFromScenario(sc, start) {
		if i == 0 {
			all.Account, all.Region, all.EventStart = f.Account, f.Region, f.EventStart
		}
		all.Clusters = append(all.Clusters, f.Clusters...)
		all.ASGs = append(all.ASGs, f.ASGs...)
		if f.EventStart.Before(all.EventStart) {
			all.EventStart = f.EventStart
		}
	}
	return all
}

// FleetsFromScenario is FleetFromScenario split by account and region,
// in order of first appearance.
func FleetsFromScenario(sc *sim.Scenario, start time.Time) []Fleet {
	var out []Fleet
	index := map[string]int{}
	for _, f := range sc.Fleets {
		key := f.Account + "/" + f.Region
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Fleet{Account: f.Account, Region: f.Region})
		}
		fl := &out[i]
		count := max(f.Count, 1)
		event := start.Add(f.Traffic.EventStart)
		if len(fl.Clusters) == 0 && len(fl.ASGs) == 0 || event.Before(fl.EventStart) {
			fl.EventStart = event
		}
		for n := 0; n < count; n++ {
			suffix := ""
			if count > 1 {
				suffix = fmt.Sprintf("-%03d", n+1) // as sim stamps out copies
			}
			fl.Clusters = append(fl.Clusters, f.Cluster.ID+suffix)
			for _, g := range f.ASGs {
				tg := g.TargetGroup + suffix
				if g.TargetGroup == "" {
					tg = g.Name + suffix + "-tg"
				}
				fl.ASGs = append(fl.ASGs, ASG{Name: g.Name + suffix, Tier: g.Tier, TargetGroup: tg, EventStart: event})
			}
		}
	}
	for i := range out {
		sort.Strings(out[i].Clusters)
	}
	return out
}
