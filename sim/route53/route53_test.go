package route53_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim"
	simr53 "github.com/aurora-surge/aurora-surge/sim/route53"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

func zoneID(t *testing.T, c *route53.Client, name string) string {
	t.Helper()
	out, err := c.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range out.HostedZones {
		if aws.ToString(z.Name) == name {
			if !strings.HasPrefix(aws.ToString(z.Id), "/hostedzone/Z") || z.Config == nil {
				t.Fatalf("zone shape: %+v", z)
			}
			return aws.ToString(z.Id)
		}
	}
	t.Fatalf("zone %s not listed in %+v", name, out.HostedZones)
	return ""
}

func record(t *testing.T, c *route53.Client, zone, name string) *types.ResourceRecordSet {
	t.Helper()
	out, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), StartRecordName: aws.String(name), MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ResourceRecordSets) == 0 || aws.ToString(out.ResourceRecordSets[0].Name) != name {
		return nil
	}
	return &out.ResourceRecordSets[0]
}

func TestRepointRecordIsPendingThenInSyncAndServed(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simr53.Register)
	c := route53.NewFromConfig(env.Config(t, "us-east-1"))
	zone := zoneID(t, c, "app.internal.")

	rs := record(t, c, zone, "db-read.app.internal.")
	if rs == nil || rs.Type != types.RRTypeCname || aws.ToInt64(rs.TTL) != 5 || !strings.Contains(aws.ToString(rs.ResourceRecords[0].Value), "cluster-ro-") {
		t.Fatalf("seed record: %+v", rs)
	}
	target := "events-db-r1." + strings.SplitN(aws.ToString(rs.ResourceRecords[0].Value), ".", 2)[1]
	out, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &types.ChangeBatch{Comment: aws.String("drain"), Changes: []types.Change{{
			Action: types.ChangeActionUpsert,
			ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("db-read.app.internal."), Type: types.RRTypeCname, TTL: aws.Int64(5),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String(target)}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.ChangeInfo.Status != types.ChangeStatusPending || aws.ToString(out.ChangeInfo.Comment) != "drain" {
		t.Fatalf("change: %+v", out.ChangeInfo)
	}
	// The API shows the new value at once; DNS keeps the old one until
	// the change is INSYNC.
	if got := aws.ToString(record(t, c, zone, "db-read.app.internal.").ResourceRecords[0].Value); got != target {
		t.Fatalf("API view after change: %s", got)
	}
	served := func() string {
		rr, _ := env.World.Resolve("db-read.app.internal.")
		if len(rr) == 0 {
			return ""
		}
		return rr[0].Value
	}
	if strings.HasPrefix(served(), "events-db-r1.") {
		t.Fatalf("DNS serves the change before it propagated: %s", served())
	}
	env.Advance(t, env.World.P.Route53Propagation+time.Second)
	gc, err := c.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	if err != nil {
		t.Fatal(err)
	}
	if gc.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Fatalf("status after propagation: %s", gc.ChangeInfo.Status)
	}
	if !strings.HasPrefix(served(), "events-db-r1.") {
		t.Fatalf("DNS after INSYNC: %s", served())
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestValidation(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simr53.Register)
	c := route53.NewFromConfig(env.Config(t, "us-east-1"))
	zone := zoneID(t, c, "app.internal.")
	change := func(action types.ChangeAction, rs types.ResourceRecordSet) error {
		_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
			ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: action, ResourceRecordSet: &rs}}}})
		return err
	}
	a := func(name, ip string) types.ResourceRecordSet {
		return types.ResourceRecordSet{Name: aws.String(name), Type: types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: aws.String(ip)}}}
	}
	err := change(types.ChangeActionCreate, a("x.app.internal.", "10.0.0.300"))
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) || len(icb.Messages) != 1 || !strings.Contains(icb.Messages[0], "IPv4") {
		t.Fatalf("bad IP: %v", err)
	}
	if err := change(types.ChangeActionCreate, a("x.app.internal.", "10.0.0.3")); err != nil {
		t.Fatal(err)
	}
	if err := change(types.ChangeActionCreate, a("x.app.internal.", "10.0.0.3")); !errors.As(err, &icb) || !strings.Contains(icb.Messages[0], "already exists") {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := change(types.ChangeActionDelete, a("x.app.internal.", "10.0.0.4")); !errors.As(err, &icb) || !strings.Contains(icb.Messages[0], "not found") {
		t.Fatalf("delete with wrong value: %v", err)
	}
	if err := change(types.ChangeActionCreate, a("x.other.zone.", "10.0.0.3")); !errors.As(err, &icb) || !strings.Contains(icb.Messages[0], "not permitted in zone") {
		t.Fatalf("out of zone: %v", err)
	}
	cname := types.ResourceRecordSet{Name: aws.String("x.app.internal."), Type: types.RRTypeCname, TTL: aws.Int64(5), ResourceRecords: []types.ResourceRecord{{Value: aws.String("y.app.internal")}}}
	if err := change(types.ChangeActionCreate, cname); !errors.As(err, &icb) || !strings.Contains(icb.Messages[0], "conflicting RRSet") {
		t.Fatalf("CNAME conflict: %v", err)
	}
	if err := change(types.ChangeActionDelete, a("x.app.internal.", "10.0.0.3")); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOSUCHZONE")})
	wantCode(t, err, "NoSuchHostedZone")
	_, err = c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("CNOSUCH")})
	wantCode(t, err, "NoSuchChange")
}

func TestRecordSetsPage(t *testing.T) {
	sc, err := sim.ParseScenario([]byte(`
name: zones
accounts:
  - id: "123456789012"
    hosted_zones:
      - name: big.internal.
        records: [` + bigRecords(45) + `]
fleets:
  - name: f
    cluster:
      id: db
      instances: [{id: db-w, class: db.r6g.large, writer: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.StartScenario(t, sc, simr53.Register)
	c := route53.NewFromConfig(env.Config(t, "us-east-1"))
	zone := zoneID(t, c, "big.internal.")
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), MaxItems: aws.Int32(10)})
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.ResourceRecordSets {
			key := aws.ToString(r.Name) + string(r.Type)
			if seen[key] {
				t.Fatalf("record %s listed twice", key)
			}
			seen[key] = true
		}
	}
	// 45 records plus the zone's NS and SOA.
	if len(seen) != 47 || pages != 5 {
		t.Fatalf("%d records in %d pages", len(seen), pages)
	}
}

func bigRecords(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{name: h` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `.big.internal., type: A, ttl: 60, values: ["10.0.0.1"]}`)
	}
	return b.String()
}
