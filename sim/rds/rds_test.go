package rds_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/sim"
	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

func client(t *testing.T, env *simtest.Env) *rds.Client {
	return rds.NewFromConfig(env.Config(t, "us-east-1"))
}

// wantCode asserts an AWS error code and HTTP status.
func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	var re *awshttp.ResponseError
	if status != 0 && (!errors.As(err, &re) || re.HTTPStatusCode() != status) {
		t.Fatalf("%s: want HTTP %d, got %v", code, status, err)
	}
}

func TestDescribeFieldFleet(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := client(t, env)
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBClusters) != 1 {
		t.Fatalf("clusters: %d", len(out.DBClusters))
	}
	cl := out.DBClusters[0]
	truth, _ := env.World.Truth().Cluster("events-db")
	if aws.ToString(cl.Endpoint) != truth.ClusterEndpoint || aws.ToString(cl.ReaderEndpoint) != truth.ReaderEndpoint {
		t.Errorf("endpoints %s %s", aws.ToString(cl.Endpoint), aws.ToString(cl.ReaderEndpoint))
	}
	if s := cl.ServerlessV2ScalingConfiguration; s == nil || aws.ToFloat64(s.MinCapacity) != 0.5 || aws.ToFloat64(s.MaxCapacity) != 32 {
		t.Errorf("serverless config %+v", s)
	}
	writers := 0
	for _, m := range cl.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writers++
			if aws.ToString(m.DBInstanceIdentifier) != "events-db-writer" {
				t.Errorf("writer %s", aws.ToString(m.DBInstanceIdentifier))
			}
		}
	}
	if writers != 1 || len(cl.DBClusterMembers) != 2 || len(cl.CustomEndpoints) != 1 || len(cl.TagList) != 2 {
		t.Errorf("members %d writers %d custom %v tags %v", len(cl.DBClusterMembers), writers, cl.CustomEndpoints, cl.TagList)
	}

	inst, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{"events-db"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inst.DBInstances) != 2 || aws.ToString(inst.DBInstances[0].DBInstanceClass) != "db.serverless" || inst.DBInstances[0].Endpoint == nil {
		t.Fatalf("instances %+v", inst.DBInstances)
	}

	px, err := c.DescribeDBProxies(ctx, &rds.DescribeDBProxiesInput{})
	if err != nil || len(px.DBProxies) != 1 || aws.ToString(px.DBProxies[0].DBProxyName) != "events-proxy" {
		t.Fatalf("proxies %v %v", px, err)
	}
	targets, err := c.DescribeDBProxyTargets(ctx, &rds.DescribeDBProxyTargetsInput{DBProxyName: aws.String("events-proxy")})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.Targets) != 3 || targets.Targets[0].Type != types.TargetTypeTrackedCluster || aws.ToString(targets.Targets[0].RdsResourceId) != "events-db" {
		t.Fatalf("targets %+v", targets.Targets)
	}
	eps, err := c.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterIdentifier: aws.String("events-db")})
	if err != nil {
		t.Fatal(err)
	}
	if len(eps.DBClusterEndpoints) != 3 || aws.ToString(eps.DBClusterEndpoints[2].CustomEndpointType) != "READER" {
		t.Fatalf("endpoints %+v", eps.DBClusterEndpoints)
	}
	custom, err := c.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{Filters: []types.Filter{{Name: aws.String("db-cluster-endpoint-type"), Values: []string{"custom"}}}})
	if err != nil || len(custom.DBClusterEndpoints) != 1 {
		t.Fatalf("custom filter: %v %v", custom, err)
	}
}

func TestCreateReaderBecomesAvailableAfterProvisioning(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := client(t, env)
	out, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql"), PromotionTier: aws.Int32(15),
		Tags: []types.Tag{{Key: aws.String("aurora-surge/managed-by"), Value: aws.String("scaler")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.DBInstance.DBInstanceStatus) != "creating" || out.DBInstance.Endpoint != nil {
		t.Fatalf("new instance %+v", out.DBInstance)
	}
	status := func() string {
		d, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.DBInstances[0].TagList) != 1 || aws.ToInt32(d.DBInstances[0].PromotionTier) != 15 {
			t.Fatalf("tags/tier lost: %+v", d.DBInstances[0])
		}
		return aws.ToString(d.DBInstances[0].DBInstanceStatus)
	}
	env.Advance(t, env.World.P.ProvisioningDelay-time.Second)
	if s := status(); s != "creating" {
		t.Fatalf("a second early: %s", s)
	}
	env.Advance(t, time.Second)
	if s := status(); s != "available" {
		t.Fatalf("on time: %s", s)
	}
	truth, _ := env.World.Truth().Cluster("events-db")
	found := false
	for _, id := range truth.DNSReaders {
		found = found || id == "events-db-reader-2"
	}
	if !found {
		t.Fatalf("available reader not in the reader endpoint: %v", truth.DNSReaders)
	}

	_, err = c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql"),
	})
	wantCode(t, err, "DBInstanceAlreadyExists", 400)

	del, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
	if err != nil || aws.ToString(del.DBInstance.DBInstanceStatus) != "deleting" {
		t.Fatalf("delete: %v %v", del, err)
	}
	_, err = c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
	wantCode(t, err, "InvalidDBInstanceState", 400)
	env.Advance(t, env.World.P.DeletionDelay)
	_, err = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
	wantCode(t, err, "DBInstanceNotFound", 404)
}

