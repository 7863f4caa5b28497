package rds_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	simrds "github.com/aurora-surge/aurora-surge/sim/rds"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// TestErrorsAreDocumentedOnes checks each operation answers with an error
// its API reference lists (service-2.json's "errors"), decoded by the SDK
// into that error's type.
func TestErrorsAreDocumentedOnes(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := client(t, env)

	// DescribeDBClusterEndpoints documents only DBClusterNotFoundFault: an
	// endpoint identifier that matches nothing is an empty listing.
	eps, err := c.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterEndpointIdentifier: aws.String("nope")})
	if err != nil || len(eps.DBClusterEndpoints) != 0 {
		t.Fatalf("unknown endpoint identifier: %v %v", eps, err)
	}
	_, err = c.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterIdentifier: aws.String("nope")})
	var notFound *types.DBClusterNotFoundFault
	if !errors.As(err, &notFound) {
		t.Fatalf("unknown cluster: want DBClusterNotFoundFault, got %v", err)
	}
	wantCode(t, err, "DBClusterNotFoundFault", 404)

	// FailoverDBCluster documents InvalidDBInstanceState for a target it
	// cannot promote, not DBInstanceNotFound.
	_, err = c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("events-db"), TargetDBInstanceIdentifier: aws.String("nope")})
	var badState *types.InvalidDBInstanceStateFault
	if !errors.As(err, &badState) {
		t.Fatalf("unknown failover target: want InvalidDBInstanceStateFault, got %v", err)
	}
	wantCode(t, err, "InvalidDBInstanceState", 400)

	// ModifyDBClusterEndpoint documents DBInstanceNotFoundFault for a
	// member that does not exist.
	_, err = c.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String("events-reporting"), ExcludedMembers: []string{"nope"}})
	var noInstance *types.DBInstanceNotFoundFault
	if !errors.As(err, &noInstance) {
		t.Fatalf("unknown endpoint member: want DBInstanceNotFoundFault, got %v", err)
	}
	wantCode(t, err, "DBInstanceNotFound", 404)
}

func TestEveryClusterEndpointHasAResourceIdentifier(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	out, err := client(t, env).DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterIdentifier: aws.String("events-db")})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range out.DBClusterEndpoints {
		id := aws.ToString(e.DBClusterEndpointResourceIdentifier)
		if id == "" {
			t.Errorf("%s endpoint %s has no DBClusterEndpointResourceIdentifier", aws.ToString(e.EndpointType), aws.ToString(e.Endpoint))
		}
		if other, dup := seen[id]; dup && id != "" {
			t.Errorf("%s and %s share resource identifier %s", other, aws.ToString(e.EndpointType), id)
		}
		seen[id] = aws.ToString(e.EndpointType)
	}
	if len(out.DBClusterEndpoints) != 3 {
		t.Fatalf("want WRITER, READER and one CUSTOM endpoint, got %d", len(out.DBClusterEndpoints))
	}
}

// fraction matches a timestamp with more than millisecond precision.
var fraction = regexp.MustCompile(`T\d\d:\d\d:\d\d\.\d{4,}Z`)

func TestTimestampsHaveAtMostMillisecondPrecision(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	env.Advance(t, 1523*time.Nanosecond)
	cfg := env.Config(t, "us-east-1")
	bodies := simtest.CaptureBodies(&cfg)
	c := rds.NewFromConfig(cfg)
	if _, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql")}); err != nil {
		t.Fatal(err)
	}
	env.Advance(t, env.World.P.ProvisioningDelay)
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("events-db-reader-2")})
	if err != nil || out.DBInstances[0].InstanceCreateTime == nil {
		t.Fatalf("describe: %v %v", out, err)
	}
	for _, b := range bodies.All() {
		if m := fraction.FindString(b); m != "" {
			t.Fatalf("timestamp with sub-millisecond digits on the wire: %s", m)
		}
	}
}

// A call in a region the scenario does not declare sees an empty region
// and leaves no trace in the ground truth.
func TestUndeclaredRegionIsNotCreated(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", simrds.Register)
	c := rds.NewFromConfig(env.Config(t, "ap-south-1"))
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil || len(out.DBClusters) != 0 {
		t.Fatalf("undeclared region: %v %v", out, err)
	}
	for _, a := range env.World.Truth().Accounts {
		for _, r := range a.Regions {
			if r.Name == "ap-south-1" {
				t.Fatalf("a Describe created region %s in account %s: %+v", r.Name, a.ID, r)
			}
		}
	}
}
