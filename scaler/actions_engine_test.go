package scaler

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

const mysqlScenario = `
name: mysql
fleets:
  - name: shop
    cluster:
      id: shop-db
      engine: aurora-mysql
      instances:
        - {id: shop-db-writer, class: db.r6g.large, tier: 0, writer: true}
        - {id: shop-db-reader-1, class: db.r6g.large, tier: 1}
    traffic:
      reads_per_user_second: 0.5
      writes_per_user_second: 0.05
      keyframes: [{at: 0s, users: 100}]
`

// New readers take the cluster's engine: on Aurora MySQL a hard-coded
// aurora-postgresql is refused by RDS (InvalidParameterCombination).
func TestAddReadersTakesTheClustersEngine(t *testing.T) {
	sc, err := sim.ParseScenario([]byte(mysqlScenario))
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.StartScenario(t, sc, awsapi.Services...)
	cfg := env.Config(t, "us-east-1")
	a := NewAWS(cfg, RetryPolicy{MaxAttempts: 1, MaxBackoff: time.Millisecond})
	cs, err := a.Cluster(context.Background(), sim.DefaultAccountID, "us-east-1", "shop-db")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Engine != sim.EngineMySQL {
		t.Fatalf("cluster state engine %q, want %s", cs.Engine, sim.EngineMySQL)
	}
	// The decision carries the engine of the state it was decided on:
	// no second read of the cluster.
	in := Input{Now: env.Clock.Now(), Req: Request{Action: ActionAddReaders, Kind: "cluster", Name: "shop-db", Account: sim.DefaultAccountID, Region: "us-east-1",
		Status: StatusFiring, Direction: DirOut, Fingerprint: "f", StartsAt: env.Clock.Now()}, Policy: policy(),
		Cluster:      &ClusterTarget{Name: "shop-db", MaxReaders: 5, MinReaders: 1, TargetCPU: 0.3, ReaderClass: "db.r6g.large"},
		ClusterState: cs, Observation: obs(SigReaderCPU, 0.6, SigReadersServing, 1.0)}
	d := Decide(in)
	if d.Outcome != OutcomeAct || len(d.Instances) != 1 {
		t.Fatalf("decision %s %q", d.Outcome, d.Reason)
	}
	before := env.World.Calls.Count("rds", "DescribeDBClusters", "")
	if err := a.Execute(context.Background(), d); err != nil {
		t.Fatalf("add readers on aurora-mysql: %v", err)
	}
	if n := env.World.Calls.Count("rds", "DescribeDBClusters", "") - before; n != 0 {
		t.Errorf("adding readers read the cluster %d more times", n)
	}
	out, err := rds.NewFromConfig(cfg).DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(d.Instances[0])})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.DBInstances[0].Engine); got != sim.EngineMySQL {
		t.Fatalf("new reader's engine %q, want %s", got, sim.EngineMySQL)
	}
}
