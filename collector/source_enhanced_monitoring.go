package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/prometheus/client_golang/prometheus"
)

// EnhancedMonitoringLogGroup is where RDS writes Enhanced Monitoring, one
// stream per instance named by its DbiResourceId.
const EnhancedMonitoringLogGroup = "RDSOSMetrics"

// maxStreamsPerFilter is FilterLogEvents' limit on logStreamNames.
const maxStreamsPerFilter = 100

// deliverySkew is how far before the newest document already read the
// next read starts: Enhanced Monitoring documents of different instances
// reach CloudWatch Logs with different delays, so one delivered late may
// be older than another already seen.
const deliverySkew = 5 * time.Second

// filterPageEvents bounds one FilterLogEvents page: AWS stops a page at
// 1 MB (400-650 documents of 1.5-2.5 KB), and the limit keeps a page's
// memory near that whatever the service does (aurora_sim pages by count).
const filterPageEvents = 500

// OSSample is the newest Enhanced Monitoring document of an instance,
// reduced to what the families use.
type OSSample struct {
	Time time.Time
	// CPU is cpuUtilization.total as a ratio (0-1).
	CPU   float64
	VCPUs int
	// Load1 is loadAverageMinute.one.
	Load1 float64
}

// osDocument is the part of AWS's Enhanced Monitoring document read here.
type osDocument struct {
	Timestamp          string  `json:"timestamp"`
	InstanceResourceID string  `json:"instanceResourceID"`
	NumVCPUs           *int    `json:"numVCPUs"`
	CPU                *osCPU  `json:"cpuUtilization"`
	Load               *osLoad `json:"loadAverageMinute"`
}

type osCPU struct {
	Total *float64 `json:"total"`
}

type osLoad struct {
	One float64 `json:"one"`
}

// ParseOSDocument reads an Enhanced Monitoring document. A document
// without a timestamp or CPU total is an error, not a zero.
func ParseOSDocument(message string) (OSSample, error) {
	var d osDocument
	if err := json.Unmarshal([]byte(message), &d); err != nil {
		return OSSample{}, fmt.Errorf("enhanced monitoring document: %w", err)
	}
	ts, err := time.Parse(time.RFC3339, d.Timestamp)
	if err != nil {
		return OSSample{}, fmt.Errorf("enhanced monitoring document: timestamp %q: %w", d.Timestamp, err)
	}
	if d.CPU == nil || d.CPU.Total == nil {
		return OSSample{}, errors.New("enhanced monitoring document: no cpuUtilization.total")
	}
	if *d.CPU.Total < 0 || *d.CPU.Total > 100 {
		return OSSample{}, fmt.Errorf("enhanced monitoring document: cpuUtilization.total %g outside 0-100", *d.CPU.Total)
	}
	s := OSSample{Time: ts, CPU: *d.CPU.Total / 100}
	if d.NumVCPUs != nil && *d.NumVCPUs > 0 {
		s.VCPUs = *d.NumVCPUs
	}
	if d.Load != nil {
		s.Load1 = d.Load.One
	}
	return s, nil
}

// EnhancedMonitoringSource reads the newest Enhanced Monitoring document
// of every discovered instance that has the feature on: per account and
// region, FilterLogEvents on RDSOSMetrics with up to 100 streams per call,
// from just before the newest document already read.
type EnhancedMonitoringSource struct {
	clients   *ClientSet
	discovery *Discovery
	cfg       EnhancedMonitoringConfig
	clock     Clock

	*published[OSSample]

	mu sync.Mutex
	// byScope keeps each scope's last good samples, so a scope that fails
	// keeps serving while the others refresh; newest is the newest
	// document time read per scope, where the next read starts.
	byScope map[Scope]map[string]OSSample
	newest  map[Scope]time.Time

	rejected prometheus.Counter
}

func NewEnhancedMonitoringSource(clients *ClientSet, discovery *Discovery, cfg EnhancedMonitoringConfig, clock Clock) *EnhancedMonitoringSource {
	s := &EnhancedMonitoringSource{
		clients: clients, discovery: discovery, cfg: cfg, clock: clock,
		published: newPublished[OSSample](),
		byScope:   map[Scope]map[string]OSSample{},
		newest:    map[Scope]time.Time{},
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "aurora_exporter", Name: "enhanced_monitoring_documents_rejected_total",
			Help: "Enhanced Monitoring documents that could not be read (not JSON, no timestamp or CPU total); the instance keeps its previous document.",
		}),
	}
	return s
}

func (s *EnhancedMonitoringSource) Name() string { return "enhanced_monitoring" }

func (s *EnhancedMonitoringSource) Describe(ch chan<- *prometheus.Desc) { s.rejected.Describe(ch) }
func (s *EnhancedMonitoringSource) Collect(ch chan<- prometheus.Metric) { s.rejected.Collect(ch) }

// Samples is the newest document per DbiResourceId.
func (s *EnhancedMonitoringSource) Samples() map[string]OSSample { return s.load() }

// emStreams lists, per scope, the streams to read and the longest
// monitoring interval among them.
func emStreams(inv *Inventory) (map[Scope][]string, map[Scope]time.Duration) {
	streams := map[Scope][]string{}
	longest := map[Scope]time.Duration{}
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			if in.MonitoringInterval <= 0 || in.ResourceID == "" || !queried(in) {
				continue
			}
			streams[c.Scope] = append(streams[c.Scope], in.ResourceID)
			longest[c.Scope] = max(longest[c.Scope], time.Duration(in.MonitoringInterval)*time.Second)
		}
	}
	for _, ids := range streams {
		sort.Strings(ids)
	}
	return streams, longest
}

