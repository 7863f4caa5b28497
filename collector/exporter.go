package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Exporter is the prometheus.Collector behind /metrics. It only reads
// memory: sources refresh in the background, so a scrape never waits on
// AWS and any number of Prometheus replicas cost nothing more.
type Exporter struct {
	runner     *Runner
	discovery  *Discovery
	cloudwatch *CloudWatchSource
	dns        *DNSSource
	em         *EnhancedMonitoringSource
	pi         *PerformanceInsightsSource
	scrapers   []Scraper
	staleAfter time.Duration
	exportTS   bool
	clock      Clock

	up, lastSuccess, duration, age *prometheus.Desc
	datapointAge                   *prometheus.Desc
}

// ExporterOptions wires the parts.
type ExporterOptions struct {
	Runner     *Runner
	Discovery  *Discovery
	CloudWatch *CloudWatchSource
	DNS        *DNSSource // nil when DNS checks are disabled
	// EnhancedMonitoring and PerformanceInsights are nil when off.
	EnhancedMonitoring  *EnhancedMonitoringSource
	PerformanceInsights *PerformanceInsightsSource
	Scrapers            []Scraper
	StaleAfter          time.Duration
	ExportTimestamps    bool
	Clock               Clock
}

func NewExporter(o ExporterOptions) *Exporter {
	self := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("aurora_exporter", "", name), help, labels, nil)
	}
	return &Exporter{
		runner: o.Runner, discovery: o.Discovery, cloudwatch: o.CloudWatch, dns: o.DNS, scrapers: o.Scrapers,
		em: o.EnhancedMonitoring, pi: o.PerformanceInsights,
		staleAfter: o.StaleAfter, exportTS: o.ExportTimestamps, clock: o.Clock,
		up:           self("source_up", "1 if the source's last refresh succeeded.", "source"),
		lastSuccess:  self("source_last_success_timestamp_seconds", "Unix time of the source's last successful refresh.", "source"),
		duration:     self("source_refresh_duration_seconds", "Duration of the source's last refresh.", "source"),
		age:          self("source_data_age_seconds", "Age of the data served from the source (time since its last successful refresh).", "source"),
		datapointAge: self("cloudwatch_datapoint_age_seconds", "Age of the newest CloudWatch datapoint served for the family.", "family"),
	}
}

// Sources lists the source names readiness waits for.
func (e *Exporter) Sources() []string {
	names := []string{e.discovery.Name(), e.cloudwatch.Name()}
	if e.dns != nil {
		names = append(names, e.dns.Name())
	}
	if e.em != nil {
		names = append(names, e.em.Name())
	}
	if e.pi != nil {
		names = append(names, e.pi.Name())
	}
	return names
}

func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{e.up, e.lastSuccess, e.duration, e.age, e.datapointAge} {
		ch <- d
	}
	for _, s := range e.scrapers {
		s.Describe(ch)
	}
}

// Snapshot assembles what a scrape may serve now: each source's data only
// while it is within the staleness limit.
func (e *Exporter) Snapshot() *Snapshot {
	now := e.clock.Now()
	snap := &Snapshot{Now: now, ExportTimestamps: e.exportTS}
	if e.runner.Status(e.discovery.Name()).Fresh(now, e.staleAfter) {
		snap.Inventory = e.discovery.Inventory()
	}
	if e.runner.Status(e.cloudwatch.Name()).Fresh(now, e.staleAfter) {
		snap.CloudWatch = e.cloudwatch.Data()
	}
	if e.dns != nil && e.runner.Status(e.dns.Name()).Fresh(now, e.staleAfter) {
		snap.DNS = e.dns.State()
	}
	if e.em != nil && e.runner.Status(e.em.Name()).Fresh(now, e.staleAfter) {
		snap.OS = e.em.Samples()
	}
	if e.pi != nil && e.runner.Status(e.pi.Name()).Fresh(now, e.staleAfter) {
		snap.PI = e.pi.Samples()
	}
	return snap
}

func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	snap := e.Snapshot()
	e.collectSelf(snap, ch)
	e.collectFamilies(snap, ch)
}

// collectFamilies emits the Aurora, proxy, ASG and DNS series: everything
// that changes only when a source refreshes or goes stale.
func (e *Exporter) collectFamilies(snap *Snapshot, ch chan<- prometheus.Metric) {
	for _, s := range e.scrapers {
		s.Collect(snap, ch)
	}
}

// familyBatches are collectFamilies one scraper at a time: each batch
// sends every series of its families (the renderer compresses a batch's
// families when it ends).
func (e *Exporter) familyBatches(snap *Snapshot) []func(ch chan<- prometheus.Metric) {
	out := make([]func(ch chan<- prometheus.Metric), len(e.scrapers))
	for i, s := range e.scrapers {
		out[i] = func(ch chan<- prometheus.Metric) { s.Collect(snap, ch) }
	}
	return out
}

// collectSelf emits the exporter's own series, whose ages move with every
// scrape.
func (e *Exporter) collectSelf(snap *Snapshot, ch chan<- prometheus.Metric) {
	for _, name := range e.Sources() {
		st := e.runner.Status(name)
		up := 0.0
		if st.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(e.up, prometheus.GaugeValue, up, name)
		ch <- prometheus.MustNewConstMetric(e.duration, prometheus.GaugeValue, st.LastDuration.Seconds(), name)
		if !st.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(e.lastSuccess, prometheus.GaugeValue, float64(st.LastSuccess.UnixNano())/1e9, name)
			ch <- prometheus.MustNewConstMetric(e.age, prometheus.GaugeValue, st.Age(snap.Now).Seconds(), name)
		}
	}
	if snap.CloudWatch != nil {
		for family, t := range snap.CloudWatch.Newest() {
			ch <- prometheus.MustNewConstMetric(e.datapointAge, prometheus.GaugeValue, snap.Now.Sub(t).Seconds(), family)
		}
	}
}

// AllScrapers returns every family, in documentation order.
func AllScrapers(period time.Duration) []Scraper {
	return []Scraper{
		newServerlessScraper(), newCPUScraper(), newConnectionsScraper(), newProxyScraper(),
		newASGScraper(period), newDNSScraper(), newInfoScraper(),
		newOSCPUScraper(), newDBLoadScraper(), newFreshSignalScraper(),
	}
}
