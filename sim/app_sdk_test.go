package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/aurora-surge/aurora-surge/sim"
	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	simr53 "github.com/aurora-surge/aurora-surge/sim/route53"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// TestDrainThroughTheAPIs plays the field's reader scale-in through the
// real SDK: the safe drain (record moved to the survivor, change INSYNC,
// one TTL, delete, record back once the reader endpoint is clean) fails
// no read; deleting a reader the record still leads to fails reads.
func TestDrainThroughTheAPIs(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, "field-avalanche", simrds.Register, simr53.Register)
	cfg := env.Config(t, "us-east-1")
	db, dns := rds.NewFromConfig(cfg), route53.NewFromConfig(cfg)
	w := env.World
	stats := func() sim.AppStats {
		st, ok := w.AppStats(sim.DefaultAccountID, "us-east-1", "events-db")
		if !ok {
			t.Fatal("no app stats for events-db")
		}
		return st
	}
	endpoint := func(id string) string {
		out, err := db.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.DBInstances[0].Endpoint.Address)
	}
	zones, err := dns.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var zone *string
	for _, z := range zones.HostedZones {
		if aws.ToString(z.Name) == "app.internal." {
			zone = z.Id
		}
	}
	if zone == nil {
		t.Fatal("no app.internal. zone")
	}
	point := func(target string) {
		out, err := dns.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone,
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert,
				ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("db-read.app.internal."), Type: r53types.RRTypeCname,
					TTL: aws.Int64(5), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(target)}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			ch, err := dns.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
			if err != nil {
				t.Fatal(err)
			}
			if ch.ChangeInfo.Status == r53types.ChangeStatusInsync {
				break
			}
			if i > 60 {
				t.Fatal("change never INSYNC")
			}
			env.Advance(t, time.Second)
		}
	}
	del := func(id string) {
		if _, err := db.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql"),
	}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, w.P.ProvisioningDelay+time.Minute)
	if ct, _ := w.Truth().Cluster("events-db"); ct.App.ReadClients["events-db-reader-2"] == 0 {
		t.Fatalf("reader-2 has no clients before the drain: %v", ct.App.ReadClients)
	}

	before := stats()
	point(endpoint("events-db-reader-1"))
	env.Advance(t, w.P.DNSTTL+time.Second)
	del("events-db-reader-2")
	env.Advance(t, w.P.ReaderDNSLinger+w.P.DNSTTL)
	cl, err := db.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("events-db")})
	if err != nil {
		t.Fatal(err)
	}
	point(aws.ToString(cl.DBClusters[0].ReaderEndpoint))
	env.Advance(t, time.Minute)
	safe := stats().Sub(before)
	if safe.ReadsTotal <= 0 || safe.ReadsFailedTotal != 0 {
		t.Errorf("safe drain: %.1f of %.0f reads failed", safe.ReadsFailedTotal, safe.ReadsTotal)
	}

	// The record leads to the reader endpoint again: deleting its last
	// reader there fails the reads of the clients that still hold it.
	before = stats()
	del("events-db-reader-1")
	env.Advance(t, w.P.ReaderDNSLinger+w.P.DNSTTL+time.Second)
	unsafe := stats().Sub(before)
	t.Logf("safe drain: %.1f of %.0f reads failed; unsafe: %.1f of %.0f", safe.ReadsFailedTotal, safe.ReadsTotal, unsafe.ReadsFailedTotal, unsafe.ReadsTotal)
	if unsafe.ReadsFailedTotal <= 0 {
		t.Errorf("deleting a reader the clients resolve failed no read")
	}
	if unsafe.WritesFailedTotal != 0 {
		t.Errorf("a reader's deletion failed %.1f writes", unsafe.WritesFailedTotal)
	}
}
