package sim

import (
	"math"
	"sort"
	"strings"
	"time"
)

// Dim is a CloudWatch dimension.
type Dim struct{ Name, Value string }

// MaxDims bounds the dimensions a simulated series carries (AWS allows 30;
// the metrics modelled here use at most 3).
const MaxDims = 4

// SeriesKey identifies a metric: namespace, name and dimensions sorted by
// name. It is comparable, so lookups on the hot sampling path allocate
// nothing.
type SeriesKey struct {
	Namespace, Name string
	Dims            [MaxDims]Dim
}

// NewSeriesKey sorts dims; more than MaxDims cannot match any series.
func NewSeriesKey(ns, name string, dims []Dim) (SeriesKey, bool) {
	k := SeriesKey{Namespace: ns, Name: name}
	if len(dims) > MaxDims {
		return k, false
	}
	d := k.Dims[:len(dims)]
	copy(d, dims)
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	return k, true
}

// DimList returns the key's dimensions.
func (k SeriesKey) DimList() []Dim {
	n := 0
	for n < MaxDims && k.Dims[n].Name != "" {
		n++
	}
	return k.Dims[:n:n]
}

// Kind says how per-tick samples aggregate into a minute.
type Kind int

const (
	// Gauge: time-weighted mean per source; SampleCount is the number of
	// sources (instances) aggregated, so Sum adds them up as CloudWatch
	// does for cluster-level metrics.
	Gauge Kind = iota
	// Counter: samples are per-second rates; Sum is the total in the period.
	Counter
)

// Point is one published datapoint (a closed period of the resolution).
type Point struct {
	T           time.Time
	Sum         float64
	SampleCount float64
	Min, Max    float64
}

// Stat evaluates a CloudWatch statistic; percentiles are not modelled
// (the store keeps aggregates, not distributions).
func (p Point) Stat(stat string) (float64, bool) {
	switch stat {
	case "Average":
		if p.SampleCount == 0 {
			return 0, true
		}
		return p.Sum / p.SampleCount, true
	case "Sum":
		return p.Sum, true
	case "Minimum":
		return p.Min, true
	case "Maximum":
		return p.Max, true
	case "SampleCount":
		return p.SampleCount, true
	}
	return 0, false
}

type Series struct {
	Key    SeriesKey
	Unit   string
	Kind   Kind
	points []Point // closed periods, ascending, trimmed to retention

	accStart    time.Time
	accWeighted float64 // sum of value*dt
	accTime     float64 // sum of dt (seconds), per source
	accSources  float64 // sources sampled per tick (max over the period)
	accMin      float64
	accMax      float64
	tickSources float64
	tickAt      time.Time
}

// MetricStore is one region's CloudWatch: series fed by the model, closed
// into datapoints at the resolution.
type MetricStore struct {
	resolution time.Duration
	retention  time.Duration
	series     map[SeriesKey]*Series
	sorted     []*Series // cached listing order; nil when stale
	period     time.Time // period currently accumulating
}

// rollover closes every series still accumulating an earlier period, so a
// series whose source disappeared (a deleted instance) still publishes its
// last partial minute and then stops.
func (m *MetricStore) rollover(periodStart time.Time) {
	if m.period.Equal(periodStart) {
		return
	}
	m.period = periodStart
	for _, s := range m.series {
		if s.accStart.Before(periodStart) {
			s.close(m, periodStart)
		}
	}
}

func NewMetricStore(resolution, retention time.Duration) *MetricStore {
	return &MetricStore{resolution: resolution, retention: retention, series: map[SeriesKey]*Series{}}
}

func (m *MetricStore) Resolution() time.Duration { return m.resolution }

// Lookup finds a series by key.
func (m *MetricStore) Lookup(k SeriesKey) *Series { return m.series[k] }

// Len is the number of series.
func (m *MetricStore) Len() int { return len(m.series) }

// All lists series ordered by namespace, name, then dimensions: the stable
// order ListMetrics pages through.
func (m *MetricStore) All() []*Series {
	if m.sorted == nil {
		m.sorted = make([]*Series, 0, len(m.series))
		for _, s := range m.series {
			m.sorted = append(m.sorted, s)
		}
		sort.Slice(m.sorted, func(i, j int) bool { return keyLess(m.sorted[i].Key, m.sorted[j].Key) })
	}
	return m.sorted
}

func keyLess(a, b SeriesKey) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	for i := 0; i < MaxDims; i++ {
		if a.Dims[i] != b.Dims[i] {
			if a.Dims[i].Name != b.Dims[i].Name {
				return a.Dims[i].Name < b.Dims[i].Name
			}
			return a.Dims[i].Value < b.Dims[i].Value
		}
	}
	return false
}

