package procedure

import "github.com/aurora-surge/aurora-surge/internal/dnsq"

// DNSResolver asks one DNS server (the VPC resolver, or the emulator's).
type DNSResolver = dnsq.Resolver
