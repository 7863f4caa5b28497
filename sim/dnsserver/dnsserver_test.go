package dnsserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

func query(t *testing.T, addr, name string, qtype uint16, net string) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 500 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, addr)
	return r, err
}

func TestAnswers(t *testing.T) {
	env := simtest.Start(t, "field-avalanche")
	addr := env.StartDNS(t)
	truth, _ := env.World.Truth().Cluster("events-db")

	for _, proto := range []string{"udp", "tcp"} {
		r, err := query(t, addr, truth.ClusterEndpoint, dns.TypeA, proto)
		if err != nil {
			t.Fatal(proto, err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
			t.Fatalf("%s cluster endpoint: %v", proto, r)
		}
		cname, ok := r.Answer[0].(*dns.CNAME)
		if !ok || !strings.HasPrefix(cname.Target, "events-db-writer.") || cname.Hdr.Ttl != 5 {
			t.Fatalf("%s cluster endpoint answer: %v", proto, r.Answer)
		}
		if _, ok := r.Answer[1].(*dns.A); !ok {
			t.Fatalf("%s: chain does not end in an A record: %v", proto, r.Answer)
		}
	}

	r, _ := query(t, addr, truth.ReaderEndpoint, dns.TypeCNAME, "udp")
	if len(r.Answer) != 1 || !strings.HasPrefix(r.Answer[0].(*dns.CNAME).Target, "events-db-reader-1.") {
		t.Fatalf("reader endpoint CNAME query: %v", r.Answer)
	}
	r, _ = query(t, addr, "db-read.app.internal", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 {
		t.Fatalf("hosted zone record follows to the reader: %v", r)
	}
	r, _ = query(t, addr, "nosuch.app.internal", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("unknown name in a served zone: %v", dns.RcodeToString[r.Rcode])
	}
	r, _ = query(t, addr, "gone."+strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], dns.TypeA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("unknown RDS endpoint: %v", dns.RcodeToString[r.Rcode])
	}
	r, _ = query(t, addr, "example.com", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeRefused {
		t.Fatalf("name outside served zones: %v", dns.RcodeToString[r.Rcode])
	}
	r, _ = query(t, addr, truth.ClusterEndpoint, dns.TypeTXT, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("TXT on a CNAME name: only the CNAME, got %v", r)
	}
}

func TestOutage(t *testing.T) {
	env := simtest.Start(t, "field-avalanche")
	addr := env.StartDNS(t)
	truth, _ := env.World.Truth().Cluster("events-db")

	id, err := env.World.InjectFault(sim.Fault{Kind: sim.FaultDNSOutage, DNSMode: "servfail"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r, err := query(t, addr, truth.ClusterEndpoint, dns.TypeA, "udp")
	if err != nil || r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("servfail outage: %v %v", r, err)
	}
	env.World.Faults.Remove(id)
	if _, err := env.World.InjectFault(sim.Fault{Kind: sim.FaultDNSOutage}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := query(t, addr, truth.ClusterEndpoint, dns.TypeA, "udp"); err == nil {
		t.Fatal("drop outage answered")
	}
	env.Advance(t, time.Minute+time.Second)
	if r, err := query(t, addr, truth.ClusterEndpoint, dns.TypeA, "udp"); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("after the outage ends: %v %v", r, err)
	}
}

// exchange sends a prepared message over UDP.
func exchange(t *testing.T, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, _, err := (&dns.Client{Timeout: 500 * time.Millisecond}).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// soaIn returns the authority section's SOA, failing when there is none.
func soaIn(t *testing.T, what string, r *dns.Msg) *dns.SOA {
	t.Helper()
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa
		}
	}
	t.Fatalf("%s: no SOA in the authority section: %v", what, r)
	return nil
}

// TestNegativeAnswers: NXDOMAIN and NODATA carry the owning zone's SOA
// (TTL = min(SOA TTL, minimum), RFC 2308) so resolvers cache them, and
// every answer from a served zone is authoritative.
func TestNegativeAnswers(t *testing.T) {
	env := simtest.Start(t, "field-avalanche")
	addr := env.StartDNS(t)
	truth, _ := env.World.Truth().Cluster("events-db")
	rdsZone := strings.SplitN(strings.SplitN(truth.ClusterEndpoint, ".", 3)[2], ".", 2)[0] // region
	rdsZone = rdsZone + ".rds.amazonaws.com."

	cases := []struct {
		name      string
		qtype     uint16
		rcode     int
		zone      string
		ttl       uint32
		answers   int
		authority bool
	}{
		{"nosuch.app.internal", dns.TypeA, dns.RcodeNameError, "app.internal.", 900, 0, true},
		{"app.internal", dns.TypeA, dns.RcodeSuccess, "app.internal.", 900, 0, true}, // apex: NODATA, not NXDOMAIN
		{"gone." + strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], dns.TypeA, dns.RcodeNameError, rdsZone, 5, 0, true},
		{"events-db-writer." + strings.TrimPrefix(strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], "cluster-"), dns.TypeAAAA, dns.RcodeSuccess, rdsZone, 5, 0, true},
		{truth.ClusterEndpoint, dns.TypeAAAA, dns.RcodeSuccess, rdsZone, 5, 1, true}, // CNAME, then no AAAA at the end of the chain
		{truth.ClusterEndpoint, dns.TypeA, dns.RcodeSuccess, "", 0, 2, false},
	}
	for _, tc := range cases {
		what := tc.name + " " + dns.TypeToString[tc.qtype]
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(tc.name), tc.qtype)
		r := exchange(t, addr, m)
		if r.Rcode != tc.rcode || len(r.Answer) != tc.answers || !r.Authoritative {
			t.Fatalf("%s: rcode %s, %d answers, AA %v: %v", what, dns.RcodeToString[r.Rcode], len(r.Answer), r.Authoritative, r)
		}
		if !tc.authority {
			if len(r.Ns) != 0 {
				t.Fatalf("%s: positive answer with authority %v", what, r.Ns)
			}
			continue
		}
		soa := soaIn(t, what, r)
		if soa.Hdr.Name != tc.zone || soa.Hdr.Ttl != tc.ttl || soa.Minttl < tc.ttl {
			t.Fatalf("%s: SOA %v, want zone %s with negative TTL %d", what, soa, tc.zone, tc.ttl)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	if r := exchange(t, addr, m); r.Rcode != dns.RcodeRefused || r.Authoritative {
		t.Fatalf("outside served zones: %v", r)
	}
}

// TestEDNS: an EDNS query gets an OPT back (version 0, our UDP size, DO
// copied); an unknown EDNS version gets BADVERS and no answer (RFC 6891).
func TestEDNS(t *testing.T) {
	env := simtest.Start(t, "field-avalanche")
	addr := env.StartDNS(t)
	truth, _ := env.World.Truth().Cluster("events-db")

	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(truth.ClusterEndpoint), dns.TypeA)
	m.SetEdns0(1232, true)
	r := exchange(t, addr, m)
	opt := r.IsEdns0()
	if r.Rcode != dns.RcodeSuccess || opt == nil || opt.Version() != 0 || !opt.Do() || opt.UDPSize() < 512 || len(r.Answer) != 2 {
		t.Fatalf("EDNS query: %v", r)
	}
	m = new(dns.Msg)
	m.SetQuestion(dns.Fqdn(truth.ClusterEndpoint), dns.TypeA)
	if r := exchange(t, addr, m); r.IsEdns0() != nil {
		t.Fatalf("OPT in the answer to a query without EDNS: %v", r)
	}
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	r = exchange(t, addr, m)
	if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || r.IsEdns0().Version() != 0 || len(r.Answer) != 0 {
		t.Fatalf("EDNS version 1: rcode %s: %v", dns.RcodeToString[r.Rcode], r)
	}
}