func (s *EnhancedMonitoringSource) Refresh(ctx context.Context) error {
	inv := s.discovery.Inventory()
	if inv == nil {
		return errors.New("no inventory yet (discovery has not succeeded)")
	}
	plan, longest := emStreams(inv)
	now := s.clock.Now()
	type scopeRead struct {
		ids   []string
		start time.Time
		prev  map[string]OSSample
	}
	reads := make(map[Scope]scopeRead, len(plan))
	s.mu.Lock()
	for scope, ids := range plan {
		start := now.Add(-max(s.cfg.Window, 2*longest[scope]))
		if n := s.newest[scope].Add(-deliverySkew); n.After(start) {
			start = n
		}
		reads[scope] = scopeRead{ids, start, s.byScope[scope]}
	}
	s.mu.Unlock()
	var mu sync.Mutex
	fresh := map[Scope]map[string]OSSample{}
	failed := forEachScope(s.clients, reads, func(sc *ScopeClients, r scopeRead) error {
		got, err := s.readScope(ctx, sc.Logs, r.ids, r.start, r.prev)
		if err != nil {
			return err
		}
		mu.Lock()
		fresh[sc.Scope] = got
		mu.Unlock()
		return nil
	})
	var errs []error
	for _, err := range failed {
		errs = append(errs, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[Scope]map[string]OSSample{}
	for scope, ids := range plan {
		vals, ok := fresh[scope]
		// A stream silent for longer than the look-back (an instance
		// rebooting, its monitoring broken) is dropped and the instance
		// falls back; a failed read keeps the last good data instead,
		// bounded by stale_after as every source's.
		oldest := now.Add(-max(s.cfg.Window, 2*longest[scope]))
		if !ok {
			vals, oldest = s.byScope[scope], time.Time{}
		}
		// Only instances still selected with the feature on are served.
		kept := map[string]OSSample{}
		for _, id := range ids {
			if v, ok := vals[id]; ok && !v.Time.Before(oldest) {
				kept[id] = v
				if v.Time.After(s.newest[scope]) {
					s.newest[scope] = v.Time
				}
			}
		}
		next[scope] = kept
	}
	s.byScope = next
	merged := map[string]OSSample{}
	for _, vals := range next {
		for k, v := range vals {
			merged[k] = v
		}
	}
	if len(errs) > 0 && len(fresh) == 0 && len(plan) > 0 {
		return errors.Join(errs...)
	}
	s.store(merged)
	return errors.Join(errs...)
}

// readScope reads the scope's streams from start, 100 per call, and
// returns prev updated with the newest document per stream.
func (s *EnhancedMonitoringSource) readScope(ctx context.Context, api logsAPI, ids []string, start time.Time, prev map[string]OSSample) (map[string]OSSample, error) {
	out := make(map[string]OSSample, len(ids))
	for k, v := range prev {
		out[k] = v
	}
	for lo := 0; lo < len(ids); lo += maxStreamsPerFilter {
		if err := s.readBatch(ctx, api, ids[lo:min(lo+maxStreamsPerFilter, len(ids))], start, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readBatch is one FilterLogEvents (paged) over up to 100 streams. A
// stream with no document yet (an instance just created, or one whose
// feature was just turned on) must not cost the others their data: the
// emulator leaves it out of the answer, and should AWS answer
// ResourceNotFoundException for it the batch is split in halves until
// the missing streams are alone, and those are skipped until the next
// refresh. A missing log group (nothing of the region delivered yet)
// ends the same way: no data, not an error.
func (s *EnhancedMonitoringSource) readBatch(ctx context.Context, api logsAPI, batch []string, start time.Time, out map[string]OSSample) error {
	got := map[string]OSSample{}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(api, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:   aws.String(EnhancedMonitoringLogGroup),
		LogStreamNames: batch,
		StartTime:      aws.Int64(start.UnixMilli()),
		Limit:          aws.Int32(filterPageEvents),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nf *logstypes.ResourceNotFoundException
			if !errors.As(err, &nf) {
				return fmt.Errorf("FilterLogEvents: %w", err)
			}
			if len(batch) == 1 {
				return nil
			}
			half := len(batch) / 2
			if err := s.readBatch(ctx, api, batch[:half], start, out); err != nil {
				return err
			}
			return s.readBatch(ctx, api, batch[half:], start, out)
		}
		// Only each stream's newest event of the page is parsed: a refresh
		// reads several documents per stream and needs the last.
		newest := map[string]logstypes.FilteredLogEvent{}
		for _, ev := range page.Events {
			id := aws.ToString(ev.LogStreamName)
			if cur, ok := newest[id]; !ok || aws.ToInt64(ev.Timestamp) > aws.ToInt64(cur.Timestamp) {
				newest[id] = ev
			}
		}
		for id, ev := range newest {
			if cur, ok := got[id]; ok && aws.ToInt64(ev.Timestamp) <= cur.Time.UnixMilli() {
				continue
			}
			smp, err := ParseOSDocument(aws.ToString(ev.Message))
			if err != nil {
				s.rejected.Inc()
				continue
			}
			if cur, ok := got[id]; !ok || smp.Time.After(cur.Time) {
				got[id] = smp
			}
		}
	}
	for id, smp := range got {
		if cur, ok := out[id]; !ok || smp.Time.After(cur.Time) {
			out[id] = smp
		}
	}
	return nil
}
