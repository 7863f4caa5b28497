package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
)

// RDSAPI is what the event steps call on RDS.
type RDSAPI interface {
	DescribeDBClusters(context.Context, *rds.DescribeDBClustersInput, ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(context.Context, *rds.DescribeDBInstancesInput, ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	CreateDBInstance(context.Context, *rds.CreateDBInstanceInput, ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error)
	ModifyDBCluster(context.Context, *rds.ModifyDBClusterInput, ...func(*rds.Options)) (*rds.ModifyDBClusterOutput, error)
}

// ASGAPI is what the event steps call on EC2 Auto Scaling.
type ASGAPI interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	PutScheduledUpdateGroupAction(context.Context, *autoscaling.PutScheduledUpdateGroupActionInput, ...func(*autoscaling.Options)) (*autoscaling.PutScheduledUpdateGroupActionOutput, error)
	DescribeScheduledActions(context.Context, *autoscaling.DescribeScheduledActionsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeScheduledActionsOutput, error)
	DeleteScheduledAction(context.Context, *autoscaling.DeleteScheduledActionInput, ...func(*autoscaling.Options)) (*autoscaling.DeleteScheduledActionOutput, error)
}

// Clock is the scaler's injected time.
type Clock interface{ Now() time.Time }

// Reconciler runs the event plans against AWS.
type Reconciler struct {
	RDS RDSAPI
	ASG ASGAPI
	// Clients, when set, picks the clients of a cluster's region (and
	// overrides RDS and ASG).
	Clients func(cluster string) (RDSAPI, ASGAPI, error)
	Clock   Clock
	Leads   Leads
	Log     *slog.Logger
	// ScaleIn removes readers down to a count through the safe scale-in
	// procedure (with the cluster's read record). Nil: readers added for
	// an event are left for the regular scale-in signals, and logged.
	ScaleIn func(ctx context.Context, cluster string, readers int) error
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

type clusterView struct {
	minACU, maxACU float64
	readers        int                 // available or creating, not deleting
	eventReaders   map[string][]string // event id -> its readers, not deleting
	readerClass    string              // like the cluster's existing reader
	writerClass    string
	engine         string // the cluster's; new readers must run it
}

func (r *Reconciler) clients(cluster string) (RDSAPI, ASGAPI, error) {
	if r.Clients != nil {
		return r.Clients(cluster)
	}
	return r.RDS, r.ASG, nil
}

func (r *Reconciler) cluster(ctx context.Context, id string) (clusterView, error) {
	v := clusterView{eventReaders: map[string][]string{}}
	rdsc, _, err := r.clients(id)
	if err != nil {
		return v, err
	}
	c, err := rdsfleet.Describe(ctx, rdsc, id)
	if err != nil {
		return v, err
	}
	v.engine = aws.ToString(c.Engine)
	if sv := c.ServerlessV2ScalingConfiguration; sv != nil {
		v.minACU, v.maxACU = aws.ToFloat64(sv.MinCapacity), aws.ToFloat64(sv.MaxCapacity)
	}
	for _, in := range c.Instances {
		switch {
		case c.IsWriter(aws.ToString(in.DBInstanceIdentifier)):
			v.writerClass = aws.ToString(in.DBInstanceClass)
		case aws.ToString(in.DBInstanceStatus) != "deleting":
			v.readers++
			if ev := rdsfleet.Tags(in)[TagEvent]; ev != "" {
				v.eventReaders[ev] = append(v.eventReaders[ev], aws.ToString(in.DBInstanceIdentifier))
			}
			if v.readerClass == "" {
				v.readerClass = aws.ToString(in.DBInstanceClass)
			}
		}
	}
	if v.readerClass == "" {
		v.readerClass = v.writerClass
	}
	return v, nil
}

// TagEvent on a reader names the event that created it.
const TagEvent = rdsfleet.TagEvent

// Baseline reads the fleet's capacity before the event from AWS (reads
// only: nothing is changed before the event is stored).
func (r *Reconciler) Baseline(ctx context.Context, e *Event) error {
	v, err := r.cluster(ctx, e.Cluster)
	if err != nil {
		return err
	}
	e.Baseline = Baseline{Readers: v.readers, MinACU: v.minACU, MaxACU: v.maxACU, ASGDesired: map[string]int32{}, ASGMin: map[string]int32{}}
	if e.MaxACU > 0 && v.maxACU == 0 {
		return fmt.Errorf("event %s: cluster %s is not Serverless v2; drop min_acu/max_acu", e.ID, e.Cluster)
	}
	_, asgc, err := r.clients(e.Cluster)
	if err != nil {
		return err
	}
	for g := range e.ASGDesired {
		out, err := asgc.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g}})
		if err != nil {
			return fmt.Errorf("DescribeAutoScalingGroups %s: %w", g, err)
		}
		if len(out.AutoScalingGroups) != 1 {
			return fmt.Errorf("event %s: Auto Scaling group %s not found", e.ID, g)
		}
		grp := out.AutoScalingGroups[0]
		if want := e.ASGDesired[g]; want > aws.ToInt32(grp.MaxSize) {
			return fmt.Errorf("event %s: %s desired %d above the group's max %d", e.ID, g, want, aws.ToInt32(grp.MaxSize))
		}
		e.Baseline.ASGDesired[g], e.Baseline.ASGMin[g] = aws.ToInt32(grp.DesiredCapacity), aws.ToInt32(grp.MinSize)
	}
	return nil
}

