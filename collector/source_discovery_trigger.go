package collector

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DiscoveryTrigger asks for a discovery refresh out of its interval when
// DNS answers an instance the inventory does not know as serving (a reader
// that just became available): otherwise the endpoint reads as disagreeing
// with the RDS API until the next interval. Requests are rate-limited to
// one per minInterval (an instance DNS keeps answering but discovery never
// lists, such as a deleted reader lingering in round robin, would
// otherwise refresh discovery every DNS interval). The refresh itself runs
// in the pipeline's discovery loop, so it never overlaps the periodic one.
type DiscoveryTrigger struct {
	clock       Clock
	minInterval time.Duration
	kick        chan struct{}

	mu   sync.Mutex
	last time.Time

	triggered prometheus.Counter
}

// NewDiscoveryTrigger returns a trigger; minInterval 0 turns it off.
func NewDiscoveryTrigger(clock Clock, minInterval time.Duration) *DiscoveryTrigger {
	return &DiscoveryTrigger{
		clock: clock, minInterval: minInterval, kick: make(chan struct{}, 1),
		triggered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "exporter", Name: "discovery_triggered_refreshes_total",
			Help: "Discovery refreshes run out of their interval because DNS answered an instance the inventory did not know as serving.",
		}),
	}
}

// Request asks for a refresh on behalf of the instances DNS answered; it
// reports whether one was queued (false: off, or within minInterval of
// the last one).
func (t *DiscoveryTrigger) Request(unknown []string) bool {
	if t == nil || t.minInterval <= 0 || len(unknown) == 0 {
		return false
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.last.IsZero() && now.Sub(t.last) < t.minInterval {
		return false
	}
	t.last = now
	select {
	case t.kick <- struct{}{}:
	default: // one is already queued
	}
	return true
}

// C delivers queued requests to the discovery loop.
func (t *DiscoveryTrigger) C() <-chan struct{} { return t.kick }

// take reports whether a request is queued and consumes it, for the
// synchronous drivers (RefreshAll, RefreshDue).
func (t *DiscoveryTrigger) take() bool {
	select {
	case <-t.kick:
		return true
	default:
		return false
	}
}

// ran counts a triggered refresh that ran.
func (t *DiscoveryTrigger) ran() { t.triggered.Inc() }

func (t *DiscoveryTrigger) Describe(ch chan<- *prometheus.Desc) { t.triggered.Describe(ch) }
func (t *DiscoveryTrigger) Collect(ch chan<- prometheus.Metric) { t.triggered.Collect(ch) }
