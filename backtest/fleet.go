package backtest

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/rules"
	"github.com/aurora-surge/aurora-surge/sim"
)

// Fleet is what the policies scale, derived from the scenario and the
// world it started: every cluster and ASG, the record the applications
// read through, and the event's onset and end.
type Fleet struct {
	Account     string
	Region      string
	ClusterDefs []FleetCluster // sorted by id
	ASGs        []FleetASG
	Onset       time.Time // traffic.event_start
	End         time.Time // the last keyframe: load back at its baseline
}

type FleetCluster struct {
	ID         string
	ReadRecord *RecordRef
	MaxACU     float64 // the scenario's configured max (0: provisioned)
	MinACU     float64
	Readers    int // readers at the start
	PeakUsers  float64
	Traffic    sim.TrafficDef
}

type FleetASG struct {
	Name, Tier, TargetGroup string
	Desired, Min, Max       int
	RequestShare            float64
	Cluster                 string
	// TargetRequests is the group's requests per instance per minute
	// target, the tier's as the shipped rules give it
	// (rules/gen/thresholds.yml: the first tier whose regex matches the
	// name).
	TargetRequests float64
}

// RecordRef is a Route 53 record in a hosted zone.
type RecordRef struct {
	ZoneID string
	Name   string
}

// Clusters are the clusters' ids.
func (f Fleet) Clusters() []string {
	out := make([]string, 0, len(f.ClusterDefs))
	for _, c := range f.ClusterDefs {
		out = append(out, c.ID)
	}
	return out
}

func (f Fleet) asgNames() []string {
	var out []string
	for _, g := range f.ASGs {
		out = append(out, g.Name)
	}
	return out
}

// ReadRecordNames are the records applications read through.
func (f Fleet) ReadRecordNames() []string {
	var out []string
	for _, c := range f.ClusterDefs {
		if c.ReadRecord != nil {
			out = append(out, c.ReadRecord.Name)
		}
	}
	return out
}

// fleetOf derives the fleet from a started world. A backtest runs one
// account and region: the scaler and the baselines act with one set of
// credentials, as the emulator's default account.
func fleetOf(w *sim.World) (Fleet, error) {
	sc := w.Scenario()
	truth := w.Truth()
	f := Fleet{}
	th, err := rules.DefaultThresholds()
	if err != nil {
		return f, err
	}
	if len(sc.Fleets) == 0 {
		return f, fmt.Errorf("scenario %s has no fleet", sc.Name)
	}
	for _, fd := range sc.Fleets {
		if fd.Count > 1 {
			return f, fmt.Errorf("fleet %s: count %d: the backtest plays fleets of one cluster each", fd.Name, fd.Count)
		}
		region := fd.Region
		if region == "" {
			region = sim.DefaultRegion
		}
		if f.Region == "" {
			f.Region = region
		} else if f.Region != region {
			return f, fmt.Errorf("fleet %s is in %s, another fleet in %s: the backtest plays one region", fd.Name, region, f.Region)
		}
		if fd.Account != "" && fd.Account != sim.DefaultAccountID && (len(sc.Accounts) == 0 || fd.Account != sc.Accounts[0].ID) {
			return f, fmt.Errorf("fleet %s is in account %s: the backtest plays the scenario's first account", fd.Name, fd.Account)
		}
		c := FleetCluster{ID: fd.Cluster.ID, Traffic: fd.Traffic}
		if fd.Cluster.ServerlessV2 != nil {
			c.MinACU, c.MaxACU = fd.Cluster.ServerlessV2.Min, fd.Cluster.ServerlessV2.Max
		}
		for _, in := range fd.Cluster.Instances {
			if !in.Writer {
				c.Readers++
			}
		}
		for _, k := range fd.Traffic.Keyframes {
			c.PeakUsers = max(c.PeakUsers, k.Users)
		}
		c.ReadRecord = readRecord(sc, truth, fd.Cluster.ID, fd.Traffic.ReadEndpoint)
		f.ClusterDefs = append(f.ClusterDefs, c)
		for _, g := range fd.ASGs {
			f.ASGs = append(f.ASGs, FleetASG{Name: g.Name, Tier: g.Tier, TargetGroup: g.TargetGroup, Desired: g.Desired, Min: g.Min, Max: g.Max,
				RequestShare: g.RequestShare, Cluster: c.ID, TargetRequests: th.ASG.RequestsTargetFor(g.Name)})
		}
		onset := w.Start().Add(fd.Traffic.EventStart)
		end := onset
		if n := len(fd.Traffic.Keyframes); n > 0 {
			end = onset.Add(fd.Traffic.Keyframes[n-1].At)
		}
		if f.Onset.IsZero() || onset.Before(f.Onset) {
			f.Onset = onset
		}
		if end.After(f.End) {
			f.End = end
		}
	}
	f.Account = sim.DefaultAccountID
	if len(sc.Accounts) > 0 {
		f.Account = sc.Accounts[0].ID
	}
	sort.Slice(f.ClusterDefs, func(i, j int) bool { return f.ClusterDefs[i].ID < f.ClusterDefs[j].ID })
	return f, nil
}

// readRecord finds the record the applications read through: the
// traffic's read_endpoint when it names a record of a hosted zone, else a
// CNAME the scenario points at the cluster's reader endpoint.
func readRecord(sc *sim.Scenario, truth sim.Truth, cluster, readEndpoint string) *RecordRef {
	if readEndpoint != "" && !strings.HasPrefix(readEndpoint, "${") {
		name := strings.TrimSuffix(readEndpoint, ".") + "."
		for _, at := range truth.Accounts {
			for _, zt := range at.HostedZones {
				for _, r := range zt.Served {
					if strings.EqualFold(r.Name, name) {
						return &RecordRef{ZoneID: zt.ID, Name: r.Name}
					}
				}
			}
		}
		return nil
	}
	// The world expands the placeholder when it starts.
	want := map[string]bool{"${reader_endpoint:" + cluster + "}": true}
	if c, ok := truth.Cluster(cluster); ok {
		want[strings.TrimSuffix(c.ReaderEndpoint, ".")] = true
	}
	for _, a := range sc.Accounts {
		for _, z := range a.HostedZones {
			for _, r := range z.Records {
				if !strings.EqualFold(r.Type, "CNAME") || len(r.Values) != 1 || !want[strings.TrimSuffix(r.Values[0], ".")] {
					continue
				}
				for _, at := range truth.Accounts {
					for _, zt := range at.HostedZones {
						if zt.Name == z.Name {
							return &RecordRef{ZoneID: zt.ID, Name: r.Name}
						}
					}
				}
			}
		}
	}
	return nil
}
