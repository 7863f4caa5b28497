// Package rdsfleet reads one Aurora cluster as the RDS API reports it now
// (the cluster, its instances, which one writes) for the scaler's
// decisions, procedures and event plans, and names the tags the scaler
// marks its own instances with.
package rdsfleet

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// TagManaged marks instances the scaler created; only those are ever
// removed by it. It is the one name of that tag in the code: the scaler,
// its procedures and the event reconciler write it, and the IAM policy
// (deploy/iam) conditions on the same key, so the key never changes
// (existing fleets carry it).
const TagManaged = "aurora-surge:managed"

// TagEvent on a reader names the scheduled event that created it
// (scaler/events): the event's revert removes it, the scaler's
// demand-based scale-in leaves it alone.
const TagEvent = "aurora-surge:event"

// DescribeAPI is the part of the RDS client Describe needs.
type DescribeAPI interface {
	DescribeDBClusters(context.Context, *rds.DescribeDBClustersInput, ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(context.Context, *rds.DescribeDBInstancesInput, ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
}

// Cluster is a cluster and its instances (sorted by identifier).
type Cluster struct {
	rdstypes.DBCluster
	Instances []rdstypes.DBInstance
	writers   map[string]bool
}

// IsWriter reports whether the API names the instance the cluster's writer.
func (c *Cluster) IsWriter(id string) bool { return c.writers[id] }

// Describe reads the cluster and, page by page, its instances.
func Describe(ctx context.Context, api DescribeAPI, id string) (*Cluster, error) {
	out, err := api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("DescribeDBClusters %s: %w", id, err)
	}
	if len(out.DBClusters) != 1 {
		return nil, fmt.Errorf("DescribeDBClusters %s: %d clusters returned", id, len(out.DBClusters))
	}
	c := &Cluster{DBCluster: out.DBClusters[0], writers: map[string]bool{}}
	for _, m := range c.DBClusterMembers {
		c.writers[aws.ToString(m.DBInstanceIdentifier)] = aws.ToBool(m.IsClusterWriter)
	}
	p := rds.NewDescribeDBInstancesPaginator(api, &rds.DescribeDBInstancesInput{
		Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{id}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeDBInstances %s: %w", id, err)
		}
		c.Instances = append(c.Instances, page.DBInstances...)
	}
	sort.Slice(c.Instances, func(i, j int) bool {
		return aws.ToString(c.Instances[i].DBInstanceIdentifier) < aws.ToString(c.Instances[j].DBInstanceIdentifier)
	})
	return c, nil
}

// Tags are an instance's tags as a map.
func Tags(in rdstypes.DBInstance) map[string]string {
	out := make(map[string]string, len(in.TagList))
	for _, t := range in.TagList {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// Managed reports whether the scaler created the instance.
func Managed(in rdstypes.DBInstance) bool { return Tags(in)[TagManaged] == "true" }
