package scaler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// readRecordConfig parses a config whose clusters (yml, with one %q for
// the zone id) put their read record in the world's hosted zone; zone is
// that zone's id.
func readRecordConfig(t *testing.T, env *simtest.Env, name, yml string) (cfg *Config, zone string) {
	t.Helper()
	zones, err := route53.NewFromConfig(env.Config(t, "us-east-1")).ListHostedZones(context.Background(), &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	zone = aws.ToString(zones.HostedZones[0].Id)
	cfg, err = ParseConfig(name, []byte(fmt.Sprintf(yml, zone)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, zone
}

// drainYAML is events-db as the drain tests configure it.
const drainYAML = `
clusters:
  - name: events-db
    account: "123456789012"
    region: us-east-1
    max_readers: 5
    acu_ceiling: 64
    acu_baseline: 32
    read_record: {zone_id: %q, name: db-read.app.internal.}
`

// TestRemoveReadersRunsTheSafeScaleIn takes a remove_readers alert from
// the webhook to the end of the drain: readers deleted one at a time
// behind the read record, the record back on the reader endpoint, max
// ACU back at its baseline, and no other change to the cluster meanwhile.
func TestRemoveReadersRunsTheSafeScaleIn(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	awsCfg := env.Config(t, "us-east-1")
	cfg, _ := readRecordConfig(t, env, "scalein.yml", drainYAML)
	cloud := NewAWS(awsCfg, RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond})
	release := make(chan struct{})
	procs, err := NewProcedures(context.Background(), ProcedureOptions{
		Config: cfg, AWS: cloud, Resolver: procedure.DNSResolver{Server: env.StartDNS(t)}, Poll: 5 * time.Second,
		Wait: func(_ context.Context, d time.Duration) error {
			<-release // the test holds the procedure at its first wait
			env.Advance(t, d)
			return nil
		},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, env, func(o *Options) {
		o.Config, o.Cloud, o.Busy = cfg, withProcedures(cloud, procs), procs.Busy
	})
	h.prom.set("events-db", SigACUDemand, 4) // 4 busy ACU: the 32-ACU baseline is enough
	// The avalanche added a scaler-managed reader and raised max ACU.
	db := rds.NewFromConfig(awsCfg)
	createManagedReader(t, db, "events-db-surge-0001")
	setMaxACU(t, env, 48)
	env.Advance(t, 10*time.Minute)

	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraReaderCPUBelowTarget", "action": "remove_readers", "step": "1", "db_cluster": "events-db"},
		"rm0000000000000a", env.World.Clock().Now().Add(-16*time.Minute)))
	if d := h.lastDecision(t); d.Outcome != OutcomeAct || d.Result != ResultStarted || d.To != 1 {
		t.Fatalf("remove_readers decision: %+v", d)
	}
	if procs.Busy("cluster/events-db") != "scale_in" {
		t.Fatal("no scale-in running")
	}
	// Meanwhile an add_readers for the same cluster is refused, even
	// with demand for more readers.
	h.prom.set("events-db", SigReaderCPU, 0.9)
	h.deliver(t, addReadersAlert(env, "1"))
	h.prom.set("events-db", SigReaderCPU, 0.1)
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "one change per cluster") {
		t.Fatalf("add during the drain: %s %q", d.Outcome, d.Reason)
	}
	close(release)
	procs.Wait()

	c := h.cluster(t)
	if len(c.Instances) != 2 || c.MaxACU != 32 {
		t.Fatalf("after the scale-in: %d instances, max ACU %g", len(c.Instances), c.MaxACU)
	}
	if rr, _ := env.World.Resolve("db-read.app.internal."); len(rr) == 0 || rr[0].Value != c.ReaderEndpoint+"." {
		t.Fatalf("read record after the scale-in: %v", rr)
	}
	if n := metricValue(procs.runs.WithLabelValues("scale_in", "success")); n != 1 {
		t.Fatalf("procedures_total{scale_in,success} = %g", n)
	}
	if d := h.s.Decisions()[1]; d.Action != ActionRemoveReaders || d.Result != "success" || d.EndedAt.IsZero() {
		t.Fatalf("remove_readers decision after the drain: %+v", d)
	}
	if procs.Busy("cluster/events-db") != "" {
		t.Fatal("cluster still marked busy")
	}
}

