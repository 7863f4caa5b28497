package dnsserver_test

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// digPath finds Debian's dig (dnsutils). CI sets AURORA_REQUIRE_AWSCLI,
// which also makes a missing dig fail instead of skipping.
func digPath(t *testing.T) string {
	p, err := exec.LookPath("dig")
	if err == nil {
		return p
	}
	if os.Getenv("AURORA_REQUIRE_AWSCLI") != "" {
		t.Fatal("dig not found (apt-get install dnsutils)")
	}
	t.Skip("SKIPPING: dig not installed (apt-get install dnsutils); CI requires it")
	return ""
}

// TestDig asks the emulator's DNS server with the reference client and
// reads its presentation: what a resolver or an operator sees.
func TestDig(t *testing.T) {
	dig := digPath(t)
	env := simtest.Start(t, "field-avalanche")
	host, port, _ := net.SplitHostPort(env.StartDNS(t))
	truth, _ := env.World.Truth().Cluster("events-db")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(dig, append([]string{"@" + host, "-p", port, "+tries=1", "+time=2"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	expect := func(out string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(out, p) {
				t.Fatalf("dig output lacks %q:\n%s", p, out)
			}
		}
	}

	// NXDOMAIN with the zone's SOA; negative TTL min(900, 86400).
	out := run("nosuch.app.internal", "A")
	expect(out, "status: NXDOMAIN", "flags: qr aa", "AUTHORITY: 1", "app.internal.\t\t900\tIN\tSOA\tns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400")
	// NODATA: the instance endpoint has an A record, no AAAA.
	writer := "events-db-writer." + strings.TrimPrefix(strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], "cluster-")
	out = run(writer, "AAAA")
	expect(out, "status: NOERROR", "ANSWER: 0, AUTHORITY: 1", "IN\tSOA\t")
	// A positive answer is authoritative and carries no authority.
	out = run(truth.ClusterEndpoint, "A")
	expect(out, "status: NOERROR", "flags: qr aa", "ANSWER: 2, AUTHORITY: 0")
	// EDNS: dig sends OPT by default; it comes back, with an unknown
	// option ignored.
	out = run("+ednsopt=65001:abcd", truth.ClusterEndpoint, "A")
	expect(out, "OPT PSEUDOSECTION", "EDNS: version: 0", "ANSWER: 2")
	// Without EDNS, no OPT comes back.
	if out = run("+noedns", truth.ClusterEndpoint, "A"); strings.Contains(out, "OPT PSEUDOSECTION") {
		t.Fatalf("OPT without EDNS in the query:\n%s", out)
	}
	// An unknown EDNS version: BADVERS, OPT at version 0.
	out = run("+edns=1", "+noednsneg", truth.ClusterEndpoint, "A")
	expect(out, "status: BADVERS", "EDNS: version: 0", "ANSWER: 0")
}
