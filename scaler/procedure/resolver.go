package procedure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSResolver asks one DNS server (the VPC resolver, or the emulator's).
type DNSResolver struct {
	Server  string // host:port
	Timeout time.Duration
}

// CNAMETarget returns the last CNAME target of name's chain: for the
// reader endpoint or an application record, the instance endpoint the
// client would connect to.
func (r DNSResolver) CNAMETarget(ctx context.Context, name string) (string, error) {
	c := &dns.Client{Timeout: r.Timeout}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	resp, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", name, err)
	}
	if resp.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("resolving %s: %s", name, dns.RcodeToString[resp.Rcode])
	}
	target := ""
	for _, rr := range resp.Answer {
		if cn, ok := rr.(*dns.CNAME); ok {
			target = cn.Target
		}
	}
	if target == "" {
		return "", fmt.Errorf("resolving %s: no CNAME in the answer", name)
	}
	return strings.ToLower(strings.TrimSuffix(target, ".")), nil
}