// Schedule hands the ASG capacity to AWS as scheduled actions, so it
// happens even if the scaler is down then. It puts (or overwrites: the names are the event's) the up and
// down scheduled actions. Min follows desired during the event so target
// tracking cannot scale the group in under the event's capacity.
func (r *Reconciler) Schedule(ctx context.Context, e Event) error {
	up, down := e.Start.Add(-r.Leads.ASG), e.End.Add(r.Leads.Revert)
	_, asgc, err := r.clients(e.Cluster)
	if err != nil {
		return err
	}
	upName, downName := e.scheduledActions()
	for g, want := range e.ASGDesired {
		actions := []*autoscaling.PutScheduledUpdateGroupActionInput{
			{AutoScalingGroupName: aws.String(g), ScheduledActionName: aws.String(upName), StartTime: aws.Time(up),
				DesiredCapacity: aws.Int32(want), MinSize: aws.Int32(want)},
			{AutoScalingGroupName: aws.String(g), ScheduledActionName: aws.String(downName), StartTime: aws.Time(down),
				DesiredCapacity: aws.Int32(e.Baseline.ASGDesired[g]), MinSize: aws.Int32(e.Baseline.ASGMin[g])},
		}
		for _, a := range actions {
			if _, err := asgc.PutScheduledUpdateGroupAction(ctx, a); err != nil {
				return fmt.Errorf("PutScheduledUpdateGroupAction %s %s: %w", g, aws.ToString(a.ScheduledActionName), err)
			}
		}
		r.log().Info("event capacity scheduled", "event", e.ID, "asg", g, "desired", want, "at", up, "revert_at", down)
	}
	return nil
}

// Reconcile brings the cluster to what the plan wants at the clock's now.
// It is idempotent (absolute values, readers named by the event), so it
// runs every minute and after a restart. done reports the event complete.
func (r *Reconciler) Reconcile(ctx context.Context, e Event) (done bool, err error) {
	now := r.Clock.Now()
	due := map[string]bool{}
	for _, s := range Plan(e, r.Leads) {
		if !now.Before(s.At) {
			due[s.Kind] = true
		}
	}
	v, err := r.cluster(ctx, e.Cluster)
	if err != nil {
		return false, err
	}
	var errs []error
	switch {
	case due["revert_acu"]:
		errs = append(errs, r.setACU(ctx, e, v, e.Baseline.MinACU, e.Baseline.MaxACU))
	case due["raise_acu"]:
		errs = append(errs, r.setACU(ctx, e, v, e.MinACU, e.MaxACU))
	}
	switch {
	case due["remove_readers"]:
		errs = append(errs, r.removeReaders(ctx, e, v))
	case due["add_readers"]:
		errs = append(errs, r.addReaders(ctx, e, v))
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	return !now.Before(e.End.Add(r.Leads.Revert)), nil
}

func (r *Reconciler) setACU(ctx context.Context, e Event, v clusterView, min, max float64) error {
	if max == 0 || (v.minACU == min && v.maxACU == max) {
		return nil
	}
	rdsc, _, err := r.clients(e.Cluster)
	if err != nil {
		return err
	}
	_, err = rdsc.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String(e.Cluster), ApplyImmediately: aws.Bool(true),
		ServerlessV2ScalingConfiguration: &rdstypes.ServerlessV2ScalingConfiguration{MinCapacity: aws.Float64(min), MaxCapacity: aws.Float64(max)},
	})
	if err != nil {
		return fmt.Errorf("event %s: ModifyDBCluster %s ACU %g-%g: %w", e.ID, e.Cluster, min, max, err)
	}
	r.log().Info("event ACU range set", "event", e.ID, "cluster", e.Cluster, "min", min, "max", max)
	return nil
}

