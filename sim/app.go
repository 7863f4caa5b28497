package sim

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// DefaultAppClients is the size of an application's client pool when the
// scenario does not say.
const DefaultAppClients = 100

// maxAppClients bounds the pool so a typo cannot make every tick crawl.
const maxAppClients = 10000

// Application is the software a fleet's users drive: a pool of database
// clients that reach the cluster by DNS names, as real applications do. It
// is what makes a drain safe or not: a client keeps the instance its
// cached answer names until that answer's TTL runs out, so an instance
// still in some client's cache keeps receiving that client's queries.
type Application struct {
	Fleet string
	// ReadName and WriteName are the fully qualified names the clients
	// resolve (a Route 53 record, or an Aurora endpoint).
	ReadName, WriteName string
	// rrKey keeps this application's round-robin rotation apart from
	// every other DNS client's.
	rrKey   string
	clients []appClient
	stats   AppStats
	// scratch for the per-tick aggregation of clients by target.
	reads, writes []targetShare
}

type appClient struct {
	read, write dnsCache
}

// dnsCache is one client's view of one name: the chain of answers it
// holds (one per hop, each with its own expiry, as a caching resolver
// keeps them) and the instance the chain ends at.
type dnsCache struct {
	hops   []cachedHop
	next   time.Time // earliest expiry among the hops: re-resolve then
	target appTarget
}

type cachedHop struct {
	name, value string // value "" means the chain ends here outside Aurora
	expires     time.Time
}

// appTarget is an instance endpoint a chain ended at; id is "" when the
// name led to no Aurora instance (no answer, or an address elsewhere).
type appTarget struct {
	region *Region
	id     string
}

type targetShare struct {
	target  appTarget
	clients int
}

// AppStats are an application's query totals since the world started:
// monotonic counters, so a caller computes any interval's figures from
// two snapshots (Sub). Query counts are fractional because the model
// integrates rates over ticks.
type AppStats struct {
	ReadsTotal        float64 `json:"reads_total"`
	ReadsFailedTotal  float64 `json:"reads_failed_total"`
	WritesTotal       float64 `json:"writes_total"`
	WritesFailedTotal float64 `json:"writes_failed_total"`
	// ReadLatency and WriteLatency weight each instance's latency in a
	// tick by the queries it served then: the distribution of successful
	// queries over latency, at tick resolution.
	ReadLatency  LatencyHistogram `json:"read_latency_seconds"`
	WriteLatency LatencyHistogram `json:"write_latency_seconds"`
}

// LatencyHistogram counts queries per latency bucket. Counts[i] holds the
// queries with latency in (Bounds[i-1], Bounds[i]]; the last count, one
// more than there are bounds, those above the last bound.
type LatencyHistogram struct {
	Bounds []float64 `json:"bounds_seconds"`
	Counts []float64 `json:"counts"`
	Sum    float64   `json:"sum_seconds"` // latency x queries, for the mean
}

// newLatencyHistogram uses 1-1.25-1.5-2-2.5-3-4-5-6-8 steps per decade
// from 0.1 ms to 80 s: bucket edges at most 25 % apart, and the alerting
// thresholds people quote (3 ms, 5 ms, 10 ms) are edges.
func newLatencyHistogram() LatencyHistogram {
	steps := []float64{1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8}
	var b []float64
	for e := -4; e <= 1; e++ {
		for _, s := range steps {
			b = append(b, s*math.Pow(10, float64(e)))
		}
	}
	return LatencyHistogram{Bounds: b, Counts: make([]float64, len(b)+1)}
}

func (h *LatencyHistogram) observe(latency, queries float64) {
	i := sort.SearchFloat64s(h.Bounds, latency)
	h.Counts[i] += queries
	h.Sum += latency * queries
}