// sample adds one source's value for the tick ending at now.
func (m *MetricStore) sample(k SeriesKey, unit string, kind Kind, now time.Time, dt time.Duration, v float64) {
	s := m.series[k]
	if s == nil {
		s = &Series{Key: k, Unit: unit, Kind: kind}
		m.series[k] = s
		m.sorted = nil
	}
	periodStart := now.Add(-dt).Truncate(m.resolution)
	if !s.accStart.Equal(periodStart) {
		s.close(m, periodStart)
	}
	if !s.tickAt.Equal(now) {
		s.tickAt = now
		s.tickSources = 0
	}
	s.tickSources++
	if s.tickSources > s.accSources {
		s.accSources = s.tickSources
	}
	sec := dt.Seconds()
	s.accWeighted += v * sec
	s.accTime += sec
	if s.accTime == sec || v < s.accMin {
		s.accMin = v
	}
	if s.accTime == sec || v > s.accMax {
		s.accMax = v
	}
}

// close publishes the accumulated period (if any) and starts the next.
func (s *Series) close(m *MetricStore, next time.Time) {
	if s.accTime > 0 && !s.accStart.IsZero() {
		var p Point
		p.T = s.accStart
		p.Min, p.Max = s.accMin, s.accMax
		switch s.Kind {
		case Counter:
			p.Sum, p.SampleCount = s.accWeighted, 1
			p.Min, p.Max = p.Sum, p.Sum
		default:
			// accTime sums every source's dt, so this is the mean over
			// sources and time; Sum adds the sources up.
			mean := s.accWeighted / s.accTime
			p.SampleCount = s.accSources
			p.Sum = mean * s.accSources
		}
		s.points = append(s.points, p)
		cutoff := next.Add(-m.retention)
		i := 0
		for i < len(s.points) && s.points[i].T.Before(cutoff) {
			i++
		}
		if i > 0 {
			s.points = append(s.points[:0], s.points[i:]...)
		}
	}
	s.accStart = next
	s.accWeighted, s.accTime, s.accSources, s.accMin, s.accMax = 0, 0, 0, 0, 0
	s.tickAt = time.Time{}
}

// Points returns published datapoints with start <= T < end whose period
// ended at or before visibleBefore (publication lag), ascending.
func (s *Series) Points(start, end, visibleBefore time.Time, resolution time.Duration) []Point {
	lo := sort.Search(len(s.points), func(i int) bool { return !s.points[i].T.Before(start) })
	var out []Point
	for _, p := range s.points[lo:] {
		if !p.T.Before(end) || p.T.Add(resolution).After(visibleBefore) {
			break
		}
		out = append(out, p)
	}
	return out
}

// Aggregate merges resolution-sized points into period buckets aligned to
// the period (as CloudWatch aligns them), ascending.
func Aggregate(points []Point, period time.Duration) []Point {
	var out []Point
	for _, p := range points {
		b := p.T.Truncate(period)
		if n := len(out); n > 0 && out[n-1].T.Equal(b) {
			q := &out[n-1]
			q.Sum += p.Sum
			q.SampleCount += p.SampleCount
			q.Min = math.Min(q.Min, p.Min)
			q.Max = math.Max(q.Max, p.Max)
			continue
		}
		p.T = b
		out = append(out, p)
	}
	return out
}

// Publication delay is shared by every query of a region.
func (w *World) VisibleBefore(now time.Time) time.Time { return now.Add(-w.P.PublicationDelay) }

// metric namespaces and units as AWS publishes them.
const (
	NamespaceRDS = "AWS/RDS"
	NamespaceELB = "AWS/ApplicationELB"
	NamespaceASG = "AWS/AutoScaling"
	NamespaceEC2 = "AWS/EC2"
	UnitPercent  = "Percent"
	UnitCount    = "Count"
	UnitSeconds  = "Seconds"
	UnitNone     = "None"
)

