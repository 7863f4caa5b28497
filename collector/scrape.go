package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "aurora"

// Scraper is one metric family (one file each): the CloudWatch queries it
// needs for an inventory, and how it turns a snapshot into series.
type Scraper interface {
	// Name is the family's name, used in --collector.<name> flags and in
	// aurora_exporter_cloudwatch_datapoint_age_seconds{family}.
	Name() string
	Help() string
	QueryPlanner
	Describe(ch chan<- *prometheus.Desc)
	Collect(s *Snapshot, ch chan<- prometheus.Metric)
}

// Snapshot is what one /metrics request sees: each source's data if it is
// fresh enough to serve, nil where a source is past the staleness limit.
type Snapshot struct {
	Now       time.Time
	Inventory *Inventory
	// CloudWatch is the newest refresh's plans and answers.
	CloudWatch *CloudWatchData
	DNS        *DNSState
	// OS and PI are the fresh sources' newest samples by DbiResourceId
	// (nil when the source is off or stale).
	OS               map[string]OSSample
	PI               map[string]PISample
	ExportTimestamps bool

	index *inventoryIndex
}

// plan is the family's plan from the newest CloudWatch refresh, nil when
// CloudWatch's data is not served (stale or never refreshed).
func (s *Snapshot) plan(family string) FamilyPlan {
	if s.CloudWatch == nil || s.Inventory == nil {
		return nil
	}
	return s.CloudWatch.Plan(family)
}

// scopedID names a resource of the inventory.
type scopedID struct {
	Scope
	ID string
}

// inventoryIndex finds the current inventory's resources by identity: a
// family's plan was made from the inventory of the CloudWatch refresh, and
// its series carry the identity (role, membership) discovery says now, as
// the instance's role follows a failover within one discovery refresh.
type inventoryIndex struct {
	clusters  map[scopedID]*ClusterInfo
	instances map[scopedID]*InstanceInfo
	proxies   map[scopedID]*ProxyInfo
	asgs      map[scopedID]*ASGInfo
}

func (s *Snapshot) inventory() *inventoryIndex {
	if s.index != nil {
		return s.index
	}
	ix := &inventoryIndex{clusters: map[scopedID]*ClusterInfo{}, instances: map[scopedID]*InstanceInfo{},
		proxies: map[scopedID]*ProxyInfo{}, asgs: map[scopedID]*ASGInfo{}}
	if inv := s.Inventory; inv != nil {
		for _, c := range inv.Clusters {
			ix.clusters[scopedID{c.Scope, c.ID}] = c
			for _, in := range c.Instances {
				ix.instances[scopedID{c.Scope, in.ID}] = in
			}
		}
		for _, p := range inv.Proxies {
			ix.proxies[scopedID{p.Scope, p.Name}] = p
		}
		for _, g := range inv.ASGs {
			ix.asgs[scopedID{g.Scope, g.Name}] = g
		}
	}
	s.index = ix
	return ix
}

// instanceLabelsNow are an instance's labels as the inventory has it now;
// false when it is gone.
func (ix *inventoryIndex) instanceLabelsNow(c *ClusterInfo, in *InstanceInfo) ([]string, bool) {
	cur, ok := ix.instances[scopedID{c.Scope, in.ID}]
	if !ok {
		return nil, false
	}
	return []string{c.Account, c.Region, c.ID, cur.ID, cur.Role}, true
}

// clusterKnown reports whether the cluster is still in the inventory.
func (ix *inventoryIndex) clusterKnown(c *ClusterInfo) bool {
	_, ok := ix.clusters[scopedID{c.Scope, c.ID}]
	return ok
}

// roleLabels resolves a cluster's series for role r.
func roleSeriesLabels(c *ClusterInfo, r string) func(ix *inventoryIndex) ([]string, bool) {
	return func(ix *inventoryIndex) ([]string, bool) {
		return []string{c.Account, c.Region, c.ID, r}, ix.clusterKnown(c)
	}
}

// instanceSeriesLabels resolves an instance's series with its current role.
func instanceSeriesLabels(c *ClusterInfo, in *InstanceInfo) func(ix *inventoryIndex) ([]string, bool) {
	return func(ix *inventoryIndex) ([]string, bool) { return ix.instanceLabelsNow(c, in) }
}