// addReaders creates the missing readers under names derived from the
// event, so repeats and replicas converge on the same instances.
func (r *Reconciler) addReaders(ctx context.Context, e Event, v clusterView) error {
	rdsc, _, err := r.clients(e.Cluster)
	if err != nil {
		return err
	}
	for n := 1; v.readers < e.Readers; n++ {
		id := fmt.Sprintf("%s-ev-%s-%d", e.Cluster, e.ID, n)
		if len(id) > 63 {
			return fmt.Errorf("event %s: reader name %s over RDS's 63 characters; use a shorter event id", e.ID, id)
		}
		_, err := rdsc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String(e.Cluster), Engine: aws.String(v.engine),
			DBInstanceClass: aws.String(v.readerClass), PromotionTier: aws.Int32(15),
			Tags: []rdstypes.Tag{{Key: aws.String(rdsfleet.TagManaged), Value: aws.String("true")}, {Key: aws.String(TagEvent), Value: aws.String(e.ID)}},
		})
		var ae smithy.APIError
		switch {
		case err == nil:
			v.readers++
			r.log().Info("event reader created", "event", e.ID, "instance", id, "class", v.readerClass)
		case errors.As(err, &ae) && ae.ErrorCode() == "DBInstanceAlreadyExists":
			// Created by an earlier run: already counted if not deleting.
		default:
			return fmt.Errorf("event %s: CreateDBInstance %s: %w", e.ID, id, err)
		}
		if n > 15 {
			return fmt.Errorf("event %s: cannot reach %d readers", e.ID, e.Readers)
		}
	}
	return nil
}

// removeReaders takes the cluster back down by the event's readers (not
// below its baseline, and not removing readers the alerts added since)
// through the safe scale-in.
func (r *Reconciler) removeReaders(ctx context.Context, e Event, v clusterView) error {
	mine := len(v.eventReaders[e.ID])
	target := max(e.Baseline.Readers, v.readers-mine)
	if mine == 0 || v.readers <= target {
		return nil
	}
	if r.ScaleIn == nil {
		r.log().Warn("event readers stay until the regular scale-in signals remove them (no read record configured)", "event", e.ID, "readers", v.eventReaders[e.ID])
		return nil
	}
	if err := r.ScaleIn(ctx, e.Cluster, target); err != nil {
		return fmt.Errorf("event %s scale-in to %d readers: %w", e.ID, target, err)
	}
	return nil
}

// Undo is what cancelling an event did and left, for the DELETE answer.
type Undo struct {
	ID string `json:"id"`
	// Reverted: done now in AWS (or handed to AWS with a time).
	Reverted []string `json:"reverted"`
	// Pending: the reconciler finishes these at its next ticks.
	Pending []string `json:"pending"`
	// Stays: left as it is, and why.
	Stays []string `json:"stays"`
}

// revertASGDelay is how soon a cancelled event's groups go back to their
// baseline when the scale-up already ran: a scheduled action, so AWS
// applies it (min and desired together) even if the scaler stops now.
const revertASGDelay = time.Minute

