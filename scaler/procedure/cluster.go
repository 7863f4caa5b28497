// Package procedure holds the scaler's multi-step operations on a cluster:
// safe reader scale-in through an application Route 53 record, and writer
// scale-up (or down) by failover. Each reads its progress back from AWS and
// DNS at every run, so a run interrupted by a restart is finished (or
// rolled back) by the next one without any state of its own.
package procedure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
)

// RDSAPI is what the procedures call on RDS.
type RDSAPI interface {
	DescribeDBClusters(context.Context, *rds.DescribeDBClustersInput, ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(context.Context, *rds.DescribeDBInstancesInput, ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	CreateDBInstance(context.Context, *rds.CreateDBInstanceInput, ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error)
	DeleteDBInstance(context.Context, *rds.DeleteDBInstanceInput, ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
	ModifyDBInstance(context.Context, *rds.ModifyDBInstanceInput, ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error)
	FailoverDBCluster(context.Context, *rds.FailoverDBClusterInput, ...func(*rds.Options)) (*rds.FailoverDBClusterOutput, error)
	DescribeDBClusterEndpoints(context.Context, *rds.DescribeDBClusterEndpointsInput, ...func(*rds.Options)) (*rds.DescribeDBClusterEndpointsOutput, error)
	ModifyDBClusterEndpoint(context.Context, *rds.ModifyDBClusterEndpointInput, ...func(*rds.Options)) (*rds.ModifyDBClusterEndpointOutput, error)
}

// Route53API is what the drain calls on Route 53.
type Route53API interface {
	ListResourceRecordSets(context.Context, *route53.ListResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(context.Context, *route53.ChangeResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(context.Context, *route53.GetChangeInput, ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

// Resolver answers which instance endpoint a name's CNAME chain reaches
// (as the applications' resolver sees it).
type Resolver interface {
	CNAMETarget(ctx context.Context, name string) (string, error)
}

// Deps are the procedures' connections to the world. Wait sleeps on the
// injected clock (a test advances a virtual clock instead).
type Deps struct {
	RDS     RDSAPI
	Route53 Route53API
	DNS     Resolver
	Wait    func(ctx context.Context, d time.Duration) error
	Log     *slog.Logger
	// Poll is the interval between progress checks (default 10 s).
	Poll time.Duration
	// Deadline bounds each wait for AWS to reach a state (default 20 min:
	// a new instance takes 7-8).
	Deadline time.Duration
}

func (d *Deps) defaults() {
	if d.Poll <= 0 {
		d.Poll = 10 * time.Second
	}
	if d.Deadline <= 0 {
		d.Deadline = 20 * time.Minute
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
}

// waitUntil polls cond every Poll until it holds, fails, or Deadline passes.
func (d *Deps) waitUntil(ctx context.Context, what string, cond func() (bool, error)) error {
	for waited := time.Duration(0); ; waited += d.Poll {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if waited >= d.Deadline {
			return fmt.Errorf("waiting for %s: not reached after %s", what, d.Deadline)
		}
		if err := d.Wait(ctx, d.Poll); err != nil {
			return err
		}
	}
}

// member is one instance of the cluster as the API reports it now.
type member struct {
	ID       string
	Writer   bool
	Tier     int32
	Status   string
	Class    string
	Endpoint string // instance endpoint address
	Managed  bool
	Event    string // the scheduled event that created it (rdsfleet.TagEvent)
	Created  time.Time
}

type clusterState struct {
	ID             string
	Engine         string // new instances must run the cluster's engine
	WriterEndpoint string
	ReaderEndpoint string
	Members        []member
}

func (s *clusterState) byID(id string) *member {
	for i := range s.Members {
		if s.Members[i].ID == id {
			return &s.Members[i]
		}
	}
	return nil
}

func (s *clusterState) writer() *member {
	for i := range s.Members {
		if s.Members[i].Writer {
			return &s.Members[i]
		}
	}
	return nil
}

// byEndpoint maps an instance endpoint (from a record or a CNAME) to the
// member it names.
func (s *clusterState) byEndpoint(host string) *member {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for i := range s.Members {
		if strings.EqualFold(s.Members[i].Endpoint, host) {
			return &s.Members[i]
		}
	}
	return nil
}

func readCluster(ctx context.Context, api RDSAPI, id string) (*clusterState, error) {
	c, err := rdsfleet.Describe(ctx, api, id)
	if err != nil {
		return nil, err
	}
	s := &clusterState{ID: id, Engine: aws.ToString(c.Engine), WriterEndpoint: aws.ToString(c.Endpoint), ReaderEndpoint: aws.ToString(c.ReaderEndpoint)}
	for _, in := range c.Instances {
		m := member{
			ID: aws.ToString(in.DBInstanceIdentifier), Writer: c.IsWriter(aws.ToString(in.DBInstanceIdentifier)),
			Tier: aws.ToInt32(in.PromotionTier), Status: aws.ToString(in.DBInstanceStatus), Class: aws.ToString(in.DBInstanceClass),
			Created: aws.ToTime(in.InstanceCreateTime), Managed: rdsfleet.Managed(in), Event: rdsfleet.Tags(in)[rdsfleet.TagEvent],
		}
		if in.Endpoint != nil {
			m.Endpoint = strings.ToLower(aws.ToString(in.Endpoint.Address))
		}
		s.Members = append(s.Members, m)
	}
	return s, nil
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
