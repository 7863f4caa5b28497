package backtest

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aurora-surge/aurora-surge/scaler"
	"github.com/aurora-surge/aurora-surge/scaler/events"
)

// recordingEvents wraps the clients the scaler's event reconciler acts
// through, so the changes a scheduled event makes count as the policy's
// actions like the webhook decisions do.
type recordingEvents struct {
	clients func(string) (events.RDSAPI, events.ASGAPI, error)
	now     func() time.Time
	record  func(Action)
}

func (r recordingEvents) Clients(cluster string) (events.RDSAPI, events.ASGAPI, error) {
	rc, ac, err := r.clients(cluster)
	if err != nil {
		return nil, nil, err
	}
	return recordingRDS{rc, r, cluster}, recordingASG{ac, r}, nil
}

type recordingRDS struct {
	events.RDSAPI
	r       recordingEvents
	cluster string
}

func (c recordingRDS) CreateDBInstance(ctx context.Context, in *rds.CreateDBInstanceInput, o ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error) {
	out, err := c.RDSAPI.CreateDBInstance(ctx, in, o...)
	a := Action{At: c.r.now(), Kind: scaler.ActionAddReaders, Target: c.cluster, From: 0, To: 1, Reason: "scheduled event: reader " + aws.ToString(in.DBInstanceIdentifier)}
	if err != nil {
		a.Refused = "error: " + err.Error()
	}
	c.r.record(a)
	return out, err
}

func (c recordingRDS) ModifyDBCluster(ctx context.Context, in *rds.ModifyDBClusterInput, o ...func(*rds.Options)) (*rds.ModifyDBClusterOutput, error) {
	before, _ := c.RDSAPI.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: in.DBClusterIdentifier})
	out, err := c.RDSAPI.ModifyDBCluster(ctx, in, o...)
	a := Action{At: c.r.now(), Kind: "set_acu_range", Target: c.cluster, Reason: "scheduled event: ACU range"}
	if before != nil && len(before.DBClusters) == 1 && before.DBClusters[0].ServerlessV2ScalingConfiguration != nil {
		a.From = aws.ToFloat64(before.DBClusters[0].ServerlessV2ScalingConfiguration.MaxCapacity)
	}
	if in.ServerlessV2ScalingConfiguration != nil {
		a.To = aws.ToFloat64(in.ServerlessV2ScalingConfiguration.MaxCapacity)
	}
	if err != nil {
		a.Refused = "error: " + err.Error()
	}
	c.r.record(a)
	return out, err
}

type recordingASG struct {
	events.ASGAPI
	r recordingEvents
}

func (c recordingASG) PutScheduledUpdateGroupAction(ctx context.Context, in *autoscaling.PutScheduledUpdateGroupActionInput, o ...func(*autoscaling.Options)) (*autoscaling.PutScheduledUpdateGroupActionOutput, error) {
	out, err := c.ASGAPI.PutScheduledUpdateGroupAction(ctx, in, o...)
	a := Action{At: c.r.now(), Kind: "scheduled_action", Target: aws.ToString(in.AutoScalingGroupName),
		To: float64(aws.ToInt32(in.DesiredCapacity)), Reason: "scheduled event: " + aws.ToString(in.ScheduledActionName)}
	if err != nil {
		a.Refused = "error: " + err.Error()
	}
	c.r.record(a)
	return out, err
}