// TestResumeFinishesADrainLeftByAnotherProcess: a scaler died mid-drain
// (record on the survivor, a reader being deleted); the next one's Resume
// waits the deletion out, deletes nothing more and points the record back.
func TestResumeFinishesADrainLeftByAnotherProcess(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	awsCfg := env.Config(t, "us-east-1")
	r53 := route53.NewFromConfig(awsCfg)
	cfg, zone := readRecordConfig(t, env, "resume.yml", `
clusters:
  - {name: events-db, account: "123456789012", region: us-east-1, acu_ceiling: 64, read_record: {zone_id: %q, name: db-read.app.internal.}}
`)
	db := rds.NewFromConfig(awsCfg)
	for _, id := range []string{"events-db-surge-a", "events-db-surge-b"} {
		createManagedReader(t, db, id)
	}
	env.Advance(t, 9*time.Minute)
	// The dead process's state: record on reader-1, surge-a being deleted.
	truth, _ := env.World.Truth().Cluster("events-db")
	survivor := "events-db-reader-1." + strings.TrimPrefix(strings.SplitN(truth.ClusterEndpoint, ".", 2)[1], "cluster-")
	if _, err := r53.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("db-read.app.internal."), Type: r53types.RRTypeCname, TTL: aws.Int64(5),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(survivor)}}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteDBInstance(context.Background(), &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-surge-a")}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, 10*time.Second)

	procs, err := NewProcedures(context.Background(), ProcedureOptions{
		Config: cfg, AWS: NewAWS(awsCfg, RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond}),
		Resolver: procedure.DNSResolver{Server: env.StartDNS(t)}, Poll: 5 * time.Second,
		Wait: func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	procs.Resume(context.Background())
	procs.Wait()
	c, _ := env.World.Truth().Cluster("events-db")
	ids := map[string]bool{}
	for _, in := range c.Instances {
		ids[in.ID] = true
	}
	if ids["events-db-surge-a"] || !ids["events-db-surge-b"] || len(ids) != 3 {
		t.Fatalf("after resume: %v (surge-a's deletion finished, surge-b kept)", ids)
	}
	if rr, _ := env.World.Resolve("db-read.app.internal."); len(rr) == 0 || rr[0].Value != c.ReaderEndpoint+"." {
		t.Fatalf("record after resume: %v", rr)
	}
	if n := metricValue(procs.runs.WithLabelValues("scale_in", "success")); n != 1 {
		t.Fatalf("procedures_total{scale_in,success} = %g", n)
	}
}

// TestSecondReplicaSeesACUAndASGCooldownsFromAWS: a change made by one
// scaler process is recorded in AWS (cluster tag, scaling activity), so a
// second process (or the first after a restart) applies its cooldown.
func TestSecondReplicaSeesACUAndASGCooldownsFromAWS(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	first := newHarness(t, env, nil)
	first.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"rep0000000000001", env.World.Clock().Now()))
	first.deliver(t, payload("firing", map[string]string{"alertname": "AuroraAsgRequestsAboveTarget", "action": "scale_asg", "asg": "events-web"},
		"rep0000000000002", env.World.Clock().Now()))
	if c, g := first.cluster(t), first.asg(t, "events-web"); c.MaxACU != 40 || g.Desired != 6 {
		t.Fatalf("first replica: max ACU %g, desired %d", c.MaxACU, g.Desired)
	}
	env.Advance(t, 10*time.Second)
	second := newHarness(t, env, nil) // knows nothing in memory
	// The same demand: nothing to do, whoever made the change.
	second.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"rep0000000000001", env.World.Clock().Now().Add(-10*time.Second)))
	if d := second.lastDecision(t); d.Outcome != OutcomeNoop {
		t.Fatalf("second replica, same notification: %s %q", d.Outcome, d.Reason)
	}
	// More demand before the first's changes took effect: their cooldowns,
	// recovered from AWS, hold the second replica back.
	second.prom.set("events-db", SigACUDemand, 32*0.9)
	second.prom.set("events-web", SigRequestsPerInstance, 3000)
	second.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuAtMaxReaderCreating", "action": "raise_max_acu", "db_cluster": "events-db"},
		"rep0000000000003", env.World.Clock().Now()))
	if d := second.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "cooldown") {
		t.Fatalf("second replica's raise inside the first's cooldown: %s %q", d.Outcome, d.Reason)
	}
	second.deliver(t, payload("firing", map[string]string{"alertname": "AuroraAsgCPUAboveTarget", "action": "scale_asg", "asg": "events-web"},
		"rep0000000000004", env.World.Clock().Now()))
	if d := second.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "cooldown") {
		t.Fatalf("second replica's ASG step inside the first's cooldown: %s %q", d.Outcome, d.Reason)
	}
	if c, g := second.cluster(t), second.asg(t, "events-web"); c.MaxACU != 40 || g.Desired != 6 {
		t.Fatalf("after the second replica: max ACU %g, desired %d (each change made twice)", c.MaxACU, g.Desired)
	}
}

