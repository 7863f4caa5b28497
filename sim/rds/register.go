// Package rds emulates the Amazon RDS API for Aurora PostgreSQL: backend
// operations over the shared world (package sim) and their awsQuery wire
// form.
package rds

import (
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

const (
	apiVersion = "2014-10-31"
	xmlns      = "http://rds.amazonaws.com/doc/2014-10-31/"
)

// Register wires the service into the emulator's router.
func Register(s *wire.Server) {
	b := &backend{w: s.World}
	s.HandleQuery("rds", &wire.QueryService{Version: apiVersion, XMLNS: xmlns, Ops: map[string]wire.QueryOp{
		"DescribeDBClusters":         b.describeDBClusters,
		"DescribeDBInstances":        b.describeDBInstances,
		"DescribeDBProxies":          b.describeDBProxies,
		"DescribeDBProxyTargets":     b.describeDBProxyTargets,
		"DescribeDBClusterEndpoints": b.describeDBClusterEndpoints,
		"CreateDBInstance":           b.createDBInstance,
		"DeleteDBInstance":           b.deleteDBInstance,
		"ModifyDBCluster":            b.modifyDBCluster,
		"ModifyDBInstance":           b.modifyDBInstance,
		"FailoverDBCluster":          b.failoverDBCluster,
		"AddTagsToResource":          b.addTagsToResource,
		"ModifyDBClusterEndpoint":    b.modifyDBClusterEndpoint,
	}})
}
