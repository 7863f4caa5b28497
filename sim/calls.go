package sim

import (
	"sort"
	"sync"
)

// CallCounter counts every AWS call by service, operation and outcome:
// ground truth for "how many GetMetricData calls did the exporter make".
type CallCounter struct {
	mu     sync.Mutex
	counts map[CallKey]int
	// Queries counts GetMetricData queries (the unit CloudWatch bills).
	queries int
}

type CallKey struct {
	Account, Region, Service, Operation, Outcome string
}

// Outcomes.
const (
	OutcomeSuccess  = "success"
	OutcomeError    = "error"    // a client error the backend decided
	OutcomeThrottle = "throttle" // injected or real throttling
	OutcomeFault    = "fault"    // injected 5xx
)

func NewCallCounter() *CallCounter { return &CallCounter{counts: map[CallKey]int{}} }

func (c *CallCounter) Add(k CallKey) {
	c.mu.Lock()
	c.counts[k]++
	c.mu.Unlock()
}

func (c *CallCounter) AddQueries(n int) {
	c.mu.Lock()
	c.queries += n
	c.mu.Unlock()
}

// CallCount is one row of the snapshot.
type CallCount struct {
	CallKey
	Count int `json:"count"`
}

// Snapshot returns counts sorted by key, and the GetMetricData query total.
func (c *CallCounter) Snapshot() ([]CallCount, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CallCount, 0, len(c.counts))
	for k, v := range c.counts {
		out = append(out, CallCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].CallKey, out[j].CallKey
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Outcome != b.Outcome {
			return a.Outcome < b.Outcome
		}
		return a.Account+a.Region < b.Account+b.Region
	})
	return out, c.queries
}

// Count sums calls of one operation (any account, region, outcome when
// outcome is empty).
func (c *CallCounter) Count(service, operation, outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.counts {
		if k.Service == service && k.Operation == operation && (outcome == "" || k.Outcome == outcome) {
			n += v
		}
	}
	return n
}

// Reset zeroes the counters (benchmarks measure one refresh at a time).
func (c *CallCounter) Reset() {
	c.mu.Lock()
	c.counts = map[CallKey]int{}
	c.queries = 0
	c.mu.Unlock()
}
