package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint kinds resolved by the DNS source.
const (
	EndpointWriter = "writer" // cluster endpoint: CNAME to the writer
	EndpointReader = "reader" // reader endpoint: round robin over readers
	EndpointCustom = "custom"
	EndpointRecord = "record" // a Route 53 name the applications use
)

// EndpointState is what one endpoint resolved to and whether that agrees
// with the RDS API.
type EndpointState struct {
	Scope    Scope
	Cluster  string
	Kind     string
	Name     string
	Answered []string // instance ids seen in this refresh, sorted
	// Unexpected are answered instances the API does not list as serving
	// this endpoint (a removed reader still in round robin, an old writer).
	Unexpected []string
	// Missing are instances the API lists but DNS never answered with.
	Missing          []string
	Agrees           bool
	DisagreeingSince time.Time // zero when agreeing
}

// DNSState is the newest DNS view.
type DNSState struct {
	At        time.Time
	Endpoints []EndpointState
}

// Resolver resolves a name to the chain of host names it passes through
// (CNAME targets, in order) and its addresses.
type Resolver interface {
	Resolve(ctx context.Context, name string) (chain []string, addrs []string, err error)
}

// DNSSource resolves every endpoint every few seconds (Aurora's TTL is 5 s)
// and compares the answers with the inventory from the RDS API.
type DNSSource struct {
	discovery *Discovery
	resolver  Resolver
	samples   int
	clock     Clock

	state atomic.Pointer[DNSState]
	mu    sync.Mutex
	since map[string]time.Time // endpoint name -> start of the current disagreement

	// unknown is told, after a refresh, the instances DNS answered that
	// the inventory does not list as serving (nil: nobody listens).
	unknown func(ids []string)
}

// OnUnknownInstances sets who is told, after each refresh, which answered
// instances the inventory does not know as serving: absent from it, or
// listed in a state that does not serve yet (creating). The pipeline
// refreshes discovery on it.
func (s *DNSSource) OnUnknownInstances(f func(ids []string)) { s.unknown = f }

func NewDNSSource(d *Discovery, r Resolver, samples int, clock Clock) *DNSSource {
	return &DNSSource{discovery: d, resolver: r, samples: samples, clock: clock, since: map[string]time.Time{}}
}

func (s *DNSSource) Name() string { return "dns" }

// State is the newest DNS view (nil before the first success).
func (s *DNSSource) State() *DNSState { return s.state.Load() }

type dnsCheck struct {
	scope    Scope
	cluster  *ClusterInfo
	kind     string
	name     string
	samples  int
	expected []string
}

func (s *DNSSource) checks(inv *Inventory) []dnsCheck {
	var out []dnsCheck
	clusterByReader := map[string]*ClusterInfo{}
	for _, c := range inv.Clusters {
		if c.Endpoint != "" && c.Writer != "" {
			out = append(out, dnsCheck{c.Scope, c, EndpointWriter, c.Endpoint, 1, []string{c.Writer}})
		}
		if c.ReaderEndpoint != "" {
			exp := c.AvailableReaders()
			if len(exp) == 0 && c.Writer != "" {
				exp = []string{c.Writer} // Aurora points the reader endpoint at the writer
			}
			out = append(out, dnsCheck{c.Scope, c, EndpointReader, c.ReaderEndpoint, s.samples, exp})
			clusterByReader[strings.ToLower(c.ReaderEndpoint)] = c
		}
		for _, e := range c.CustomEndpoints {
			out = append(out, dnsCheck{c.Scope, c, EndpointCustom, e.Endpoint, s.samples, customMembers(c, e)})
		}
	}
	for _, r := range inv.Records {
		out = append(out, dnsCheck{scope: r.Scope, kind: EndpointRecord, name: r.Name, samples: s.samples})
	}
	return out
}

func customMembers(c *ClusterInfo, e *CustomEndpointInfo) []string {
	eligible := func(in *InstanceInfo) bool {
		return in.Status == "available" && !(strings.EqualFold(e.Type, "READER") && in.Role == RoleWriter)
	}
	var out []string
	if len(e.Static) > 0 {
		for _, id := range e.Static {
			if in := c.Instance(id); in != nil && eligible(in) {
				out = append(out, id)
			}
		}
		return out
	}
	excluded := map[string]bool{}
	for _, id := range e.Excluded {
		excluded[id] = true
	}
	for _, in := range c.Instances {
		if !excluded[in.ID] && eligible(in) {
			out = append(out, in.ID)
		}
	}
	return out
}

