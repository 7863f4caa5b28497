package sim

import (
	"sort"
	"time"
)

// Truth is the model's true state, for tests, benchmarks and the admin
// endpoint: what the exporter and scaler should end up seeing.
type Truth struct {
	Now      time.Time      `json:"now"`
	Accounts []AccountTruth `json:"accounts"`
}

type AccountTruth struct {
	ID          string        `json:"id"`
	Regions     []RegionTruth `json:"regions"`
	HostedZones []ZoneTruth   `json:"hosted_zones,omitempty"`
}

type RegionTruth struct {
	Name     string         `json:"name"`
	Clusters []ClusterTruth `json:"clusters"`
	ASGs     []ASGTruth     `json:"asgs,omitempty"`
	Series   int            `json:"cloudwatch_series"`
}

type ClusterTruth struct {
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Writer          string          `json:"writer"`
	DNSWriter       string          `json:"dns_writer"`
	DNSReaders      []string        `json:"dns_readers"`
	ClusterEndpoint string          `json:"cluster_endpoint"`
	ReaderEndpoint  string          `json:"reader_endpoint"`
	MinACU          float64         `json:"min_acu,omitempty"`
	MaxACU          float64         `json:"max_acu,omitempty"`
	Users           float64         `json:"users"`
	FailedReads     float64         `json:"failed_reads"`  // = App.ReadsFailedTotal
	FailedWrites    float64         `json:"failed_writes"` // = App.WritesFailedTotal
	App             AppTruth        `json:"app"`
	Instances       []InstanceTruth `json:"instances"`
	Proxy           *ProxyTruth     `json:"proxy,omitempty"`
}

// AppTruth is the application driving a cluster: the names it connects
// through, how many of its clients each instance currently receives
// (by their cached DNS answers; "" counts clients whose answer leads
// nowhere), and its query totals.
type AppTruth struct {
	ReadEndpoint  string         `json:"read_endpoint"`
	WriteEndpoint string         `json:"write_endpoint"`
	Clients       int            `json:"clients"`
	ReadClients   map[string]int `json:"read_clients"`
	WriteClients  map[string]int `json:"write_clients"`
	AppStats
}

type InstanceTruth struct {
	ID           string    `json:"id"`
	Role         string    `json:"role"`
	Class        string    `json:"class"`
	Tier         int       `json:"tier"`
	AZ           string    `json:"az"`
	Status       string    `json:"status"`
	AvailableAt  time.Time `json:"available_at"`
	ACU          float64   `json:"acu,omitempty"`
	CPU          float64   `json:"cpu_percent"`
	Connections  float64   `json:"connections"`
	ReadLatency  float64   `json:"read_latency_seconds"`
	WriteLatency float64   `json:"write_latency_seconds"`
	ReadQPS      float64   `json:"read_qps"`
	WriteQPS     float64   `json:"write_qps"`
	Tags         []Tag     `json:"tags,omitempty"`
}

type ProxyTruth struct {
	Name                string  `json:"name"`
	ClientConnections   float64 `json:"client_connections"`
	DatabaseConnections float64 `json:"database_connections"`
	PinnedConnections   float64 `json:"pinned_connections"`
}

type ASGTruth struct {
	Name                string   `json:"name"`
	Min                 int      `json:"min"`
	Max                 int      `json:"max"`
	Desired             int      `json:"desired"`
	InService           int      `json:"in_service"`
	Pending             int      `json:"pending"`
	RequestsPerInstance float64  `json:"requests_per_instance_per_minute"`
	CPU                 float64  `json:"cpu_percent"`
	ScheduledActions    []string `json:"scheduled_actions,omitempty"`
}

type ZoneTruth struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Served []RecordSet `json:"served_records"`
}

