package sim

import (
	"sort"
	"strings"
	"time"
)

// refreshDNS recomputes what the reader endpoints answer: available
// instances other than the one the cluster endpoint names, plus deleted
// readers still lingering in round robin. The writer endpoint is moved
// only by failover completion (stepLifecycle); until then a promoted
// instance keeps its place in the reader endpoint (its record has not
// changed either) and the rebooting old writer is in neither.
func (w *World) refreshDNS(now time.Time) {
	for _, a := range w.accounts {
		for _, r := range a.Regions {
			for _, c := range r.Clusters {
				var readers []string
				seen := map[string]bool{}
				for _, id := range c.Members {
					in := r.Instances[id]
					if in != nil && id != c.DNSWriter && in.Status == StatusAvailable {
						readers = append(readers, id)
						seen[id] = true
					}
				}
				var linger []string
				for id, until := range c.lingering {
					if !now.Before(until) {
						delete(c.lingering, id)
						continue
					}
					if !seen[id] {
						linger = append(linger, id)
					}
				}
				sort.Strings(linger)
				c.DNSReaders = append(readers, linger...)
			}
		}
	}
}

// dnsWindow draws a failover DNS window in [min, max] (lock held).
func (w *World) dnsWindow() time.Duration {
	lo, hi := w.P.FailoverDNSWindowMin, w.P.FailoverDNSWindowMax
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int63n(int64(hi-lo)+1))
}

// FailoverTarget picks what Aurora would promote: the available reader
// with the lowest tier, then the largest capacity, then the identifier.
func (c *Cluster) FailoverTarget() *Instance {
	var best *Instance
	bestCap := 0.0
	for _, id := range c.Members {
		in := c.Region.Instances[id]
		if in == nil || id == c.Writer || in.Status != StatusAvailable {
			continue
		}
		cp, _ := classCapacityACU(in.Class)
		if in.Serverless() {
			cp = in.ACU
		}
		if best == nil || in.Tier < best.Tier || in.Tier == best.Tier && (cp > bestCap || cp == bestCap && in.ID < best.ID) {
			best, bestCap = in, cp
		}
	}
	return best
}

// StartFailover promotes target (nil: Aurora's choice). The API shows the
// new writer at once; the cluster endpoint keeps resolving to the old
// writer for the DNS window, during which the old writer reboots and
// refuses writes: the field's 10-15 s of failed queries.
func (w *World) StartFailover(c *Cluster, target *Instance, now time.Time) *APIError {
	if c.Status != StatusAvailable {
		return ErrInvalidDBClusterState("DBCluster %s is in %s state and cannot be failed over.", c.ID, c.Status)
	}
	for _, id := range c.Members {
		if in := c.Region.Instances[id]; in != nil && (id == c.Writer) && in.Status != StatusAvailable {
			return ErrInvalidDBClusterState("The writer instance %s of DBCluster %s is not available.", id, c.ID)
		}
	}
	if target == nil {
		target = c.FailoverTarget()
		if target == nil {
			return ErrInvalidDBClusterState("DBCluster %s has no available reader to fail over to.", c.ID)
		}
	}
	if target.ID == c.Writer {
		return ErrInvalidParameterValue("Instance %s is already the writer of DBCluster %s.", target.ID, c.ID)
	}
	if target.Status != StatusAvailable {
		return ErrInvalidDBInstanceState("DB instance %s is not available (status %s).", target.ID, target.Status)
	}
	old := c.Region.Instances[c.Writer]
	window := w.dnsWindow()
	c.Writer = target.ID
	c.Status = ClusterFailingOver
	c.dnsWriterSwitch = now.Add(window)
	if old != nil {
		old.Status = StatusRebooting
		old.AvailableAt = now.Add(window)
		old.RefusesWritesUntil = now.Add(window)
	}
	w.refreshDNS(now)
	return nil
}

// BeginDelete starts deleting an instance (lock held): it stops serving
// at once but lingers in the reader endpoint's round robin.
func (w *World) BeginDelete(in *Instance, now time.Time) {
	c := in.Cluster
	wasReader := false
	for _, id := range c.DNSReaders {
		if id == in.ID {
			wasReader = true
		}
	}
	in.Status = StatusDeleting
	in.GoneAt = now.Add(w.P.DeletionDelay)
	if wasReader && w.P.ReaderDNSLinger > 0 {
		c.lingering[in.ID] = now.Add(w.P.ReaderDNSLinger)
	}
	w.refreshDNS(now)
}

// Errors specific to RDS states, shared by backend and failover paths.
func ErrInvalidDBClusterState(format string, args ...any) *APIError {
	return NewAPIError(400, "InvalidDBClusterStateFault", format, args...)
}

func ErrInvalidDBInstanceState(format string, args ...any) *APIError {
	return NewAPIError(400, "InvalidDBInstanceState", format, args...)
}

// DNSRecord is one resource record of an answer.
type DNSRecord struct {
	Name  string // fully qualified, trailing dot
	Type  string // A, CNAME, TXT
	TTL   uint32
	Value string
}

// Resolve answers a DNS question from the model: Aurora endpoints of every
// account and region, then Route 53 hosted zones. CNAME chains are followed
// as a recursive resolver would. known is false when no zone owns the name
// (NXDOMAIN vs REFUSED is the DNS layer's choice).
func (w *World) Resolve(name string) (records []DNSRecord, known bool) {
	a := w.Lookup(name)
	return a.Records, a.Known
}

