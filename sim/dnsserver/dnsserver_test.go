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