func TestBadInputGetsAWSErrors(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := client(t, env)
	create := func(id, cluster, class, engine string) error {
		_, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String(cluster),
			DBInstanceClass: aws.String(class), Engine: aws.String(engine)})
		return err
	}
	wantCode(t, create("bad--name", "events-db", "db.serverless", "aurora-postgresql"), "InvalidParameterValue", 400)
	wantCode(t, create("r", "nope", "db.serverless", "aurora-postgresql"), "DBClusterNotFoundFault", 404)
	wantCode(t, create("r", "events-db", "db.m1.tiny", "aurora-postgresql"), "InvalidParameterCombination", 400)
	wantCode(t, create("r", "events-db", "db.serverless", "mysql"), "InvalidParameterCombination", 400)
	_, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("x"), DBClusterIdentifier: aws.String("events-db"), DBInstanceClass: aws.String(""), Engine: aws.String("aurora-postgresql")})
	wantCode(t, err, "MissingParameter", 400)
	_, err = c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("nope")})
	wantCode(t, err, "DBClusterNotFoundFault", 404)
	_, err = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(5)})
	wantCode(t, err, "InvalidParameterValue", 400)
	_, err = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue", 400)
	_, err = c.DescribeDBProxies(ctx, &rds.DescribeDBProxiesInput{DBProxyName: aws.String("nope")})
	wantCode(t, err, "DBProxyNotFoundFault", 404)
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("events-db"),
		ServerlessV2ScalingConfiguration: &types.ServerlessV2ScalingConfiguration{MaxCapacity: aws.Float64(300)}})
	wantCode(t, err, "InvalidParameterValue", 400)
	_, err = c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-writer"), PromotionTier: aws.Int32(16)})
	wantCode(t, err, "InvalidParameterValue", 400)
	_, err = c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("events-db"), TargetDBInstanceIdentifier: aws.String("nope")})
	wantCode(t, err, "InvalidDBInstanceState", 400)
}

func TestModifyAndFailover(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := client(t, env)
	mod, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("events-db"), ApplyImmediately: aws.Bool(true),
		ServerlessV2ScalingConfiguration: &types.ServerlessV2ScalingConfiguration{MinCapacity: aws.Float64(2), MaxCapacity: aws.Float64(64)}})
	if err != nil || aws.ToFloat64(mod.DBCluster.ServerlessV2ScalingConfiguration.MaxCapacity) != 64 {
		t.Fatalf("modify: %v %v", mod, err)
	}
	if tr, _ := env.World.Truth().Cluster("events-db"); tr.MaxACU != 64 || tr.MinACU != 2 {
		t.Fatalf("truth after modify: %+v", tr)
	}
	mi, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-reader-1"), PromotionTier: aws.Int32(0)})
	if err != nil || aws.ToInt32(mi.DBInstance.PromotionTier) != 0 {
		t.Fatalf("modify instance: %v %v", mi, err)
	}

	fo, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("events-db"), TargetDBInstanceIdentifier: aws.String("events-db-reader-1")})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fo.DBCluster.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) != (aws.ToString(m.DBInstanceIdentifier) == "events-db-reader-1") {
			t.Fatalf("roles did not swap: %+v", fo.DBCluster.DBClusterMembers)
		}
	}
	tr, _ := env.World.Truth().Cluster("events-db")
	if tr.DNSWriter != "events-db-writer" {
		t.Fatalf("DNS should lag the API during the window: %s", tr.DNSWriter)
	}
	_, err = c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("events-db")})
	wantCode(t, err, "InvalidDBClusterStateFault", 400)
	env.Advance(t, env.World.P.FailoverDNSWindowMax)
	if tr, _ := env.World.Truth().Cluster("events-db"); tr.DNSWriter != "events-db-reader-1" || tr.Status != "available" {
		t.Fatalf("after the window: %+v", tr)
	}
}