func (s *DNSSource) Refresh(ctx context.Context) error {
	inv := s.discovery.Inventory()
	if inv == nil {
		return errors.New("no inventory yet (discovery has not succeeded)")
	}
	// Instance host names -> ids, for every known instance.
	hosts := map[string]*ClusterInfo{}
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			if in.Address != "" {
				hosts[strings.TrimSuffix(strings.ToLower(in.Address), ".")] = c
			}
		}
	}
	checks := s.checks(inv)
	states := make([]EndpointState, len(checks))
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i], errs[i] = s.resolveCheck(ctx, ch, inv, hosts)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	now := s.clock.Now()
	s.mu.Lock()
	seen := map[string]bool{}
	for i := range states {
		st := &states[i]
		key := st.Kind + "|" + st.Name
		seen[key] = true
		if st.Agrees {
			delete(s.since, key)
			continue
		}
		if _, ok := s.since[key]; !ok {
			s.since[key] = now
		}
		st.DisagreeingSince = s.since[key]
	}
	for k := range s.since {
		if !seen[k] {
			delete(s.since, k)
		}
	}
	s.mu.Unlock()
	s.state.Store(&DNSState{At: now, Endpoints: states})
	if s.unknown != nil {
		if ids := unknownInstances(inv, states); len(ids) > 0 {
			s.unknown(ids)
		}
	}
	return nil
}

// unknownInstances are answered instances the inventory does not have, or
// has in a state that does not serve yet: the inventory is behind DNS. An
// instance the inventory lists as deleting (a removed reader lingering in
// round robin) or available (an old writer in a failover window) is not
// news to discovery.
func unknownInstances(inv *Inventory, states []EndpointState) []string {
	status := map[string]string{}
	for _, c := range inv.Clusters {
		for _, in := range c.Instances {
			status[in.ID] = in.Status
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, st := range states {
		for _, id := range st.Answered {
			switch status[id] {
			case "available", "deleting", "modifying", "rebooting":
				continue
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// instanceOf maps a host name in an answer chain to an instance id: Aurora
// instance endpoints are <id>.<hash>.<region>.rds.amazonaws.com, so even
// an instance the API no longer lists (a deleted reader still in round
// robin) is named.
func instanceOf(host string) (string, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !strings.HasSuffix(host, ".rds.amazonaws.com") {
		return "", false
	}
	parts := strings.Split(host, ".")
	if len(parts) != 6 || strings.HasPrefix(parts[1], "cluster-") || strings.HasPrefix(parts[1], "proxy-") {
		return "", false
	}
	return parts[0], true
}

func (s *DNSSource) resolveCheck(ctx context.Context, ch dnsCheck, inv *Inventory, hosts map[string]*ClusterInfo) (EndpointState, error) {
	st := EndpointState{Scope: ch.scope, Kind: ch.kind, Name: strings.TrimSuffix(strings.ToLower(ch.name), ".")}
	if ch.cluster != nil {
		st.Cluster = ch.cluster.ID
	}
	answered := map[string]bool{}
	for i := 0; i < ch.samples; i++ {
		chain, _, err := s.resolver.Resolve(ctx, ch.name)
		if err != nil {
			return st, fmt.Errorf("resolving %s: %w", ch.name, err)
		}
		for _, h := range chain {
			if id, ok := instanceOf(h); ok {
				answered[id] = true
				if st.Cluster == "" {
					if c := hosts[strings.TrimSuffix(strings.ToLower(h), ".")]; c != nil {
						st.Cluster = c.ID
					}
				}
			}
		}
	}
	for id := range answered {
		st.Answered = append(st.Answered, id)
	}
	sort.Strings(st.Answered)
	expected := ch.expected
	if ch.kind == EndpointRecord {
		// A record must lead to serving instances of one cluster: all of
		// its readers (through the reader endpoint) or the one the scaler
		// drained to; anything it answers must be available.
		expected = nil
		for _, c := range inv.Clusters {
			if c.ID == st.Cluster {
				for _, in := range c.Instances {
					if in.Status == "available" {
						expected = append(expected, in.ID)
					}
				}
			}
		}
	}
	want := map[string]bool{}
	for _, id := range expected {
		want[id] = true
	}
	for _, id := range st.Answered {
		if !want[id] {
			st.Unexpected = append(st.Unexpected, id)
		}
	}
	if ch.kind != EndpointRecord {
		for _, id := range expected {
			if !answered[id] {
				st.Missing = append(st.Missing, id)
			}
		}
	}
	sort.Strings(st.Missing)
	st.Agrees = len(st.Unexpected) == 0 && len(st.Missing) == 0 && len(st.Answered) > 0
	return st, nil
}
