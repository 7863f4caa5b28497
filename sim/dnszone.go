package sim

import (
	"fmt"
	"strings"
	"time"
)

// DNSAnswer is a resolution with what a resolver needs beyond the
// records: whether the final name of the chain exists (NXDOMAIN vs
// NODATA) and the SOA of the zone that owns it, for negative caching.
type DNSAnswer struct {
	Records []DNSRecord
	// Known is false when no served zone owns the asked name (the DNS
	// layer answers REFUSED then).
	Known bool
	// NXDomain: the last name of the chain does not exist.
	NXDomain bool
	// SOA of the zone owning the last name of the chain (nil if unknown).
	SOA *SOA
}

// SOA is a zone's start of authority, parsed for negative answers.
type SOA struct {
	Zone, MName, RName                           string
	TTL, Serial, Refresh, Retry, Expire, Minimum uint32
}

// Lookup answers a DNS question from the model like Resolve, plus the
// existence of the final name and its zone's SOA.
func (w *World) Lookup(name string) DNSAnswer {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncLocked()
	name = strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	asked := name
	var a DNSAnswer
	for depth := 0; depth < 8; depth++ {
		step, ok := w.resolveOne(asked, name)
		if !ok {
			// Not found under a zone served here (an unknown Aurora name),
			// or a CNAME leading out of them: an authoritative server's
			// answer ends at that CNAME, without saying whether it exists.
			inRDS := strings.HasSuffix(name, ".rds.amazonaws.com.")
			a.Known = a.Known || inRDS
			if inRDS {
				a.NXDomain, a.SOA = true, w.soaFor(name)
			}
			return a
		}
		a.Known = true
		a.Records = append(a.Records, step...)
		if len(step) == 0 {
			a.NXDomain = !w.nameExists(name)
			a.SOA = w.soaFor(name)
			return a
		}
		if last := step[len(step)-1]; last.Type == "CNAME" {
			name = last.Value
			continue
		}
		a.SOA = w.soaFor(name)
		return a
	}
	return a
}

// nameExists: a zone name that owns records only the DNS layer does not
// serve as answers (the apex's SOA and NS), or an empty custom endpoint.
func (w *World) nameExists(fqdn string) bool {
	if strings.HasSuffix(fqdn, ".rds.amazonaws.com.") {
		return true // resolveRDS only answers for names that exist
	}
	z := w.zoneFor(fqdn)
	if z == nil {
		return false
	}
	for _, rs := range z.Served {
		if rs.Name == fqdn {
			return true
		}
	}
	return false
}

// zoneFor is the most specific hosted zone owning fqdn, in any account.
func (w *World) zoneFor(fqdn string) *HostedZone {
	var zone *HostedZone
	for _, id := range w.order {
		for _, z := range w.accounts[id].HostedZones {
			if (fqdn == z.Name || strings.HasSuffix(fqdn, "."+z.Name)) && (zone == nil || len(z.Name) > len(zone.Name)) {
				zone = z
			}
		}
	}
	return zone
}

// soaFor returns the SOA of the zone owning fqdn: a hosted zone's own SOA
// record, or for Aurora names the region's rds.amazonaws.com zone, whose
// negative TTL is the endpoints' TTL (a reader that is about to exist
// must not stay cached as missing for long).
func (w *World) soaFor(fqdn string) *SOA {
	if strings.HasSuffix(fqdn, ".rds.amazonaws.com.") {
		labels := strings.Split(strings.TrimSuffix(fqdn, ".rds.amazonaws.com."), ".")
		zone := "rds.amazonaws.com."
		if len(labels) > 0 && labels[len(labels)-1] != "" {
			zone = labels[len(labels)-1] + "." + zone
		}
		ttl := uint32(w.P.DNSTTL / time.Second)
		return &SOA{Zone: zone, MName: "ns-1.awsdns-01.org.", RName: "awsdns-hostmaster.amazon.com.",
			TTL: ttl, Serial: 1, Refresh: 7200, Retry: 900, Expire: 1209600, Minimum: ttl}
	}
	z := w.zoneFor(fqdn)
	if z == nil {
		return nil
	}
	for _, rs := range z.Served {
		if rs.Type != "SOA" || rs.Name != z.Name || len(rs.Values) == 0 {
			continue
		}
		s := &SOA{Zone: z.Name, TTL: uint32(rs.TTL)}
		if _, err := fmt.Sscanf(rs.Values[0], "%s %s %d %d %d %d %d", &s.MName, &s.RName, &s.Serial, &s.Refresh, &s.Retry, &s.Expire, &s.Minimum); err != nil {
			return nil
		}
		return s
	}
	return nil
}
