// Package dnsserver answers DNS queries from the emulated world over UDP
// and TCP: Aurora cluster, reader, instance and custom endpoints, and the
// Route 53 hosted zones as they have propagated. It answers as the VPC
// resolver does for these names: CNAME chains followed, A records last,
// NXDOMAIN for unknown names under a served zone, REFUSED elsewhere.
// Answers are authoritative (AA); NXDOMAIN and NODATA carry the zone's
// SOA so resolvers cache them (RFC 2308); EDNS is honoured (OPT echoed,
// BADVERS for a version other than 0, RFC 6891).
package dnsserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Server is a running DNS server.
type Server struct {
	world *sim.World
	log   *slog.Logger
	udp   *dns.Server
	tcp   *dns.Server
	addr  string
}

// Start listens on addr (UDP and TCP on the same port; port 0 picks one).
func Start(w *sim.World, addr string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{world: w, log: log}
	pc, ln, err := listenBoth(addr)
	if err != nil {
		return nil, err
	}
	s.addr = pc.LocalAddr().String()
	var started sync.WaitGroup
	started.Add(2)
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: started.Done}
	s.tcp = &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: started.Done}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Error("dns server stopped", "err", err)
			}
		}()
	}
	started.Wait()
	return s, nil
}

// listenBoth binds UDP and TCP on one port. With port 0 the port UDP
// picks may be taken for TCP by another process; pick again then.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns udp listen %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 9 {
			return nil, nil, fmt.Errorf("dns tcp listen %s: %w", pc.LocalAddr(), err)
		}
	}
}

// Addr is the bound address (host:port), the same for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// Close stops both listeners.
func (s *Server) Close() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(rw dns.ResponseWriter, req *dns.Msg) {
	switch s.world.Faults.DNS(s.world.Now()) {
	case "drop":
		// An outage as clients see it: no answer, they time out.
		return
	case "servfail":
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		_ = rw.WriteMsg(m)
		return
	}
	_, tcp := rw.RemoteAddr().(*net.TCPAddr)
	_ = rw.WriteMsg(s.answer(req, tcp))
}

// maxUDPSize is the EDNS buffer size advertised (the DNS flag day 2020
// value, safe from fragmentation).
const maxUDPSize = 1232

func (s *Server) answer(req *dns.Msg, tcp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	reqOpt := req.IsEdns0()
	if reqOpt != nil {
		// Echo OPT: version 0, our buffer size, the DO bit copied.
		m.SetEdns0(maxUDPSize, reqOpt.Do())
		if reqOpt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers // extended RCODE, carried in OPT
			return m
		}
	}
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.SetRcode(req, dns.RcodeRefused)
		return m
	}
	ans := s.world.Lookup(q.Name)
	if !ans.Known {
		m.SetRcode(req, dns.RcodeRefused)
		return m
	}
	m.Authoritative = true
	for _, r := range ans.Records {
		// A CNAME is always part of the answer (the resolver follows it);
		// the final records only when they are of the asked type.
		if r.Type != "CNAME" && q.Qtype != dns.TypeANY && dns.StringToType[r.Type] != q.Qtype {
			continue
		}
		if rr := toRR(r); rr != nil {
			m.Answer = append(m.Answer, rr)
		}
		if r.Type == "CNAME" && q.Qtype == dns.TypeCNAME {
			break
		}
	}
	// Negative: the last name does not exist, or has no record of the
	// asked type (the answer is empty or ends in a CNAME).
	nodata := len(m.Answer) == 0 || q.Qtype != dns.TypeCNAME && q.Qtype != dns.TypeANY && m.Answer[len(m.Answer)-1].Header().Rrtype == dns.TypeCNAME
	if ans.NXDomain {
		m.Rcode = dns.RcodeNameError
	}
	if (ans.NXDomain || nodata) && ans.SOA != nil {
		m.Ns = append(m.Ns, negativeSOA(ans.SOA))
		s.log.Debug("dns negative answer", "name", q.Name, "type", dns.TypeToString[q.Qtype], "nxdomain", ans.NXDomain)
	}
	// Keep UDP answers within the client's buffer; large round-robin sets
	// get TC and the client retries over TCP.
	if !tcp {
		size := dns.MinMsgSize
		if reqOpt != nil {
			size = min(max(int(reqOpt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		}
		m.Truncate(size)
	}
	return m
}

// negativeSOA is the zone's SOA as RFC 2308 puts it in a negative answer:
// its TTL is the lesser of the SOA's own TTL and its minimum field, the
// time a resolver may cache the negative answer.
func negativeSOA(z *sim.SOA) *dns.SOA {
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: z.Zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: min(z.TTL, z.Minimum)},
		Ns:  z.MName, Mbox: z.RName, Serial: z.Serial, Refresh: z.Refresh, Retry: z.Retry, Expire: z.Expire, Minttl: z.Minimum,
	}
}

func toRR(r sim.DNSRecord) dns.RR {
	hdr := dns.RR_Header{Name: r.Name, Class: dns.ClassINET, Ttl: r.TTL}
	switch r.Type {
	case "A":
		ip, err := netip.ParseAddr(r.Value)
		if err != nil || !ip.Is4() {
			return nil
		}
		hdr.Rrtype = dns.TypeA
		return &dns.A{Hdr: hdr, A: net.IP(ip.AsSlice())}
	case "AAAA":
		ip, err := netip.ParseAddr(r.Value)
		if err != nil {
			return nil
		}
		hdr.Rrtype = dns.TypeAAAA
		return &dns.AAAA{Hdr: hdr, AAAA: net.IP(ip.AsSlice())}
	case "CNAME":
		hdr.Rrtype = dns.TypeCNAME
		return &dns.CNAME{Hdr: hdr, Target: dns.Fqdn(r.Value)}
	case "TXT":
		hdr.Rrtype = dns.TypeTXT
		return &dns.TXT{Hdr: hdr, Txt: []string{strings.Trim(r.Value, `"`)}}
	}
	rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", r.Name, r.TTL, r.Type, r.Value))
	if err != nil {
		return nil
	}
	return rr
}