func TestPagingAndAccounts(t *testing.T) {
	sc, err := sim.ParseScenario([]byte(`
name: many
accounts: [{id: "123456789012"}, {id: "210987654321", access_keys: [AKIASECOND]}]
fleets:
  - name: f
    count: 45
    cluster:
      id: db
      instances: [{id: db-w, class: db.r6g.large, writer: true}]
  - name: other
    account: "210987654321"
    region: eu-west-1
    cluster:
      id: blog
      instances: [{id: blog-w, class: db.r6g.large, writer: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.StartScenario(t, sc, simrds.Register)
	c := client(t, env)
	p := rds.NewDescribeDBClustersPaginator(c, &rds.DescribeDBClustersInput{MaxRecords: aws.Int32(20)})
	pages, ids := 0, map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, cl := range page.DBClusters {
			ids[aws.ToString(cl.DBClusterIdentifier)] = true
		}
	}
	if pages != 3 || len(ids) != 45 {
		t.Fatalf("%d pages, %d distinct clusters", pages, len(ids))
	}
	other := rds.NewFromConfig(env.ConfigWithKey(t, "eu-west-1", "AKIASECOND", "s"))
	out, err := other.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil || len(out.DBClusters) != 1 || aws.ToString(out.DBClusters[0].DBClusterIdentifier) != "blog" {
		t.Fatalf("second account: %v %v", out, err)
	}
}

// clusterARN is the ARN DescribeDBClusters gives the cluster.
func clusterARN(t *testing.T, c *rds.Client, id string) *string {
	t.Helper()
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.DBClusters[0].DBClusterArn
}

func TestAddTagsToResource(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := rds.NewFromConfig(env.Config(t, "us-east-1"))
	arn := clusterARN(t, c, "events-db")
	for _, v := range []string{"one", "two"} {
		if _, err := c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: arn, Tags: []types.Tag{{Key: aws.String("aurora-surge:acu-change"), Value: aws.String(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("events-db")})
	n, val := 0, ""
	for _, tag := range out.DBClusters[0].TagList {
		if aws.ToString(tag.Key) == "aurora-surge:acu-change" {
			n, val = n+1, aws.ToString(tag.Value)
		}
	}
	if n != 1 || val != "two" {
		t.Fatalf("tag after two writes: %d copies, value %q", n, val)
	}
	_, err := c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String("arn:aws:rds:us-east-1:123456789012:cluster:nope"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantCode(t, err, "DBClusterNotFoundFault", 404)
}

func TestListAndRemoveTags(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := rds.NewFromConfig(env.Config(t, "us-east-1"))
	arn := clusterARN(t, c, "events-db")
	if _, err := c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: arn, Tags: []types.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	list := func() map[string]string {
		t.Helper()
		l, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: arn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tag := range l.TagList {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return m
	}
	if m := list(); m["a"] != "1" || m["b"] != "2" {
		t.Fatalf("tags %v", m)
	}
	if _, err := c.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: arn, TagKeys: []string{"a", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if m := list(); m["a"] != "" || m["b"] != "2" {
		t.Fatalf("after removing a: %v", m)
	}
	nope := aws.String("arn:aws:rds:us-east-1:123456789012:cluster:nope")
	_, err := c.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: nope})
	wantCode(t, err, "DBClusterNotFoundFault", 404)
	_, err = c.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: nope, TagKeys: []string{"a"}})
	wantCode(t, err, "DBClusterNotFoundFault", 404)
}

func TestModifyDBClusterEndpointExcludesFromDNS(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := rds.NewFromConfig(env.Config(t, "us-east-1"))
	out, err := c.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("events-reporting"), ExcludedMembers: []string{"events-db-reader-1"}})
	if err != nil || len(out.ExcludedMembers) != 1 {
		t.Fatalf("modify: %+v %v", out, err)
	}
	host := aws.ToString(out.Endpoint)
	rr, _ := env.World.Resolve(host)
	// Only the excluded reader was eligible: the endpoint now has no member.
	if len(rr) != 0 {
		t.Fatalf("excluded reader still answered: %v", rr)
	}
	if _, err := c.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("events-reporting"), ExcludedMembers: []string{}}); err != nil {
		t.Fatal(err)
	}
	if rr, _ := env.World.Resolve(host); len(rr) == 0 || !strings.HasPrefix(rr[0].Value, "events-db-reader-1.") {
		t.Fatalf("after clearing the exclusions: %v", rr)
	}
	_, err = c.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("events-reporting"), ExcludedMembers: []string{"nope"}})
	wantCode(t, err, "DBInstanceNotFound", 404)
	_, err = c.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("nope")})
	wantCode(t, err, "DBClusterEndpointNotFoundFault", 400)
}
