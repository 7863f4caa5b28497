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
	Values    map[string]Datapoint
	DNS       *DNSState
	// OS and PI are the fresh sources' newest samples by DbiResourceId
	// (nil when the source is off or stale).
	OS               map[string]OSSample
	PI               map[string]PISample
	ExportTimestamps bool
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

// emitValue sends the query's newest datapoint, scaled, if CloudWatch had
// one. Missing data is not zero: nothing is emitted.
func (s *Snapshot) emitValue(ch chan<- prometheus.Metric, d *prometheus.Desc, q MetricQuery, scale float64, labels ...string) (float64, bool) {
	if s.Values == nil || !nonEmpty(labels) {
		return 0, false
	}
	dp, ok := s.Values[q.Key()]
	if !ok {
		return 0, false
	}
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