// seriesPlan is the plan of a family whose queries each feed one series:
// the query, the descriptor and scale it is emitted with, and the labels
// of its resource in the current inventory.
type seriesPlan struct {
	queries []*PlannedQuery
	series  []plannedSeries
}

type plannedSeries struct {
	desc   *prometheus.Desc
	scale  float64
	q      *PlannedQuery
	labels func(ix *inventoryIndex) ([]string, bool)
}

func (p *seriesPlan) Queries() []*PlannedQuery { return p.queries }

// add plans q as the series of d, scaled, labelled by labels.
func (p *seriesPlan) add(d *prometheus.Desc, scale float64, q MetricQuery, labels func(ix *inventoryIndex) ([]string, bool)) {
	pq := &PlannedQuery{MetricQuery: q}
	p.queries = append(p.queries, pq)
	p.series = append(p.series, plannedSeries{desc: d, scale: scale, q: pq, labels: labels})
}

// emitPlanned sends every answered series of the family's plan whose
// resource is still in the inventory.
func (s *Snapshot) emitPlanned(ch chan<- prometheus.Metric, family string) {
	p, ok := s.plan(family).(*seriesPlan)
	if !ok {
		return
	}
	ix := s.inventory()
	for _, ps := range p.series {
		if !ps.q.Answered {
			continue
		}
		if l, ok := ps.labels(ix); ok {
			s.emitValue(ch, ps.desc, ps.q, ps.scale, l...)
		}
	}
}

// Labels shared by every family. Values are real identifiers, never empty
// or placeholders: a series without its identity is not emitted. The DB
// cluster and instance are db_cluster and db_instance: Prometheus attaches
// instance and job to every target (an exporter's own instance would be
// renamed exported_instance) and Kubernetes setups attach cluster.
var (
	clusterLabels  = []string{"account", "region", "db_cluster"}
	instanceLabels = []string{"account", "region", "db_cluster", "db_instance", "role"}
	roleLabels     = []string{"account", "region", "db_cluster", "role"}
)

func desc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
}

// emitValue sends the planned query's newest datapoint, scaled, if
// CloudWatch had one. Missing data is not zero: nothing is emitted.
func (s *Snapshot) emitValue(ch chan<- prometheus.Metric, d *prometheus.Desc, q *PlannedQuery, scale float64, labels ...string) (float64, bool) {
	if q == nil || !q.Answered || !nonEmpty(labels) {
		return 0, false
	}
	dp := q.Point
	v := dp.Value * scale
	s.emit(ch, d, v, dp.Time, labels...)
	return v, true
}

func (s *Snapshot) emit(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, ts time.Time, labels ...string) {
	m := prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if s.ExportTimestamps && !ts.IsZero() {
		m = prometheus.NewMetricWithTimestamp(ts, m)
	}
	ch <- m
}

// emitInventory sends a value known from the AWS APIs (no timestamp).
func (s *Snapshot) emitInventory(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	if !nonEmpty(labels) {
		return
	}
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func nonEmpty(labels []string) bool {
	for _, l := range labels {
		if l == "" {
			return false
		}
	}
	return true
}

// rdsQuery builds an AWS/RDS query in a scope.
func rdsQuery(family string, sc Scope, metric, stat string, dims ...Dim) MetricQuery {
	return MetricQuery{Scope: sc, Family: family, Namespace: "AWS/RDS", Metric: metric, Dims: dims, Stat: stat}
}

func instanceDim(id string) Dim { return Dim{"DBInstanceIdentifier", id} }
func clusterDim(id string) Dim  { return Dim{"DBClusterIdentifier", id} }
func roleDim(role string) Dim   { return Dim{"Role", cwRole(role)} }
func cwRole(role string) string {
	if role == RoleWriter {
		return "WRITER"
	}
	return "READER"
}

// queried reports whether an instance publishes metrics: creating ones
// do not yet, so asking would only cost queries.
func queried(in *InstanceInfo) bool { return in.Status != "creating" && in.Status != "unknown" }

var roles = []string{RoleWriter, RoleReader}
