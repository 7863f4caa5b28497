package procedure_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

type fleet struct {
	env  *simtest.Env
	deps procedure.Deps
	rds  *rds.Client
	zone string
	dns  procedure.DNSResolver
}

// startFleet is the field-avalanche fleet with two extra scaler-managed
// readers, available.
func startFleet(t *testing.T) *fleet {
	t.Helper()
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	cfg := env.Config(t, "us-east-1")
	f := &fleet{env: env, rds: rds.NewFromConfig(cfg), dns: procedure.DNSResolver{Server: env.StartDNS(t)}}
	r53 := route53.NewFromConfig(cfg)
	zones, err := r53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	f.zone = aws.ToString(zones.HostedZones[0].Id)
	for _, id := range []string{"events-db-surge-a", "events-db-surge-b"} {
		if _, err := f.rds.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String("events-db"), Engine: aws.String("aurora-postgresql"),
			DBInstanceClass: aws.String("db.serverless"), PromotionTier: aws.Int32(15),
			Tags: []rdstypes.Tag{{Key: aws.String(rdsfleet.TagManaged), Value: aws.String("true")}},
		}); err != nil {
			t.Fatal(err)
		}
		env.Advance(t, time.Second) // distinct creation times
	}
	env.Advance(t, env.World.P.ProvisioningDelay+time.Minute)
	f.deps = procedure.Deps{RDS: f.rds, Route53: r53, DNS: f.dns, Poll: 5 * time.Second,
		Wait: func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil }}
	return f
}

func (f *fleet) instances(t *testing.T) map[string]sim.InstanceTruth {
	c, _ := f.env.World.Truth().Cluster("events-db")
	out := map[string]sim.InstanceTruth{}
	for _, in := range c.Instances {
		out[in.ID] = in
	}
	return out
}

// appTarget is the instance an application resolving the read record
// would connect to now.
func (f *fleet) appTarget(t *testing.T) string {
	t.Helper()
	target, err := f.dns.CNAMETarget(ctx, "db-read.app.internal")
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(target, ".", 2)[0]
}

// guard wraps Wait so that at every step of the procedure the read record
// is checked through DNS: it must never lead to a reader that is being
// deleted or is gone.
func (f *fleet) guard(t *testing.T, next func(context.Context, time.Duration) error) func(context.Context, time.Duration) error {
	return func(c context.Context, d time.Duration) error {
		if err := next(c, d); err != nil {
			return err
		}
		for i := 0; i < 4; i++ {
			id := f.appTarget(t)
			if in, ok := f.instances(t)[id]; !ok || in.Status != "available" {
				t.Fatalf("the read record leads to %s (%+v) during the scale-in", id, in.Status)
			}
		}
		return nil
	}
}

func TestSafeScaleInNeverServesARemovedReader(t *testing.T) {
	f := startFleet(t)
	f.deps.Wait = f.guard(t, f.deps.Wait)
	res, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", ZoneID: f.zone, Record: "db-read.app.internal", Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Survivor != "events-db-reader-1" || len(res.Deleted) != 2 || res.Deleted[0] != "events-db-surge-b" {
		t.Fatalf("result: %+v", res)
	}
	in := f.instances(t)
	if len(in) != 2 || in["events-db-reader-1"].Status != "available" {
		t.Fatalf("fleet after scale-in: %v", in)
	}
	truth, _ := f.env.World.Truth().Cluster("events-db")
	rr, _ := f.env.World.Resolve("db-read.app.internal.")
	if len(rr) == 0 || rr[0].Value != truth.ReaderEndpoint+"." {
		t.Fatalf("record not pointed back at the reader endpoint: %v", rr)
	}
}

func TestSafeScaleInResumesAfterARestart(t *testing.T) {
	f := startFleet(t)
	killed := errors.New("scaler killed")
	wait := f.deps.Wait
	f.deps.Wait = func(c context.Context, d time.Duration) error {
		for _, in := range f.instances(t) {
			if in.Status == "deleting" {
				return killed // the process dies mid-way through the first deletion
			}
		}
		return wait(c, d)
	}
	if _, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", ZoneID: f.zone, Record: "db-read.app.internal", Readers: 1}); !errors.Is(err, killed) {
		t.Fatalf("first run: %v", err)
	}
	if f.appTarget(t) != "events-db-reader-1" {
		t.Fatalf("mid-way the record should lead to the survivor, leads to %s", f.appTarget(t))
	}
	// A new process knows nothing but what AWS and DNS say.
	f.deps.Wait = f.guard(t, wait)
	res, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", ZoneID: f.zone, Record: "db-read.app.internal", Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if in := f.instances(t); len(in) != 2 {
		t.Fatalf("fleet after the resumed run (%+v): %v", res, in)
	}
	truth, _ := f.env.World.Truth().Cluster("events-db")
	if rr, _ := f.env.World.Resolve("db-read.app.internal."); rr[0].Value != truth.ReaderEndpoint+"." {
		t.Fatalf("record after the resumed run: %v", rr)
	}
}

