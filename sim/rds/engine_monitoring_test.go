package rds_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/aurora-surge/aurora-surge/sim"
	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

const mysqlScenario = `
name: mysql-monitored
fleets:
  - name: shop
    cluster:
      id: shop-db
      engine: aurora-mysql
      monitoring_interval: 5
      instances:
        - {id: shop-db-writer, class: db.r6g.large, tier: 0, writer: true, performance_insights: true}
        - {id: shop-db-reader-1, class: db.r6g.large, tier: 1, monitoring_interval: 0}
    proxy: {name: shop-proxy}
    traffic:
      reads_per_user_second: 0.5
      keyframes: [{at: 0s, users: 100}]
`

func startMySQL(t *testing.T) *simtest.Env {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(mysqlScenario))
	if err != nil {
		t.Fatal(err)
	}
	return simtest.StartScenario(t, sc, simrds.Register)
}

func TestAuroraMySQLClusterReportsItsEngine(t *testing.T) {
	env := startMySQL(t)
	c := client(t, env)
	cl, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("shop-db")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(cl.DBClusters[0].Engine); got != sim.EngineMySQL || aws.ToInt32(cl.DBClusters[0].Port) != 3306 {
		t.Fatalf("cluster engine %q port %d", got, aws.ToInt32(cl.DBClusters[0].Port))
	}
	ins, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins.DBInstances {
		if aws.ToString(in.Engine) != sim.EngineMySQL || aws.ToString(in.EngineVersion) != sim.DefaultEngineVersion(sim.EngineMySQL) {
			t.Errorf("%s: engine %s %s", aws.ToString(in.DBInstanceIdentifier), aws.ToString(in.Engine), aws.ToString(in.EngineVersion))
		}
	}
	px, err := c.DescribeDBProxies(ctx, &rds.DescribeDBProxiesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if f := aws.ToString(px.DBProxies[0].EngineFamily); f != "MYSQL" {
		t.Errorf("proxy engine family %s", f)
	}
	// The engine filter selects by the cluster's engine.
	pg, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []types.Filter{{Name: aws.String("engine"), Values: []string{sim.EnginePostgreSQL}}}})
	if err != nil || len(pg.DBInstances) != 0 {
		t.Fatalf("engine=aurora-postgresql filter on a MySQL fleet: %d instances, %v", len(pg.DBInstances), err)
	}
	// A PostgreSQL instance into a MySQL cluster is refused as RDS does.
	_, err = c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("shop-db-pg"), DBClusterIdentifier: aws.String("shop-db"),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String(sim.EnginePostgreSQL)})
	wantCode(t, err, "InvalidParameterCombination", 400)
	_, err = c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("shop-db-x"), DBClusterIdentifier: aws.String("shop-db"),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String("mysql")})
	wantCode(t, err, "InvalidParameterCombination", 400)
	if _, err = c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("shop-db-my"), DBClusterIdentifier: aws.String("shop-db"),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String(sim.EngineMySQL)}); err != nil {
		t.Fatal(err)
	}
}

func TestMonitoringFieldsAsAWSReportsThem(t *testing.T) {
	env := startMySQL(t)
	c := client(t, env)
	get := func(id string) types.DBInstance {
		t.Helper()
		out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.DBInstances[0]
	}
	w := get("shop-db-writer")
	wantARN := "arn:aws:logs:us-east-1:" + sim.DefaultAccountID + ":log-group:RDSOSMetrics:log-stream:" + aws.ToString(w.DbiResourceId)
	if aws.ToInt32(w.MonitoringInterval) != 5 || aws.ToString(w.EnhancedMonitoringResourceArn) != wantARN || !aws.ToBool(w.PerformanceInsightsEnabled) ||
		aws.ToString(w.MonitoringRoleArn) == "" {
		t.Errorf("writer: interval %d arn %s pi %v", aws.ToInt32(w.MonitoringInterval), aws.ToString(w.EnhancedMonitoringResourceArn), aws.ToBool(w.PerformanceInsightsEnabled))
	}
	r := get("shop-db-reader-1")
	if aws.ToInt32(r.MonitoringInterval) != 0 || r.EnhancedMonitoringResourceArn != nil || aws.ToBool(r.PerformanceInsightsEnabled) {
		t.Errorf("reader (monitoring off): interval %d arn %v pi %v", aws.ToInt32(r.MonitoringInterval), r.EnhancedMonitoringResourceArn, aws.ToBool(r.PerformanceInsightsEnabled))
	}
	create := func(id string, interval *int32, role string, pi *bool) error {
		_, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String("shop-db"),
			DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String(sim.EngineMySQL), MonitoringInterval: interval,
			MonitoringRoleArn: aws.String(role), EnablePerformanceInsights: pi})
		return err
	}
	wantCode(t, create("bad-interval", aws.Int32(2), "arn:aws:iam::123456789012:role/em", nil), "InvalidParameterValue", 400)
	wantCode(t, create("no-role", aws.Int32(1), "", nil), "InvalidParameterCombination", 400)
	if err := create("new-1s", aws.Int32(1), "arn:aws:iam::123456789012:role/em", aws.Bool(true)); err != nil {
		t.Fatal(err)
	}
	if err := create("new-default", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if n := get("new-1s"); aws.ToInt32(n.MonitoringInterval) != 1 || !aws.ToBool(n.PerformanceInsightsEnabled) {
		t.Errorf("new-1s: %d %v", aws.ToInt32(n.MonitoringInterval), aws.ToBool(n.PerformanceInsightsEnabled))
	}
	// Without the parameters a new instance takes the cluster's settings.
	if n := get("new-default"); aws.ToInt32(n.MonitoringInterval) != 5 || aws.ToBool(n.PerformanceInsightsEnabled) {
		t.Errorf("new-default: %d %v", aws.ToInt32(n.MonitoringInterval), aws.ToBool(n.PerformanceInsightsEnabled))
	}
}