// Truth snapshots the world.
func (w *World) Truth() Truth {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
	t := Truth{Now: w.now}
	for _, a := range w.Accounts() {
		at := AccountTruth{ID: a.ID}
		for _, r := range a.SortedRegions() {
			rt := RegionTruth{Name: r.Name, Series: r.Metrics.Len(), Clusters: []ClusterTruth{}}
			for _, c := range r.SortedClusters() {
				rt.Clusters = append(rt.Clusters, clusterTruth(r, c))
			}
			for _, g := range r.SortedASGs() {
				gt := ASGTruth{Name: g.Name, Min: g.Min, Max: g.Max, Desired: g.Desired, InService: g.InServiceCount(),
					Pending: len(g.Instances) - g.InServiceCount(), RequestsPerInstance: g.RequestsPerInstance, CPU: g.CPU}
				for n := range g.Scheduled {
					gt.ScheduledActions = append(gt.ScheduledActions, n)
				}
				sort.Strings(gt.ScheduledActions)
				rt.ASGs = append(rt.ASGs, gt)
			}
			at.Regions = append(at.Regions, rt)
		}
		zones := make([]*HostedZone, 0, len(a.HostedZones))
		for _, z := range a.HostedZones {
			zones = append(zones, z)
		}
		sort.Slice(zones, func(i, j int) bool { return zones[i].Name < zones[j].Name })
		for _, z := range zones {
			zt := ZoneTruth{ID: z.ID, Name: z.Name}
			for _, rs := range z.Served {
				zt.Served = append(zt.Served, *rs)
			}
			at.HostedZones = append(at.HostedZones, zt)
		}
		t.Accounts = append(t.Accounts, at)
	}
	return t
}

func clusterTruth(r *Region, c *Cluster) ClusterTruth {
	ct := ClusterTruth{
		ID: c.ID, Status: c.Status, Writer: c.Writer, DNSWriter: c.DNSWriter,
		DNSReaders: append([]string(nil), c.DNSReaders...), ClusterEndpoint: r.ClusterEndpoint(c.ID),
		ReaderEndpoint: r.ReaderEndpoint(c.ID), Users: c.Traffic.Users,
	}
	if app := c.App; app != nil {
		ct.App = AppTruth{ReadEndpoint: app.ReadName, WriteEndpoint: app.WriteName, Clients: len(app.clients),
			ReadClients: app.clientsByInstance(false), WriteClients: app.clientsByInstance(true), AppStats: app.stats.clone()}
		ct.FailedReads, ct.FailedWrites = app.stats.ReadsFailedTotal, app.stats.WritesFailedTotal
	}
	if c.Serverless != nil {
		ct.MinACU, ct.MaxACU = c.Serverless.Min, c.Serverless.Max
	}
	for _, id := range c.Members {
		in := r.Instances[id]
		if in == nil {
			continue
		}
		role := "reader"
		if id == c.Writer {
			role = "writer"
		}
		ct.Instances = append(ct.Instances, InstanceTruth{
			ID: in.ID, Role: role, Class: in.Class, Tier: in.Tier, AZ: in.AZ, Status: in.Status, AvailableAt: in.AvailableAt,
			ACU: in.ACU, CPU: in.CPU, Connections: in.Connections, ReadLatency: in.ReadLatency, WriteLatency: in.WriteLatency,
			ReadQPS: in.ReadQPS, WriteQPS: in.WriteQPS, Tags: in.Tags,
		})
	}
	if p := c.Proxy; p != nil {
		ct.Proxy = &ProxyTruth{Name: p.Name, ClientConnections: p.ClientConnections, DatabaseConnections: p.DatabaseConnections, PinnedConnections: p.PinnedConnections}
	}
	return ct
}

// Cluster finds a cluster's truth by id in any account and region.
func (t Truth) Cluster(id string) (ClusterTruth, bool) {
	for _, a := range t.Accounts {
		for _, r := range a.Regions {
			for _, c := range r.Clusters {
				if c.ID == id {
					return c, true
				}
			}
		}
	}
	return ClusterTruth{}, false
}

// SetUsers overrides a cluster's traffic curve (nil restores the curve):
// the admin API's way to play an unscripted avalanche.
func (w *World) SetUsers(clusterID string, users *float64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
	for _, a := range w.accounts {
		for _, r := range a.Regions {
			if c := r.Clusters[clusterID]; c != nil {
				c.Traffic.Override = users
				return true
			}
		}
	}
	return false
}
