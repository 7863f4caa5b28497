// Package dnsserver answers DNS queries from the emulated world over UDP
// and TCP: Aurora cluster, reader, instance and custom endpoints, and the
// Route 53 hosted zones as they have propagated. It answers as the VPC
// resolver does for these names: CNAME chains followed, A records last,
// NXDOMAIN for unknown names under a served zone, REFUSED elsewhere.
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
	_ = rw.WriteMsg(s.answer(req))
}

func (s *Server) answer(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.SetRcode(req, dns.RcodeRefused)
		return m
	}
	records, known := s.world.Resolve(q.Name)
	if !known && !strings.HasSuffix(strings.ToLower(dns.Fqdn(q.Name)), ".rds.amazonaws.com.") {
		m.SetRcode(req, dns.RcodeRefused)
		return m
	}
	if len(records) == 0 {
		m.SetRcode(req, dns.RcodeNameError)
		return m
	}
	for _, r := range records {
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
	if len(m.Answer) == 0 {
		s.log.Debug("dns nodata", "name", q.Name, "type", dns.TypeToString[q.Qtype])
	}
	// Keep UDP answers within the client's buffer; large round-robin sets
	// get TC and the client retries over TCP.
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
	}
	m.Truncate(size)
	return m
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
