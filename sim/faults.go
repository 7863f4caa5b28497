package sim

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"
)

// Fault kinds.
const (
	FaultThrottle        = "throttle"         // AWS Throttling error
	FaultServerError     = "server_error"     // HTTP 500 InternalFailure or 503 ServiceUnavailable
	FaultLatency         = "latency"          // added response latency
	FaultDNSOutage       = "dns_outage"       // DNS server stops answering (or SERVFAILs)
	FaultInstanceFailure = "instance_failure" // an instance fails; a writer failure triggers failover
)

// Fault is one injected failure. Service and Operations scope API faults
// (empty: all); Rate is the probability a matching call is hit.
type Fault struct {
	ID         string        `yaml:"id" json:"id"`
	Kind       string        `yaml:"kind" json:"kind"`
	Service    string        `yaml:"service" json:"service,omitempty"` // rds, monitoring, logs, pi, autoscaling, elasticloadbalancing, route53, sts
	Operations []string      `yaml:"operations" json:"operations,omitempty"`
	Rate       float64       `yaml:"rate" json:"rate,omitempty"`
	Status     int           `yaml:"status" json:"status,omitempty"` // server_error: 500 (default) or 503
	Latency    time.Duration `yaml:"latency" json:"latency,omitempty"`
	DNSMode    string        `yaml:"dns_mode" json:"dns_mode,omitempty"` // drop (default: clients time out) or servfail
	Account    string        `yaml:"account" json:"account,omitempty"`
	Region     string        `yaml:"region" json:"region,omitempty"`
	Instance   string        `yaml:"instance" json:"instance,omitempty"` // instance_failure; empty: the first cluster's writer
	Until      time.Time     `yaml:"-" json:"until,omitempty"`           // zero: until removed
}

// Validate normalises defaults and rejects nonsense.
func (f *Fault) Validate() error {
	switch f.Kind {
	case FaultThrottle, FaultServerError, FaultLatency:
		if f.Rate == 0 {
			f.Rate = 1
		}
		if f.Rate < 0 || f.Rate > 1 {
			return fmt.Errorf("fault rate %g outside [0,1]", f.Rate)
		}
		if f.Kind == FaultServerError {
			if f.Status == 0 {
				f.Status = 500
			}
			if f.Status != 500 && f.Status != 503 {
				return fmt.Errorf("server_error status must be 500 or 503, got %d", f.Status)
			}
		}
		if f.Kind == FaultLatency && f.Latency <= 0 {
			return fmt.Errorf("latency fault needs a positive latency")
		}
	case FaultDNSOutage:
		if f.DNSMode == "" {
			f.DNSMode = "drop"
		}
		if f.DNSMode != "drop" && f.DNSMode != "servfail" {
			return fmt.Errorf("dns_mode must be drop or servfail, got %q", f.DNSMode)
		}
	case FaultInstanceFailure:
	default:
		return fmt.Errorf("unknown fault kind %q (throttle, server_error, latency, dns_outage, instance_failure)", f.Kind)
	}
	return nil
}

// FaultSet is the active faults; it has its own lock because the wire
// layer consults it before taking the world lock.
type FaultSet struct {
	mu     sync.Mutex
	rng    *rand.Rand
	faults map[string]*Fault
	seq    int
	now    func() time.Time
}

func NewFaultSet(seed int64) *FaultSet {
	return &FaultSet{rng: rand.New(rand.NewSource(seed + 7)), faults: map[string]*Fault{}, now: time.Now}
}

// Add installs a validated fault and returns its id.
func (s *FaultSet) Add(f Fault) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.ID == "" {
		s.seq++
		f.ID = fmt.Sprintf("fault-%d", s.seq)
	}
	s.faults[f.ID] = &f
	return f.ID, nil
}

// Remove deletes a fault; empty id clears all.
func (s *FaultSet) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		n := len(s.faults)
		s.faults = map[string]*Fault{}
		return n > 0
	}
	_, ok := s.faults[id]
	delete(s.faults, id)
	return ok
}

// List returns active faults sorted by id.
func (s *FaultSet) List() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *FaultSet) expire(now time.Time) {
	for id, f := range s.faults {
		if !f.Until.IsZero() && !now.Before(f.Until) {
			delete(s.faults, id)
		}
	}
}