// resolveOne answers one name of a chain that started at asked.
func (w *World) resolveOne(asked, name string) ([]DNSRecord, bool) {
	if strings.HasSuffix(name, ".rds.amazonaws.com.") {
		return w.resolveRDS(asked, name)
	}
	return w.resolveZones(name)
}

func (w *World) resolveRDS(asked, fqdn string) ([]DNSRecord, bool) {
	ttl := uint32(w.P.DNSTTL / time.Second)
	host := strings.TrimSuffix(fqdn, ".rds.amazonaws.com.")
	parts := strings.Split(host, ".")
	if len(parts) != 3 {
		return nil, false
	}
	label, kind, regionName := parts[0], parts[1], parts[2]
	for _, id := range w.order {
		for _, r := range w.accounts[id].Regions {
			if r.Name != regionName {
				continue
			}
			cname := func(instanceID string) []DNSRecord {
				return []DNSRecord{{Name: fqdn, Type: "CNAME", TTL: ttl, Value: r.InstanceEndpoint(instanceID) + "."}}
			}
			switch kind {
			case "cluster-" + r.Hash:
				if c := r.Clusters[label]; c != nil && c.DNSWriter != "" {
					return cname(c.DNSWriter), true
				}
			case "cluster-ro-" + r.Hash:
				if c := r.Clusters[label]; c != nil {
					if len(c.DNSReaders) == 0 {
						return cname(c.DNSWriter), true
					}
					return cname(c.nextRoundRobin(asked+"|"+fqdn, c.DNSReaders)), true
				}
			case "cluster-custom-" + r.Hash:
				for _, c := range r.Clusters {
					if ce := c.CustomEndpoints[label]; ce != nil {
						m := c.CustomMembers(ce)
						if len(m) == 0 {
							return nil, true
						}
						return cname(c.nextRoundRobin(asked+"|"+fqdn, m)), true
					}
				}
			case "proxy-" + r.Hash:
				if p := r.Proxies[label]; p != nil {
					return []DNSRecord{{Name: fqdn, Type: "A", TTL: ttl, Value: "127.63.0.1"}}, true
				}
			case r.Hash:
				// Deleted instances keep answering until their record is
				// gone with them; lingering readers resolve via the map.
				if in := r.Instances[label]; in != nil {
					return []DNSRecord{{Name: fqdn, Type: "A", TTL: ttl, Value: in.IP.String()}}, true
				}
				for _, c := range r.Clusters {
					if _, ok := c.lingering[label]; ok {
						return []DNSRecord{{Name: fqdn, Type: "A", TTL: ttl, Value: lingerIP(r, label)}}, true
					}
				}
			}
		}
	}
	return nil, false
}

// nextRoundRobin rotates each endpoint on its own cursor per name asked
// (the endpoint itself, or a record that leads to it), so a client
// alternating between two such names still sees every member of each:
// one shared cursor would hand each name every other member only.
func (c *Cluster) nextRoundRobin(endpoint string, members []string) string {
	if c.rrCursor == nil {
		c.rrCursor = map[string]int{}
	}
	i := (c.rrCursor[endpoint] + 1) % len(members)
	c.rrCursor[endpoint] = i
	return members[i]
}

// lingerIP is a stable address for a deleted instance still in round robin.
func lingerIP(r *Region, id string) string {
	return "127.62." + itoa(len(id)%250) + ".1"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// CustomMembers resolves a custom endpoint's membership: static members,
// or every eligible instance minus the excluded ones, filtered by type.
func (c *Cluster) CustomMembers(ce *CustomEndpoint) []string {
	eligible := func(id string) bool {
		in := c.Region.Instances[id]
		if in == nil || in.Status != StatusAvailable {
			return false
		}
		if ce.Type == "READER" && id == c.Writer {
			return false
		}
		return true
	}
	var out []string
	if len(ce.Static) > 0 {
		for _, id := range ce.Static {
			if eligible(id) {
				out = append(out, id)
			}
		}
		return out
	}
	excluded := map[string]bool{}
	for _, id := range ce.Excluded {
		excluded[id] = true
	}
	for _, id := range c.Members {
		if !excluded[id] && eligible(id) {
			out = append(out, id)
		}
	}
	return out
}

func (w *World) resolveZones(fqdn string) ([]DNSRecord, bool) {
	zone := w.zoneFor(fqdn)
	if zone == nil {
		return nil, false
	}
	var out []DNSRecord
	for _, rs := range zone.Served {
		if rs.Name != fqdn || rs.Type == "NS" || rs.Type == "SOA" {
			continue
		}
		if rs.AliasTarget != nil {
			out = append(out, DNSRecord{Name: fqdn, Type: "CNAME", TTL: 60, Value: ensureDot(rs.AliasTarget.DNSName)})
			continue
		}
		for _, v := range rs.Values {
			out = append(out, DNSRecord{Name: fqdn, Type: rs.Type, TTL: uint32(rs.TTL), Value: v})
		}
	}
	return out, true
}

func ensureDot(s string) string {
	if strings.HasSuffix(s, ".") {
		return strings.ToLower(s)
	}
	return strings.ToLower(s) + "."
}