func (w *World) sampleMetrics(r *Region, now time.Time, dt time.Duration) {
	m := r.Metrics
	m.rollover(now.Add(-dt).Truncate(m.resolution))
	put := func(ns, name, unit string, kind Kind, v float64, dims ...Dim) {
		k, _ := NewSeriesKey(ns, name, dims)
		m.sample(k, unit, kind, now, dt, v)
	}
	for _, c := range r.SortedClusters() {
		cd := Dim{"DBClusterIdentifier", c.ID}
		for _, id := range c.Members {
			in := r.Instances[id]
			if in == nil || in.Status != StatusAvailable && in.Status != StatusModifying {
				continue // creating and deleting instances publish nothing
			}
			role := "READER"
			if in.ID == c.Writer {
				role = "WRITER"
			}
			rd := Dim{"Role", role}
			idim := Dim{"DBInstanceIdentifier", in.ID}
			for _, dims := range [][]Dim{{idim}, {cd}, {cd, rd}} {
				put(NamespaceRDS, "CPUUtilization", UnitPercent, Gauge, in.CPU, dims...)
				put(NamespaceRDS, "DatabaseConnections", UnitCount, Gauge, in.Connections, dims...)
				put(NamespaceRDS, "ReadLatency", UnitSeconds, Gauge, in.ReadLatency, dims...)
				put(NamespaceRDS, "WriteLatency", UnitSeconds, Gauge, in.WriteLatency, dims...)
				put(NamespaceRDS, "ReadThroughput", "Count/Second", Gauge, in.ReadQPS, dims...)
				put(NamespaceRDS, "WriteThroughput", "Count/Second", Gauge, in.WriteQPS, dims...)
				if in.Serverless() && c.Serverless != nil {
					acu := math.Max(0.5, math.Ceil(in.ACU*2)/2)
					put(NamespaceRDS, "ServerlessDatabaseCapacity", UnitCount, Gauge, acu, dims...)
					put(NamespaceRDS, "ACUUtilization", UnitPercent, Gauge, 100*acu/c.Serverless.Max, dims...)
				}
			}
		}
		if p := c.Proxy; p != nil {
			pd := Dim{"ProxyName", p.Name}
			tg := Dim{"TargetGroup", ProxyTargetGroup}
			put(NamespaceRDS, "ClientConnections", UnitCount, Gauge, p.ClientConnections, pd)
			for _, dims := range [][]Dim{{pd}, {pd, tg, {"TargetRole", "READ_WRITE"}}, {pd, tg, {"Target", "db:" + c.DNSWriter}}} {
				put(NamespaceRDS, "DatabaseConnections", UnitCount, Gauge, p.DatabaseConnections, dims...)
				put(NamespaceRDS, "DatabaseConnectionsCurrentlySessionPinned", UnitCount, Gauge, p.PinnedConnections, dims...)
				put(NamespaceRDS, "DatabaseConnectionsCurrentlyBorrowed", UnitCount, Gauge, p.DatabaseConnections-p.PinnedConnections, dims...)
			}
		}
	}
	for _, g := range r.SortedASGs() {
		gd := Dim{"AutoScalingGroupName", g.Name}
		pending := len(g.Instances) - g.InServiceCount()
		put(NamespaceASG, "GroupMinSize", UnitNone, Gauge, float64(g.Min), gd)
		put(NamespaceASG, "GroupMaxSize", UnitNone, Gauge, float64(g.Max), gd)
		put(NamespaceASG, "GroupDesiredCapacity", UnitNone, Gauge, float64(g.Desired), gd)
		put(NamespaceASG, "GroupInServiceInstances", UnitNone, Gauge, float64(g.InServiceCount()), gd)
		put(NamespaceASG, "GroupPendingInstances", UnitNone, Gauge, float64(pending), gd)
		put(NamespaceASG, "GroupTotalInstances", UnitNone, Gauge, float64(len(g.Instances)), gd)
		put(NamespaceEC2, "CPUUtilization", UnitPercent, Gauge, g.CPU, gd)
		for _, tg := range g.TargetGroups {
			td := Dim{"TargetGroup", tg.MetricDimension()}
			ld := Dim{"LoadBalancer", tg.LoadBalancer.MetricDimension()}
			perTargetPerSec := tg.RequestsPerTargetMinute / 60
			put(NamespaceELB, "RequestCountPerTarget", UnitCount, Counter, perTargetPerSec, td)
			put(NamespaceELB, "RequestCountPerTarget", UnitCount, Counter, perTargetPerSec, ld, td)
			put(NamespaceELB, "RequestCount", UnitCount, Counter, perTargetPerSec*float64(g.InServiceCount()), ld, td)
			put(NamespaceELB, "HealthyHostCount", UnitCount, Gauge, float64(g.InServiceCount()), ld, td)
		}
	}
}

// MatchDims reports whether a series has exactly these dimension names
// and, where a value is given, that value (ListMetrics filter semantics).
func MatchDims(k SeriesKey, filter []Dim) bool {
	have := k.DimList()
	for _, f := range filter {
		found := false
		for _, d := range have {
			if d.Name == f.Name && (f.Value == "" || f.Value == d.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// String renders a key for logs and ground truth.
func (k SeriesKey) String() string {
	var b strings.Builder
	b.WriteString(k.Namespace + "/" + k.Name)
	for _, d := range k.DimList() {
		b.WriteString(" " + d.Name + "=" + d.Value)
	}
	return b.String()
}