// Total is the number of queries counted.
func (h LatencyHistogram) Total() float64 {
	t := 0.0
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// Quantile estimates the q-quantile (0 < q <= 1) by linear interpolation
// inside the bucket it falls in, as Prometheus's histogram_quantile does;
// NaN when the histogram is empty. Above the last bound it answers the
// last bound (the estimate cannot say more).
func (h LatencyHistogram) Quantile(q float64) float64 {
	total := h.Total()
	if total <= 0 || q <= 0 || q > 1 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * total
	cum := 0.0
	for i, c := range h.Counts {
		if c > 0 && cum+c >= rank {
			if i == len(h.Bounds) {
				return h.Bounds[len(h.Bounds)-1]
			}
			lo := 0.0
			if i > 0 {
				lo = h.Bounds[i-1]
			}
			return lo + (h.Bounds[i]-lo)*(rank-cum)/c
		}
		cum += c
	}
	return h.Bounds[len(h.Bounds)-1]
}

func (h LatencyHistogram) clone() LatencyHistogram {
	return LatencyHistogram{Bounds: append([]float64(nil), h.Bounds...), Counts: append([]float64(nil), h.Counts...), Sum: h.Sum}
}

func (h LatencyHistogram) sub(o LatencyHistogram) LatencyHistogram {
	out := h.clone()
	for i := range out.Counts {
		if i < len(o.Counts) {
			out.Counts[i] -= o.Counts[i]
		}
	}
	out.Sum -= o.Sum
	return out
}

// Sub is the activity between an earlier snapshot and s.
func (s AppStats) Sub(earlier AppStats) AppStats {
	return AppStats{
		ReadsTotal: s.ReadsTotal - earlier.ReadsTotal, ReadsFailedTotal: s.ReadsFailedTotal - earlier.ReadsFailedTotal,
		WritesTotal: s.WritesTotal - earlier.WritesTotal, WritesFailedTotal: s.WritesFailedTotal - earlier.WritesFailedTotal,
		ReadLatency: s.ReadLatency.sub(earlier.ReadLatency), WriteLatency: s.WriteLatency.sub(earlier.WriteLatency),
	}
}

func (s AppStats) clone() AppStats {
	out := s
	out.ReadLatency, out.WriteLatency = s.ReadLatency.clone(), s.WriteLatency.clone()
	return out
}

// AppStats returns the totals of the application driving a cluster,
// synced to the clock; false when there is no such cluster.
func (w *World) AppStats(account, region, cluster string) (AppStats, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
	a := w.accounts[account]
	if a == nil || a.Regions[region] == nil {
		return AppStats{}, false
	}
	c := a.Regions[region].Clusters[cluster]
	if c == nil || c.App == nil {
		return AppStats{}, false
	}
	return c.App.stats.clone(), true
}

// newApplication builds a fleet's client pool (scenario already
// validated): names are expanded against the fleet's own cluster.
func newApplication(f FleetDef, c *Cluster, suffix string) *Application {
	r := c.Region
	n := f.Traffic.AppClients
	if n == 0 {
		n = DefaultAppClients
	}
	expand := func(v, def string) string {
		if v == "" {
			return def + "."
		}
		if kind, arg, ok := endpointPlaceholder(v); ok {
			switch kind {
			case "reader_endpoint":
				return r.ReaderEndpoint(arg+suffix) + "."
			case "cluster_endpoint":
				return r.ClusterEndpoint(arg+suffix) + "."
			case "custom_endpoint":
				return r.CustomEndpointName(arg+suffix) + "."
			}
		}
		return ensureDot(v)
	}
	app := &Application{
		Fleet:     f.Name + suffix,
		ReadName:  expand(f.Traffic.ReadEndpoint, r.ReaderEndpoint(c.ID)),
		WriteName: expand(f.Traffic.WriteEndpoint, r.ClusterEndpoint(c.ID)),
		rrKey:     "\x00app/" + r.Account + "/" + r.Name + "/" + c.ID,
		clients:   make([]appClient, n),
		stats:     AppStats{ReadLatency: newLatencyHistogram(), WriteLatency: newLatencyHistogram()},
	}
	return app
}

// endpointPlaceholder splits "${kind:arg}".
func endpointPlaceholder(v string) (kind, arg string, ok bool) {
	if !strings.HasPrefix(v, "${") || !strings.HasSuffix(v, "}") {
		return "", "", false
	}
	kind, arg, ok = strings.Cut(v[2:len(v)-1], ":")
	return kind, arg, ok
}

// startApplication gives every client its first answers (lock held),
// staggering their expiry evenly over the TTL as if they had resolved
// at evenly spread moments before now, so the pool never re-resolves in
// lock step. It checks the names lead where the scenario means them to.
func (w *World) startApplication(c *Cluster, now time.Time) error {
	app := c.App
	n := len(app.clients)
	for i := range app.clients {
		cl := &app.clients[i]
		frac := float64(i+1) / float64(n)
		for _, d := range []*dnsCache{&cl.read, &cl.write} {
			name := app.ReadName
			if d == &cl.write {
				name = app.WriteName
			}
			w.lookup(app.rrKey, d, name, now)
			d.next = time.Time{}
			for h := range d.hops {
				ttl := d.hops[h].expires.Sub(now)
				d.hops[h].expires = now.Add(time.Duration(float64(ttl) * frac))
				if d.next.IsZero() || d.hops[h].expires.Before(d.next) {
					d.next = d.hops[h].expires
				}
			}
		}
	}
	first := app.clients[0]
	if t := first.read.target; t.id == "" || t.region != c.Region || c.Region.Instances[t.id] == nil || c.Region.Instances[t.id].Cluster != c {
		return fmt.Errorf("fleet %q: read endpoint %s does not lead to an instance of cluster %q", app.Fleet, app.ReadName, c.ID)
	}
	if t := first.write.target; t.region != c.Region || t.id != c.Writer {
		return fmt.Errorf("fleet %q: write endpoint %s does not lead to the writer of cluster %q", app.Fleet, app.WriteName, c.ID)
	}
	return nil
}

// lookup resolves name for one client (lock held), reusing every hop of
// its cached chain that has not expired and asking DNS, through the same
// answers the DNS server gives, for the rest. A fresh answer that differs
// from the cached one invalidates the hops after it.
func (w *World) lookup(rrKey string, d *dnsCache, name string, now time.Time) {
	d.target = appTarget{}
	d.next = time.Time{}
	keep := func(t time.Time) {
		if d.next.IsZero() || t.Before(d.next) {
			d.next = t
		}
	}
	for depth := 0; depth < 8; depth++ {
		if r, id, ok := w.instanceEndpoint(name); ok {
			d.hops = d.hops[:depth]
			d.target = appTarget{region: r, id: id}
			break
		}
		var hop cachedHop
		if depth < len(d.hops) && d.hops[depth].name == name && now.Before(d.hops[depth].expires) {
			hop = d.hops[depth]
		} else {
			hop = cachedHop{name: name, expires: now}
			recs, _ := w.resolveOne(rrKey, name)
			if len(recs) > 0 {
				hop.expires = now.Add(time.Duration(recs[0].TTL) * time.Second)
				if recs[0].Type == "CNAME" {
					hop.value = recs[0].Value
				}
			}
			if depth < len(d.hops) && d.hops[depth].name == name && d.hops[depth].value == hop.value {
				// Same answer: the hops after it are cached on their own.
				d.hops[depth] = hop
			} else {
				d.hops = append(d.hops[:depth], hop)
			}
		}
		keep(hop.expires)
		if hop.value == "" {
			d.hops = d.hops[:depth+1]
			break
		}
		name = hop.value
	}
	if d.next.IsZero() {
		// A name that is itself an instance endpoint never changes.
		d.next = now.Add(w.P.DNSTTL)
	}
}

// instanceEndpoint recognises <instance>.<hash>.<region>.rds.amazonaws.com.
func (w *World) instanceEndpoint(fqdn string) (*Region, string, bool) {
	host, ok := strings.CutSuffix(fqdn, ".rds.amazonaws.com.")
	if !ok {
		return nil, "", false
	}
	id, rest, ok := strings.Cut(host, ".")
	if !ok {
		return nil, "", false
	}
	hash, regionName, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(regionName, ".") {
		return nil, "", false
	}
	for _, acct := range w.order {
		if r := w.accounts[acct].Regions[regionName]; r != nil && r.Hash == hash {
			return r, id, true
		}
	}
	return nil, "", false
}

// route advances every client's caches to now and returns how many clients
// each read and write target holds (lock held). Only clients whose cache
// expired ask DNS, so a tick costs one comparison per client otherwise.
func (w *World) route(app *Application, now time.Time) (reads, writes []targetShare) {
	app.reads, app.writes = app.reads[:0], app.writes[:0]
	for i := range app.clients {
		cl := &app.clients[i]
		if !now.Before(cl.read.next) {
			w.lookup(app.rrKey, &cl.read, app.ReadName, now)
		}
		if !now.Before(cl.write.next) {
			w.lookup(app.rrKey, &cl.write, app.WriteName, now)
		}
		app.reads = addShare(app.reads, cl.read.target)
		app.writes = addShare(app.writes, cl.write.target)
	}
	return app.reads, app.writes
}

func addShare(s []targetShare, t appTarget) []targetShare {
	for i := range s {
		if s[i].target == t {
			s[i].clients++
			return s
		}
	}
	return append(s, targetShare{target: t, clients: 1})
}

// instance is the cluster's instance a target names, or nil when the
// target is gone, unresolved or in another cluster: a client there gets
// connection errors (or the wrong database) either way.
func (t appTarget) instance(c *Cluster) *Instance {
	if t.id == "" || t.region != c.Region {
		return nil
	}
	in := c.Region.Instances[t.id]
	if in == nil || in.Cluster != c {
		return nil
	}
	return in
}

// serving is whether an instance answers queries now.
func serving(in *Instance) bool {
	return in != nil && (in.Status == StatusAvailable || in.Status == StatusModifying)
}

// clientsByInstance counts, for the ground truth, the clients whose cached
// answer names each instance ("" for none), without asking DNS.
func (app *Application) clientsByInstance(write bool) map[string]int {
	out := map[string]int{}
	for i := range app.clients {
		d := &app.clients[i].read
		if write {
			d = &app.clients[i].write
		}
		out[d.target.id]++
	}
	return out
}