// TestActsInAnotherAccountThroughItsRole: a cluster in a second account
// is changed with that account's role; without the role the scaler
// refuses to start rather than act with the wrong account's credentials.
func TestActsInAnotherAccountThroughItsRole(t *testing.T) {
	env := simtest.Start(t, "steady", awsapi.Services...)
	const conf = `
clusters:
  - {name: blog-db, account: "210987654321", region: eu-west-1, acu_ceiling: 32}
%s`
	noRole, err := ParseConfig("x.yml", []byte(fmt.Sprintf(conf, "")))
	if err != nil {
		t.Fatal(err)
	}
	if err := NewAWS(env.Config(t, "us-east-1"), RetryPolicy{MaxAttempts: 1}).VerifyAccounts(context.Background(), noRole); err == nil ||
		!strings.Contains(err.Error(), "belong to account 123456789012") {
		t.Fatalf("wrong-account credentials accepted: %v", err)
	}
	cfg, err := ParseConfig("x.yml", []byte(fmt.Sprintf(conf, `accounts:
  - {id: "210987654321", role_arn: "arn:aws:iam::210987654321:role/aurora-surge-readonly"}`)))
	if err != nil {
		t.Fatal(err)
	}
	cloud := NewAWS(env.Config(t, "us-east-1"), RetryPolicy{MaxAttempts: 2, MaxBackoff: time.Millisecond})
	cloud.UseAccounts(cfg.Accounts)
	if err := cloud.VerifyAccounts(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, env, func(o *Options) { o.Config, o.Cloud = cfg, cloud })
	h.prom.set("blog-db", SigACUDemand, 8*0.35) // 9.3 ACU at 30 %: 16
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraServerlessAcuNearMax", "action": "raise_max_acu", "db_cluster": "blog-db",
		"account": "210987654321", "region": "eu-west-1"}, "acct000000000001", env.World.Clock().Now()))
	if d := h.lastDecision(t); d.Result != "success" {
		t.Fatalf("decision: %+v", d)
	}
	c, _ := env.World.Truth().Cluster("blog-db")
	if c.MaxACU != 16 {
		t.Fatalf("blog-db max ACU %g, want 8 + 8", c.MaxACU)
	}
}

// createManagedReader creates a Serverless v2 reader of events-db as the
// scaler makes them: tier 15, tagged as managed.
func createManagedReader(t *testing.T, db *rds.Client, id string) {
	t.Helper()
	if _, err := db.CreateDBInstance(context.Background(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String("events-db"), Engine: aws.String("aurora-postgresql"),
		DBInstanceClass: aws.String("db.serverless"), PromotionTier: aws.Int32(15),
		Tags: []rdstypes.Tag{{Key: aws.String(rdsfleet.TagManaged), Value: aws.String("true")}},
	}); err != nil {
		t.Fatal(err)
	}
}