// ForCall decides what happens to an API call: extra latency to wait, and
// an error to answer instead of the operation (nil: proceed).
func (s *FaultSet) ForCall(c CallContext, now time.Time) (time.Duration, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	var delay time.Duration
	var err *APIError
	ids := make([]string, 0, len(s.faults))
	for id := range s.faults {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := s.faults[id]
		if !f.matches(c) {
			continue
		}
		switch f.Kind {
		case FaultLatency:
			if s.rng.Float64() < f.Rate {
				delay += f.Latency
			}
		case FaultThrottle:
			if err == nil && s.rng.Float64() < f.Rate {
				err = throttleError(c)
			}
		case FaultServerError:
			if err == nil && s.rng.Float64() < f.Rate {
				if f.Status == 503 {
					err = ErrServiceUnavailable("Service is unavailable (injected by aurora_sim fault %s)", f.ID)
				} else {
					err = ErrInternal("An internal error occurred (injected by aurora_sim fault %s)", f.ID)
				}
			}
		}
	}
	return delay, err
}

// throttleError uses each service's own throttling code.
func throttleError(c CallContext) *APIError {
	switch c.Service {
	case "route53":
		return NewAPIError(400, "Throttling", "Rate exceeded")
	case "autoscaling":
		return NewAPIError(400, "Throttling", "Rate exceeded")
	case "logs", "pi":
		// AWS JSON 1.1 services: the common ThrottlingException shape.
		return NewAPIError(400, "ThrottlingException", "Rate exceeded")
	default:
		return ErrThrottling(c.Operation)
	}
}

func (f *Fault) matches(c CallContext) bool {
	if f.Service != "" && !strings.EqualFold(f.Service, c.Service) {
		return false
	}
	if f.Account != "" && f.Account != c.Account {
		return false
	}
	if f.Region != "" && f.Region != c.Region {
		return false
	}
	if len(f.Operations) == 0 {
		return true
	}
	for _, op := range f.Operations {
		if op == c.Operation {
			return true
		}
	}
	return false
}

// DNS reports the DNS outage mode in force ("" when DNS is healthy).
func (s *FaultSet) DNS(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for _, f := range s.faults {
		if f.Kind == FaultDNSOutage {
			return f.DNSMode
		}
	}
	return ""
}

// InjectFault applies a fault now: API and DNS faults join the set;
// an instance failure acts on the model at once.
func (w *World) InjectFault(f Fault, duration time.Duration) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	if f.Kind == FaultInstanceFailure {
		var err error
		w.Do(func(now time.Time) { err = w.failInstance(f, now) })
		return "", err
	}
	if duration > 0 {
		f.Until = w.Now().Add(duration)
	}
	return w.Faults.Add(f)
}

func (w *World) applyScheduledFaults(now time.Time) {
	rest := w.scheduledFaults[:0]
	for _, sf := range w.scheduledFaults {
		if now.Before(w.start.Add(sf.At)) {
			rest = append(rest, sf)
			continue
		}
		f := sf.Fault
		if f.Kind == FaultInstanceFailure {
			if err := w.failInstance(f, now); err != nil {
				f.Kind = "" // reported through ground truth, never a crash
			}
			continue
		}
		if sf.Duration > 0 {
			f.Until = w.start.Add(sf.At + sf.Duration)
		}
		_, _ = w.Faults.Add(f)
	}
	w.scheduledFaults = rest
}

// failInstance fails an instance (lock held). A failed writer fails over
// to the best reader, or reboots in place when there is none.
func (w *World) failInstance(f Fault, now time.Time) error {
	var target *Instance
	for _, a := range w.Accounts() {
		for _, r := range a.SortedRegions() {
			if f.Account != "" && a.ID != f.Account || f.Region != "" && r.Name != f.Region {
				continue
			}
			if f.Instance != "" {
				if in := r.Instances[f.Instance]; in != nil {
					target = in
				}
			} else if cs := r.SortedClusters(); target == nil && len(cs) > 0 {
				target = r.Instances[cs[0].Writer]
			}
		}
	}
	if target == nil {
		return fmt.Errorf("instance_failure: no instance %q", f.Instance)
	}
	c := target.Cluster
	if target.ID == c.Writer {
		if err := w.StartFailover(c, nil, now); err == nil {
			return nil
		}
	}
	window := w.dnsWindow()
	target.Status = StatusRebooting
	target.AvailableAt = now.Add(window)
	target.RefusesWritesUntil = now.Add(window)
	return nil
}