// TestReaderEndpointDuringFailover: in the failover DNS window the
// cluster endpoint still names the old writer (rebooting), while the
// reader endpoint keeps naming the promoted instance: its record has not
// changed yet and the instance is available. It never names the
// rebooting old writer.
func TestReaderEndpointDuringFailover(t *testing.T) {
	env := simtest.Start(t, "field-avalanche")
	addr := env.StartDNS(t)
	truth, _ := env.World.Truth().Cluster("events-db")
	var err *sim.APIError
	env.World.Do(func(now time.Time) {
		c := env.World.Accounts()[0].Regions["us-east-1"].Clusters["events-db"]
		err = env.World.StartFailover(c, nil, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	env.Advance(t, time.Second)
	target := func(name string) string {
		r, qerr := query(t, addr, name, dns.TypeCNAME, "udp")
		if qerr != nil || len(r.Answer) != 1 {
			t.Fatalf("%s: %v %v", name, r, qerr)
		}
		return strings.SplitN(r.Answer[0].(*dns.CNAME).Target, ".", 2)[0]
	}
	for i := 0; i < 4; i++ {
		if got := target(truth.ReaderEndpoint); got != "events-db-reader-1" {
			t.Fatalf("reader endpoint inside the failover window names %s", got)
		}
	}
	if got := target(truth.ClusterEndpoint); got != "events-db-writer" {
		t.Fatalf("cluster endpoint inside the window names %s", got)
	}
	env.Advance(t, env.World.P.FailoverDNSWindowMax)
	if got := target(truth.ClusterEndpoint); got != "events-db-reader-1" {
		t.Fatalf("cluster endpoint after the window names %s", got)
	}
	if got := target(truth.ReaderEndpoint); got != "events-db-writer" {
		t.Fatalf("reader endpoint after the window names %s (the old writer is back as a reader)", got)
	}
}
