package scaler

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// drainWorld is events-db after an avalanche: one scaler-managed reader
// added, max ACU raised to 56, everything available.
func drainWorld(t *testing.T) (*simtest.Env, *Config) {
	t.Helper()
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	cfg, _ := readRecordConfig(t, env, "drain.yml", drainYAML)
	db := rds.NewFromConfig(env.Config(t, "us-east-1"))
	createManagedReader(t, db, "events-db-surge-0001")
	setMaxACU(t, env, 56)
	env.Advance(t, 10*time.Minute)
	return env, cfg
}

func setMaxACU(t *testing.T, env *simtest.Env, acu float64) {
	t.Helper()
	if _, err := rds.NewFromConfig(env.Config(t, "us-east-1")).ModifyDBCluster(context.Background(), &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String("events-db"), ApplyImmediately: aws.Bool(true),
		ServerlessV2ScalingConfiguration: &rdstypes.ServerlessV2ScalingConfiguration{MinCapacity: aws.Float64(0.5), MaxCapacity: aws.Float64(acu)}}); err != nil {
		t.Fatal(err)
	}
}

type replica struct {
	*harness
	procs *Procedures
}

// newReplica is one scaler process (webhook, procedures) on env.
func newReplica(t *testing.T, env *simtest.Env, cfg *Config, dnsAddr, holder string, wait func(context.Context, time.Duration) error) replica {
	t.Helper()
	cloud := NewAWS(env.Config(t, "us-east-1"), RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond})
	procs, err := NewProcedures(context.Background(), ProcedureOptions{
		Config: cfg, AWS: cloud, Resolver: procedure.DNSResolver{Server: dnsAddr}, Poll: 5 * time.Second, Wait: wait,
		Clock: env.World.Clock(), Holder: holder, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, env, func(o *Options) {
		o.Config, o.Cloud, o.Busy = cfg, withProcedures(cloud, procs), procs.Busy
	})
	h.prom.set("events-db", SigACUDemand, 4) // after the avalanche: the 32-ACU baseline is enough
	return replica{harness: h, procs: procs}
}

func removeReadersAlert(env *simtest.Env) []byte {
	return payload("firing", map[string]string{"alertname": "AuroraReaderCPUBelowTarget", "action": "remove_readers", "step": "1", "db_cluster": "events-db"},
		"rm0000000000000b", env.World.Clock().Now().Add(-16*time.Minute))
}