// Revert undoes what the event did, idempotently: the scheduled actions
// still pending, the group capacity if the scale-up ran, the ACU range if
// the event raised it, and, when scaleIn is set, the event's readers.
func (r *Reconciler) Revert(ctx context.Context, e Event, scaleIn bool) (Undo, error) {
	u := Undo{ID: e.ID, Reverted: []string{}, Pending: []string{}, Stays: []string{}}
	now := r.Clock.Now()
	var errs []error
	_, asgc, err := r.clients(e.Cluster)
	if err != nil {
		return u, err
	}
	upName, downName := e.scheduledActions()
	for _, g := range e.groups() {
		out, err := asgc.DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String(g), ScheduledActionNames: []string{upName, downName}})
		if err != nil {
			errs = append(errs, fmt.Errorf("DescribeScheduledActions %s: %w", g, err))
			continue
		}
		pending := map[string]time.Time{}
		for _, a := range out.ScheduledUpdateGroupActions {
			pending[aws.ToString(a.ScheduledActionName)] = aws.ToTime(a.StartTime)
		}
		_, upPending := pending[upName]
		downAt, downPending := pending[downName]
		switch {
		case upPending:
			// The scale-up has not run: removing both actions is the undo.
			for _, n := range []string{upName, downName} {
				if _, ok := pending[n]; !ok {
					continue
				}
				if _, err := asgc.DeleteScheduledAction(ctx, &autoscaling.DeleteScheduledActionInput{AutoScalingGroupName: aws.String(g), ScheduledActionName: aws.String(n)}); err != nil {
					errs = append(errs, fmt.Errorf("DeleteScheduledAction %s %s: %w", g, n, err))
				}
			}
			u.Reverted = append(u.Reverted, fmt.Sprintf("asg %s: scheduled capacity %d cancelled before it ran", g, e.ASGDesired[g]))
		case downPending:
			// The scale-up ran: bring the revert forward unless it is due soon.
			at := downAt
			if soon := now.Add(revertASGDelay); at.After(soon) {
				at = soon
				_, err := asgc.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{AutoScalingGroupName: aws.String(g), ScheduledActionName: aws.String(downName),
					StartTime: aws.Time(at), DesiredCapacity: aws.Int32(e.Baseline.ASGDesired[g]), MinSize: aws.Int32(e.Baseline.ASGMin[g])})
				if err != nil {
					errs = append(errs, fmt.Errorf("PutScheduledUpdateGroupAction %s %s: %w", g, downName, err))
					continue
				}
			}
			u.Reverted = append(u.Reverted, fmt.Sprintf("asg %s: back to desired %d, min %d at %s (scheduled action %s)", g, e.Baseline.ASGDesired[g], e.Baseline.ASGMin[g], at.UTC().Format(time.RFC3339), downName))
		default:
			u.Stays = append(u.Stays, fmt.Sprintf("asg %s: the event's scheduled actions have all run (or were removed by hand); capacity left as it is", g))
		}
	}
	v, err := r.cluster(ctx, e.Cluster)
	if err != nil {
		errs = append(errs, err)
		return u, errors.Join(errs...)
	}
	if e.MaxACU > 0 {
		switch {
		case v.minACU == e.Baseline.MinACU && v.maxACU == e.Baseline.MaxACU:
		case v.minACU == e.MinACU && v.maxACU == e.MaxACU:
			if err := r.setACU(ctx, e, v, e.Baseline.MinACU, e.Baseline.MaxACU); err != nil {
				errs = append(errs, err)
			} else {
				u.Reverted = append(u.Reverted, fmt.Sprintf("cluster %s: ACU range back to %g-%g", e.Cluster, e.Baseline.MinACU, e.Baseline.MaxACU))
			}
		default:
			u.Stays = append(u.Stays, fmt.Sprintf("cluster %s: ACU range %g-%g changed since the event set it; left for the regular scale-in", e.Cluster, v.minACU, v.maxACU))
		}
	}
	if ids := v.eventReaders[e.ID]; len(ids) > 0 {
		switch {
		case r.ScaleIn == nil:
			u.Stays = append(u.Stays, fmt.Sprintf("cluster %s: readers %v stay (no read_record or drain_custom_endpoint to drain them through)", e.Cluster, ids))
		case !scaleIn:
			u.Pending = append(u.Pending, fmt.Sprintf("cluster %s: readers %v removed by the safe scale-in (drain, then delete) at the next reconcile", e.Cluster, ids))
		default:
			if err := r.removeReaders(ctx, e, v); err != nil {
				errs = append(errs, err)
				u.Pending = append(u.Pending, fmt.Sprintf("cluster %s: readers %v not yet removed", e.Cluster, ids))
			} else {
				u.Reverted = append(u.Reverted, fmt.Sprintf("cluster %s: readers %v removed by the safe scale-in", e.Cluster, ids))
			}
		}
	}
	return u, errors.Join(errs...)
}