func TestScaleInRollsBackARecordLeftOnAGoneReader(t *testing.T) {
	f := startFleet(t)
	// An interrupted drain left the record on surge-a, which someone then
	// deleted by hand.
	truth, _ := f.env.World.Truth().Cluster("events-db")
	host := "events-db-surge-a." + strings.TrimPrefix(strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], "cluster-")
	r53 := f.deps.Route53.(*route53.Client)
	procedureSetRecord(t, r53, f.zone, host)
	if _, err := f.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-surge-a")}); err != nil {
		t.Fatal(err)
	}
	f.env.Advance(t, time.Minute)
	res, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", ZoneID: f.zone, Record: "db-read.app.internal", Readers: 1})
	if err != nil || !res.RolledBack || len(res.Deleted) != 0 {
		t.Fatalf("rollback: %+v %v", res, err)
	}
	if rr, _ := f.env.World.Resolve("db-read.app.internal."); rr[0].Value != truth.ReaderEndpoint+"." {
		t.Fatalf("record after rollback: %v", rr)
	}
}

func TestScaleInRefusedWhileAnInstanceIsNotAvailable(t *testing.T) {
	f := startFleet(t)
	if _, err := f.rds.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-new"), DBClusterIdentifier: aws.String("events-db"), Engine: aws.String("aurora-postgresql"),
		DBInstanceClass: aws.String("db.serverless"),
	}); err != nil {
		t.Fatal(err)
	}
	_, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", ZoneID: f.zone, Record: "db-read.app.internal", Readers: 1})
	if err == nil || !strings.Contains(err.Error(), "is creating") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if len(f.instances(t)) != 5 {
		t.Fatal("capacity removed while an instance was provisioning")
	}
}

// TestSafeScaleInThroughCustomEndpoint drains by excluding the victims
// from the custom endpoint the applications use; at every step the
// endpoint's answers lead only to serving readers, and the exclusion list
// ends as it began.
func TestSafeScaleInThroughCustomEndpoint(t *testing.T) {
	f := startFleet(t)
	truth, _ := f.env.World.Truth().Cluster("events-db")
	host := "events-reporting.cluster-custom-" + strings.TrimPrefix(strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], "cluster-")
	wait := f.deps.Wait
	checked := 0
	f.deps.Wait = func(c context.Context, d time.Duration) error {
		if err := wait(c, d); err != nil {
			return err
		}
		for i := 0; i < 4; i++ {
			target, err := f.dns.CNAMETarget(ctx, host)
			if err != nil {
				t.Fatal(err)
			}
			id := strings.SplitN(target, ".", 2)[0]
			if in, ok := f.instances(t)[id]; !ok || in.Status != "available" {
				t.Fatalf("the custom endpoint leads to %s (%q) during the scale-in", id, in.Status)
			}
			checked++
		}
		return nil
	}
	res, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", CustomEndpoint: "events-reporting", Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 2 || checked == 0 {
		t.Fatalf("result %+v after %d checks", res, checked)
	}
	if in := f.instances(t); len(in) != 2 {
		t.Fatalf("fleet after scale-in: %v", in)
	}
	out, err := f.rds.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterEndpointIdentifier: aws.String("events-reporting")})
	if err != nil || len(out.DBClusterEndpoints[0].ExcludedMembers) != 0 {
		t.Fatalf("exclusions left: %+v %v", out, err)
	}
}

// TestCustomEndpointDrainRollsBackAfterARestart: a run killed after
// excluding its victims; the next run (a resume: no more removals) gives
// the excluded readers back to the endpoint.
func TestCustomEndpointDrainRollsBackAfterARestart(t *testing.T) {
	f := startFleet(t)
	killed := errors.New("scaler killed")
	wait := f.deps.Wait
	f.deps.Wait = func(context.Context, time.Duration) error { return killed }
	if _, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", CustomEndpoint: "events-reporting", Readers: 1}); !errors.Is(err, killed) {
		t.Fatalf("first run: %v", err)
	}
	out, _ := f.rds.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterEndpointIdentifier: aws.String("events-reporting")})
	if len(out.DBClusterEndpoints[0].ExcludedMembers) != 2 {
		t.Fatalf("the killed run should have excluded its two victims: %v", out.DBClusterEndpoints[0].ExcludedMembers)
	}
	f.deps.Wait = wait
	res, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", CustomEndpoint: "events-reporting", Readers: 3})
	if err != nil || !res.RolledBack || len(res.Deleted) != 0 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	out, _ = f.rds.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterEndpointIdentifier: aws.String("events-reporting")})
	if len(out.DBClusterEndpoints[0].ExcludedMembers) != 0 || len(f.instances(t)) != 4 {
		t.Fatalf("after the resume: exclusions %v, %d instances", out.DBClusterEndpoints[0].ExcludedMembers, len(f.instances(t)))
	}
}

// A scale-in from demand leaves a scheduled event's reader to the event's
// revert: surge-b (newest) carries an event tag, so surge-a goes instead.
func TestScaleInFromDemandKeepsEventReaders(t *testing.T) {
	f := startFleet(t)
	out, err := f.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("events-db-surge-b")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: out.DBInstances[0].DBInstanceArn,
		Tags: []rdstypes.Tag{{Key: aws.String(rdsfleet.TagEvent), Value: aws.String("launch")}}}); err != nil {
		t.Fatal(err)
	}
	res, err := procedure.RunScaleIn(ctx, f.deps, procedure.ScaleIn{Cluster: "events-db", ZoneID: f.zone, Record: "db-read.app.internal",
		Readers: 2, KeepEventReaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != "events-db-surge-a" {
		t.Fatalf("deleted %v, want events-db-surge-a (surge-b is the event's)", res.Deleted)
	}
}
