// Package dnsq asks one DNS server directly with miekg/dns (never the
// system cache, which would hide the TTL dynamics the exporter watches and
// the scaler waits out).
package dnsq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver queries Server (host:port).
type Resolver struct {
	Server  string
	Timeout time.Duration // 0: miekg's default (2 s)
}

// Resolve asks for name's A records and returns the CNAME chain it
// followed and the addresses it ended at.
func (r Resolver) Resolve(ctx context.Context, name string) (chain, addrs []string, err error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: r.Timeout}
	in, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err != nil {
		return nil, nil, err
	}
	if in.Rcode != dns.RcodeSuccess {
		return nil, nil, fmt.Errorf("%s: %s", name, dns.RcodeToString[in.Rcode])
	}
	for _, rr := range in.Answer {
		switch v := rr.(type) {
		case *dns.CNAME:
			chain = append(chain, v.Target)
		case *dns.A:
			addrs = append(addrs, v.A.String())
		}
	}
	return chain, addrs, nil
}

// CNAMETarget is the last CNAME target of name's chain (lower case, no
// trailing dot): for the reader endpoint or an application record, the
// instance endpoint a client would connect to.
func (r Resolver) CNAMETarget(ctx context.Context, name string) (string, error) {
	chain, _, err := r.Resolve(ctx, name)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", name, err)
	}
	if len(chain) == 0 {
		return "", fmt.Errorf("resolving %s: no CNAME in the answer", name)
	}
	return strings.ToLower(strings.TrimSuffix(chain[len(chain)-1], ".")), nil
}

// SystemNameserver returns the first nameserver of /etc/resolv.conf.
func SystemNameserver() (string, error) {
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", err
	}
	if len(cfg.Servers) == 0 {
		return "", errors.New("/etc/resolv.conf lists no nameserver")
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
}
