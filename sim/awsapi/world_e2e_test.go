package awsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

// targets asks the emulator's DNS server for name n times and returns the
// instance each answer's CNAME points at, as a client would see them.
func targets(t *testing.T, addr, name string, n int) map[string]int {
	t.Helper()
	c := &dns.Client{Timeout: time.Second}
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range r.Answer {
			if cn, ok := rr.(*dns.CNAME); ok && strings.Contains(cn.Target, ".rds.amazonaws.com.") && !strings.Contains(cn.Target, ".cluster-") {
				seen[strings.SplitN(cn.Target, ".", 2)[0]]++
			}
		}
	}
	return seen
}

func keys(m map[string]int) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ",")
}

// TestFleetLifecycleThroughAPIsAndDNS drives the field's procedures
// through the real SDK and checks what a client resolving the endpoints
// sees at each step.
func TestFleetLifecycleThroughAPIsAndDNS(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	dnsAddr := env.StartDNS(t)
	cfg := env.Config(t, "us-east-1")
	db := rds.NewFromConfig(cfg)
	truth, _ := env.World.Truth().Cluster("events-db")

	// A new reader is not in the reader endpoint while it provisions.
	if _, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql"), PromotionTier: aws.Int32(15),
	}); err != nil {
		t.Fatal(err)
	}
	if got := targets(t, dnsAddr, truth.ReaderEndpoint, 6); len(got) != 1 || got["events-db-reader-1"] == 0 {
		t.Fatalf("reader endpoint while reader-2 provisions: %v", got)
	}
	env.Advance(t, env.World.P.ProvisioningDelay-30*time.Second)
	out, err := db.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
	if err != nil || aws.ToString(out.DBInstances[0].DBInstanceStatus) != "creating" {
		t.Fatalf("reader-2 before the provisioning delay: %v %v", out, err)
	}
	env.Advance(t, time.Minute)
	out, err = db.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
	if err != nil || aws.ToString(out.DBInstances[0].DBInstanceStatus) != "available" {
		t.Fatalf("reader-2 after the provisioning delay: %v %v", out, err)
	}
	if got := targets(t, dnsAddr, truth.ReaderEndpoint, 6); len(got) != 2 || got["events-db-reader-2"] == 0 {
		t.Fatalf("reader endpoint once reader-2 is available: %v", got)
	}

	// Failover: the API names the new writer at once, DNS keeps the old
	// one for the 10-15 s window.
	if _, err := db.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("events-db"), TargetDBInstanceIdentifier: aws.String("events-db-reader-2")}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, 2*time.Second)
	cl, err := db.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("events-db")})
	if err != nil {
		t.Fatal(err)
	}
	apiWriter := ""
	for _, m := range cl.DBClusters[0].DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			apiWriter = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	if apiWriter != "events-db-reader-2" {
		t.Fatalf("API writer after failover: %q", apiWriter)
	}
	if got := targets(t, dnsAddr, truth.ClusterEndpoint, 1); got["events-db-writer"] != 1 {
		t.Fatalf("cluster endpoint inside the DNS window: %v", got)
	}
	env.Advance(t, env.World.P.FailoverDNSWindowMax)
	if got := targets(t, dnsAddr, truth.ClusterEndpoint, 1); got["events-db-reader-2"] != 1 {
		t.Fatalf("cluster endpoint after the DNS window: %v", got)
	}

	// Deleting a reader: it lingers in round robin, then leaves.
	if _, err := db.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-reader-1")}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, 5*time.Second)
	if got := targets(t, dnsAddr, truth.ReaderEndpoint, 6); got["events-db-reader-1"] == 0 {
		t.Fatalf("deleted reader should linger in round robin: %v", got)
	}
	env.Advance(t, env.World.P.ReaderDNSLinger)
	if got := targets(t, dnsAddr, truth.ReaderEndpoint, 6); got["events-db-reader-1"] != 0 {
		t.Fatalf("deleted reader still answering after the linger: %v", keys(got))
	}

	// Route 53: a repointed record reaches DNS only when INSYNC.
	r53 := route53.NewFromConfig(cfg)
	zones, err := r53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	zone := zones.HostedZones[0].Id
	writerHost := "events-db-reader-2." + strings.TrimPrefix(strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], "cluster-")
	ch, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone, ChangeBatch: &r53types.ChangeBatch{
		Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("db-read.app.internal."), Type: r53types.RRTypeCname, TTL: aws.Int64(5),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(writerHost)}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := dns.Exchange(func() *dns.Msg { m := new(dns.Msg); m.SetQuestion("db-read.app.internal.", dns.TypeCNAME); return m }(), dnsAddr)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].(*dns.CNAME).Target, "cluster-ro-") {
		t.Fatalf("record served before INSYNC: %v", r.Answer)
	}
	env.Advance(t, env.World.P.Route53Propagation)
	gc, err := r53.GetChange(ctx, &route53.GetChangeInput{Id: ch.ChangeInfo.Id})
	if err != nil || gc.ChangeInfo.Status != r53types.ChangeStatusInsync {
		t.Fatalf("change after propagation: %v %v", gc, err)
	}
	if got := targets(t, dnsAddr, "db-read.app.internal.", 3); got["events-db-reader-2"] != 3 {
		t.Fatalf("record after INSYNC: %v", got)
	}
	r, _ = dns.Exchange(func() *dns.Msg { m := new(dns.Msg); m.SetQuestion("db-read.app.internal.", dns.TypeA); return m }(), dnsAddr)
	if len(r.Answer) != 2 || r.Answer[1].Header().Rrtype != dns.TypeA {
		t.Fatalf("repointed record does not resolve to an address: %v", r.Answer)
	}
}
