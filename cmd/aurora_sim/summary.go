package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/aurora-surge/aurora-surge/sim"
)

func printBanner(out io.Writer, w *sim.World, url, dnsAddr string) {
	t := w.Truth()
	fmt.Fprintf(out, "aurora_sim: scenario %q at %s\n", w.Scenario().Name, t.Now.Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(out, "  AWS APIs:   %s   (export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1)\n", url, url)
	fmt.Fprintf(out, "  admin:      %s/_sim/truth  /_sim/calls  /_sim/faults  /_sim/clock\n", url)
	if dnsAddr != "" {
		fmt.Fprintf(out, "  DNS:        %s (udp+tcp)\n", dnsAddr)
	}
	for _, a := range t.Accounts {
		for _, r := range a.Regions {
			for _, c := range r.Clusters {
				fmt.Fprintf(out, "  cluster %s (account %s, %s): writer %s, readers %s\n", c.ID, a.ID, r.Name, c.ClusterEndpoint, c.ReaderEndpoint)
			}
		}
		for _, z := range a.HostedZones {
			fmt.Fprintf(out, "  hosted zone %s (%s)\n", z.Name, z.ID)
		}
	}
	printSummary(out, t)
}

// printSummary is the demo's view of the fleet: users, instances and
// what DNS answers, one block per cluster.
func printSummary(out io.Writer, t sim.Truth) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\n%s\n", t.Now.Format("15:04:05"))
	for _, a := range t.Accounts {
		for _, r := range a.Regions {
			for _, c := range r.Clusters {
				fmt.Fprintf(tw, "%s\tusers %.0f\tstatus %s\tDNS writer %s\tDNS readers %s\tfailed reads %.0f writes %.0f\n",
					c.ID, c.Users, c.Status, c.DNSWriter, strings.Join(c.DNSReaders, ","), c.FailedReads, c.FailedWrites)
				for _, in := range c.Instances {
					fmt.Fprintf(tw, "  %s\t%s tier %d\t%s\tACU %.1f\tCPU %.0f%%\tconn %.0f\tread %.2f ms\n",
						in.ID, in.Role, in.Tier, in.Status, in.ACU, in.CPU, in.Connections, in.ReadLatency*1000)
				}
				if p := c.Proxy; p != nil {
					ratio := 0.0
					if p.DatabaseConnections > 0 {
						ratio = p.PinnedConnections / p.DatabaseConnections
					}
					fmt.Fprintf(tw, "  proxy %s\tclients %.0f\tdb conns %.0f\tpinned %.0f (%.0f%%)\n", p.Name, p.ClientConnections, p.DatabaseConnections, p.PinnedConnections, 100*ratio)
				}
			}
			for _, g := range r.ASGs {
				fmt.Fprintf(tw, "  asg %s\tdesired %d\tin service %d\tpending %d\treq/min/instance %.0f\tCPU %.0f%%\n", g.Name, g.Desired, g.InService, g.Pending, g.RequestsPerInstance, g.CPU)
			}
		}
	}
	_ = tw.Flush()
}