// TestTwoReplicasRunOneDrain: both replicas receive the same
// remove_readers; a lease on the cluster lets one drain, and the reader
// is deleted once.
func TestTwoReplicasRunOneDrain(t *testing.T) {
	env, cfg := drainWorld(t)
	dnsAddr := env.StartDNS(t)
	release := make(chan struct{})
	var parked atomic.Int32
	var advance sync.Mutex
	wait := func(ctx context.Context, d time.Duration) error {
		parked.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		advance.Lock()
		defer advance.Unlock()
		env.Advance(t, d)
		return nil
	}
	a := newReplica(t, env, cfg, dnsAddr, "replica-a", wait)
	b := newReplica(t, env, cfg, dnsAddr, "replica-b", wait)
	body := removeReadersAlert(env)
	a.deliver(t, body)
	b.deliver(t, body)
	// Hold every procedure at its first wait until both have either
	// parked there or given up, so both would delete if nothing stopped them.
	deadline := time.Now().Add(10 * time.Second)
	for parked.Load() < 2 && a.procs.Running()+b.procs.Running() > int(parked.Load()) {
		if time.Now().After(deadline) {
			t.Fatal("procedures never reached their first wait")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	a.procs.Wait()
	b.procs.Wait()
	if n := env.World.Calls.Count("rds", "DeleteDBInstance", ""); n != 1 {
		t.Errorf("%d DeleteDBInstance calls for one reader, want 1", n)
	}
	c := a.cluster(t)
	if len(c.Instances) != 2 || c.MaxACU != 32 {
		t.Errorf("after the drain: %d instances, max ACU %g", len(c.Instances), c.MaxACU)
	}
	results := []string{a.lastDecision(t).Result, b.lastDecision(t).Result}
	if !(results[0] == "success" && results[1] == "lease_held" || results[0] == "lease_held" && results[1] == "success") {
		t.Errorf("decisions' results %v, want one success and one lease_held", results)
	}
	for _, tg := range clusterTags(t, env) {
		if strings.HasPrefix(tg.Key, procedure.LeaseTagPrefix) {
			t.Errorf("lease left on the cluster: %+v", tg)
		}
	}
}

func clusterTags(t *testing.T, env *simtest.Env) []sim.Tag {
	t.Helper()
	db := rds.NewFromConfig(env.Config(t, "us-east-1"))
	out, err := db.DescribeDBClusters(context.Background(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("events-db")})
	if err != nil {
		t.Fatal(err)
	}
	var tags []sim.Tag
	for _, tg := range out.DBClusters[0].TagList {
		tags = append(tags, sim.Tag{Key: aws.ToString(tg.Key), Value: aws.ToString(tg.Value)})
	}
	return tags
}

// TestDrainThatFailsIsRecordedAsFailed: the decision says the drain
// started, then what it came to; nothing counts a success.
func TestDrainThatFailsIsRecordedAsFailed(t *testing.T) {
	env, cfg := drainWorld(t)
	if _, err := env.World.InjectFault(sim.Fault{Kind: sim.FaultServerError, Service: "rds", Operations: []string{"DeleteDBInstance"}, Rate: 1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	r := newReplica(t, env, cfg, env.StartDNS(t), "replica-a", func(_ context.Context, d time.Duration) error {
		<-release
		env.Advance(t, d)
		return nil
	})
	r.deliver(t, removeReadersAlert(env))
	if d := r.lastDecision(t); d.Outcome != OutcomeAct || d.Result != "started" {
		t.Fatalf("decision while the drain runs: %+v", d)
	}
	close(release)
	r.procs.Wait()
	d := r.lastDecision(t)
	if d.Result != "error" || !strings.Contains(d.Error, "DeleteDBInstance") || d.EndedAt.IsZero() {
		t.Errorf("decision after the failed drain: %+v", d)
	}
	if v := metricValue(r.s.m.actions.WithLabelValues(ActionRemoveReaders, "success")); v != 0 {
		t.Errorf("actions_total{remove_readers,success} = %g", v)
	}
	if v := metricValue(r.procs.runs.WithLabelValues("scale_in", "error")); v != 1 {
		t.Errorf("procedures_total{scale_in,error} = %g", v)
	}
	if v := metricValue(r.procs.runs.WithLabelValues("scale_in", "success")); v != 0 {
		t.Errorf("procedures_total{scale_in,success} = %g", v)
	}
}

// TestResumedDrainLowersMaxACU: a drain finished by Resume ends like a
// fresh one, max ACU back at acu_baseline; a Resume with nothing left
// counts nothing.
func TestResumedDrainLowersMaxACU(t *testing.T) {
	env, cfg := drainWorld(t)
	dnsAddr := env.StartDNS(t)
	advance := func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil }
	idle := newReplica(t, env, cfg, dnsAddr, "replica-idle", advance)
	idle.procs.Resume(context.Background())
	idle.procs.Wait()
	for _, o := range []string{"success", "rolled_back", "error", "noop"} {
		if v := metricValue(idle.procs.runs.WithLabelValues("scale_in", o)); v != 0 {
			t.Errorf("a Resume with no drain left counted procedures_total{scale_in,%s} = %g", o, v)
		}
	}
	if c := idle.cluster(t); c.MaxACU != 56 || len(c.Instances) != 3 {
		t.Fatalf("a Resume with no drain left changed the cluster: max ACU %g, %d instances", c.MaxACU, len(c.Instances))
	}
	// A dead process left surge-0001 being deleted.
	if _, err := rds.NewFromConfig(env.Config(t, "us-east-1")).DeleteDBInstance(context.Background(), &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-surge-0001")}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, 10*time.Second)
	r := newReplica(t, env, cfg, dnsAddr, "replica-b", advance)
	r.procs.Resume(context.Background())
	r.procs.Wait()
	if c := r.cluster(t); c.MaxACU != 32 || len(c.Instances) != 2 {
		t.Errorf("after the resumed drain: max ACU %g (want acu_baseline 32), %d instances", c.MaxACU, len(c.Instances))
	}
	if v := metricValue(r.procs.runs.WithLabelValues("scale_in", "success")); v != 1 {
		t.Errorf("procedures_total{scale_in,success} = %g", v)
	}
}

// TestLeaseOfACrashedReplicaExpires: a lease left by a replica that died
// holds the cluster until its expiry, no longer; a running drain renews
// its own.
func TestLeaseOfACrashedReplicaExpires(t *testing.T) {
	env, cfg := drainWorld(t)
	db := rds.NewFromConfig(env.Config(t, "us-east-1"))
	out, err := db.DescribeDBClusters(context.Background(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("events-db")})
	if err != nil {
		t.Fatal(err)
	}
	expiry := env.World.Clock().Now().Add(5 * time.Minute).UTC().Format(time.RFC3339)
	if _, err := db.AddTagsToResource(context.Background(), &rds.AddTagsToResourceInput{ResourceName: out.DBClusters[0].DBClusterArn,
		Tags: []rdstypes.Tag{{Key: aws.String(procedure.LeaseTagPrefix + "dead-replica"), Value: aws.String(expiry + " scale_in")}}}); err != nil {
		t.Fatal(err)
	}
	r := newReplica(t, env, cfg, env.StartDNS(t), "replica-b", func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil })
	r.deliver(t, removeReadersAlert(env))
	r.procs.Wait()
	if d := r.lastDecision(t); d.Result != OutcomeLeaseHeld || !strings.Contains(d.Error, "dead-replica") {
		t.Fatalf("drain under a live lease: %+v", d)
	}
	if n := env.World.Calls.Count("rds", "DeleteDBInstance", ""); n != 0 {
		t.Fatalf("%d DeleteDBInstance calls under another replica's lease", n)
	}
	env.Advance(t, 5*time.Minute+time.Second)
	before := env.World.Calls.Count("rds", "AddTagsToResource", "")
	r.deliver(t, payload("firing", map[string]string{"alertname": "AuroraReaderCPUBelowTarget", "action": "remove_readers", "step": "1", "db_cluster": "events-db"},
		"rm0000000000000c", env.World.Clock().Now().Add(-16*time.Minute)))
	r.procs.Wait()
	if d := r.lastDecision(t); d.Result != "success" {
		t.Fatalf("drain after the dead replica's lease expired: %+v", d)
	}
	if c := r.cluster(t); len(c.Instances) != 2 {
		t.Errorf("%d instances after the drain", len(c.Instances))
	}
	if n := env.World.Calls.Count("rds", "AddTagsToResource", "") - before; n < 2 {
		t.Errorf("%d lease writes in a drain of several minutes, want the take and at least one renewal", n)
	}
	for _, tg := range clusterTags(t, env) {
		if strings.HasPrefix(tg.Key, procedure.LeaseTagPrefix) {
			t.Errorf("lease tag left: %+v", tg)
		}
	}
}
