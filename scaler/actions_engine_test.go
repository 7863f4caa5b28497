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
	d := Decision{ID: "d1", At: env.Clock.Now(), Action: ActionAddReaders, Target: "cluster/shop-db", Account: sim.DefaultAccountID,
		Region: "us-east-1", From: 1, To: 2, Instances: []string{"shop-db-as-1"}, Class: "db.r6g.large"}
	if err := a.Execute(context.Background(), d); err != nil {
		t.Fatalf("add readers on aurora-mysql: %v", err)
	}
	out, err := rds.NewFromConfig(cfg).DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("shop-db-as-1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.DBInstances[0].Engine); got != sim.EngineMySQL {
		t.Fatalf("new reader's engine %q, want %s", got, sim.EngineMySQL)
	}
}
