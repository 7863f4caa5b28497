package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// readerAPI is the part of the RDS client reader scaling uses.
type readerAPI interface {
	DescribeDBClusters(context.Context, *rds.DescribeDBClustersInput, ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(context.Context, *rds.DescribeDBInstancesInput, ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	CreateDBInstance(context.Context, *rds.CreateDBInstanceInput, ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error)
	DeleteDBInstance(context.Context, *rds.DeleteDBInstanceInput, ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
	ModifyDBCluster(context.Context, *rds.ModifyDBClusterInput, ...func(*rds.Options)) (*rds.ModifyDBClusterOutput, error)
}

// readerController is one cluster's scalable target (ReadReplicaCount)
// with its target tracking policy and step policies, as Application Auto
// Scaling runs them for Aurora.
type readerController struct {
	policy  string
	cluster string
	p       ReaderParams
	db      readerAPI

	started bool
	seq     int
	created []string // readers this policy created, oldest first
	tt      cooldown
	steps   []cooldown
}

func newReaderController(policy, cluster string, p ReaderParams, db readerAPI) *readerController {
	return &readerController{policy: policy, cluster: cluster, p: p, db: db, steps: make([]cooldown, len(p.Steps))}
}

// fleetState is the cluster as DescribeDBClusters/Instances report it.
type fleetState struct {
	engine, writerClass string
	readers             int
	notAvailable        []string // instances not "available"
	own                 map[string]bool
	maxACU              float64 // 0: not Serverless v2
	minACU              float64
}

func (c *readerController) describe(ctx context.Context) (*fleetState, error) {
	cl, err := c.db.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(c.cluster)})
	if err != nil {
		return nil, fmt.Errorf("DescribeDBClusters %s: %w", c.cluster, err)
	}
	if len(cl.DBClusters) != 1 {
		return nil, fmt.Errorf("DescribeDBClusters %s: %d clusters", c.cluster, len(cl.DBClusters))
	}
	st := &fleetState{engine: aws.ToString(cl.DBClusters[0].Engine), own: map[string]bool{}}
	if sv := cl.DBClusters[0].ServerlessV2ScalingConfiguration; sv != nil {
		st.minACU, st.maxACU = aws.ToFloat64(sv.MinCapacity), aws.ToFloat64(sv.MaxCapacity)
	}
	writer := map[string]bool{}
	for _, m := range cl.DBClusters[0].DBClusterMembers {
		writer[aws.ToString(m.DBInstanceIdentifier)] = aws.ToBool(m.IsClusterWriter)
	}
	in := &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{c.cluster}}}}
	pages := rds.NewDescribeDBInstancesPaginator(c.db, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeDBInstances %s: %w", c.cluster, err)
		}
		for _, i := range page.DBInstances {
			id, status := aws.ToString(i.DBInstanceIdentifier), aws.ToString(i.DBInstanceStatus)
			if status != "available" {
				st.notAvailable = append(st.notAvailable, id+" "+status)
			}
			if writer[id] {
				st.writerClass = aws.ToString(i.DBInstanceClass)
				continue
			}
			if status == "deleting" {
				continue // gone from the scalable target's capacity
			}
			st.readers++
			for _, t := range i.TagList {
				if aws.ToString(t.Key) == TagKey && aws.ToString(t.Value) == c.policy {
					st.own[id] = true
				}
			}
		}
	}
	if st.writerClass == "" {
		return nil, fmt.Errorf("cluster %s has no writer instance", c.cluster)
	}
	return st, nil
}

// observe raises the Serverless v2 max ACU once, at the first tick, when
// the policy's max_acu is above the cluster's.
func (c *readerController) observe(ctx context.Context, now time.Time) ([]Action, error) {
	if c.started || c.p.MaxACU == 0 {
		return nil, nil
	}
	st, err := c.describe(ctx)
	if err != nil {
		return nil, err // tried again next tick
	}
	c.started = true
	if st.maxACU == 0 || st.maxACU >= c.p.MaxACU {
		return nil, nil
	}
	a := Action{At: now, Kind: KindRaiseMaxACU, Target: c.cluster, From: st.maxACU, To: c.p.MaxACU, Reason: "policy max_acu above the cluster's Serverless v2 maximum"}
	_, err = c.db.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String(c.cluster), ApplyImmediately: aws.Bool(true),
		ServerlessV2ScalingConfiguration: &rdstypes.ServerlessV2ScalingConfiguration{MinCapacity: aws.Float64(st.minACU), MaxCapacity: aws.Float64(c.p.MaxACU)},
	})
	if err != nil {
		a.Refused = "ModifyDBCluster: " + err.Error()
	}
	return []Action{a}, nil
}

func (c *readerController) metrics() []metricSpec {
	specs := []metricSpec{readerMetric(c.cluster, c.p.TargetTracking.Metric)}
	for _, s := range c.p.Steps {
		specs = append(specs, readerMetric(c.cluster, s.Metric))
	}
	return specs
}

// proposal is one policy's scale-out request.
type proposal struct {
	to      int
	reason  string
	cooling bool // computed inside the policy's scale-out cooldown
	onOut   func(now time.Time, from int)
}

func (c *readerController) evaluate(ctx context.Context, now time.Time, data map[metricSpec][]point) ([]Action, error) {
	tt := c.p.TargetTracking
	ttPoints := data[readerMetric(c.cluster, tt.Metric)]
	high, hv := evaluateAlarm(recent(ttPoints, tt.HighDatapoints, now), tt.HighDatapoints, func(v float64) bool { return v > tt.Target })
	low, lv := evaluateAlarm(recent(ttPoints, tt.LowDatapoints, now), tt.LowDatapoints, func(v float64) bool { return v < tt.LowRatio*tt.Target })
	type stepAlarm struct {
		state alarmState
		v     float64
	}
	steps := make([]stepAlarm, len(c.p.Steps))
	anyAlarm := high == inAlarm || low == inAlarm
	for i, s := range c.p.Steps {
		st, v := evaluateAlarm(recent(data[readerMetric(c.cluster, s.Metric)], s.Datapoints, now), s.Datapoints, func(v float64) bool { return v > s.Adjustments[0].Above })
		steps[i] = stepAlarm{st, v}
		anyAlarm = anyAlarm || st == inAlarm
	}
	if !anyAlarm {
		return nil, nil
	}
	st, err := c.describe(ctx)
	if err != nil {
		return nil, err
	}
	cur := st.readers
	var props []proposal
	if high == inAlarm {
		to, cooling := targetTrackingOut(cur, hv, tt.Target, c.tt, tt.ScaleOutCooldown, now)
		props = append(props, proposal{to: to, cooling: cooling,
			reason: fmt.Sprintf("AlarmHigh %d/%d datapoints > %g: %.4g", tt.HighDatapoints, tt.HighDatapoints, tt.Target, hv),
			onOut:  func(now time.Time, from int) { c.tt.outAt, c.tt.outFrom = now, from }})
	}
	for i, s := range c.p.Steps {
		if steps[i].state != inAlarm {
			continue
		}
		i := i
		to, cooling := stepOut(cur, stepAdd(s.Adjustments, steps[i].v), c.steps[i], s.Cooldown, now)
		props = append(props, proposal{to: to, cooling: cooling,
			reason: fmt.Sprintf("%s %d/%d datapoints > %g: %.4g", s.Name, s.Datapoints, s.Datapoints, s.Adjustments[0].Above, steps[i].v),
			onOut:  func(now time.Time, from int) { c.steps[i].outAt, c.steps[i].outFrom = now, from }})
	}
	if len(props) > 0 {
		return c.scaleOut(ctx, now, st, props), nil
	}
	return c.scaleIn(ctx, now, st, lv), nil
}

// scaleOut merges the policies' requests (the largest wins, as Application
// Auto Scaling does with several policies on one target) and adds readers.
func (c *readerController) scaleOut(ctx context.Context, now time.Time, st *fleetState, props []proposal) []Action {
	cur := st.readers
	best := props[0]
	var reasons []string
	for _, p := range props {
		reasons = append(reasons, p.reason)
		if p.to > best.to {
			best = p
		}
	}
	to := clamp(best.to, cur, c.p.MaxCapacity)
	a := Action{At: now, Kind: KindAddReaders, Target: c.cluster, From: float64(cur), To: float64(max(best.to, cur)), Reason: strings.Join(reasons, "; ")}
	switch {
	case best.to <= cur && best.cooling:
		a.Refused = fmt.Sprintf("scale-out cooldown: capacity %d already covers %d", cur, best.to)
	case best.to <= cur:
		return nil // the alarm's value asks for no more than there is
	case len(st.notAvailable) > 0:
		a.Refused = "instance not available: " + strings.Join(st.notAvailable, ", ")
	case cur >= c.p.MaxCapacity:
		a.Refused = fmt.Sprintf("at max capacity %d", c.p.MaxCapacity)
	}
	if a.Refused != "" {
		return []Action{a}
	}
	a.To = float64(to)
	for n := cur; n < to; n++ {
		id := c.nextID()
		_, err := c.db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String(c.cluster),
			DBInstanceClass: aws.String(st.writerClass), Engine: aws.String(st.engine),
			PromotionTier: aws.Int32(int32(c.p.PromotionTier)),
			Tags:          []rdstypes.Tag{{Key: aws.String(TagKey), Value: aws.String(c.policy)}},
		})
		if err != nil {
			a.To = float64(n)
			a.Refused = "CreateDBInstance: " + err.Error()
			break
		}
		c.created = append(c.created, id)
	}
	if a.To > a.From {
		for _, p := range props {
			if p.to > cur {
				p.onOut(now, cur)
			}
		}
	}
	return []Action{a}
}

// scaleIn removes one reader this policy created, newest first.
func (c *readerController) scaleIn(ctx context.Context, now time.Time, st *fleetState, lv float64) []Action {
	tt := c.p.TargetTracking
	cur := st.readers
	to, refused := readerScaleIn(cur, c.p.MinCapacity, lv, tt.Target, c.tt, tt.ScaleInCooldown, now)
	a := Action{At: now, Kind: KindRemoveReader, Target: c.cluster, From: float64(cur), To: float64(cur - 1), Refused: refused,
		Reason: fmt.Sprintf("AlarmLow %d/%d datapoints < %g: %.4g", tt.LowDatapoints, tt.LowDatapoints, tt.LowRatio*tt.Target, lv)}
	if refused != "" && to == cur && cur-1 < c.p.MinCapacity {
		return nil // resting at the floor is not a decision
	}
	victim := ""
	for i := len(c.created) - 1; i >= 0 && victim == ""; i-- {
		if st.own[c.created[i]] {
			victim = c.created[i]
		}
	}
	switch {
	case a.Refused != "":
	case len(st.notAvailable) > 0:
		a.Refused = "instance not available: " + strings.Join(st.notAvailable, ", ")
	case victim == "":
		a.Refused = "no reader created by this policy left (Aurora auto scaling removes only its own)"
	}
	if a.Refused != "" {
		return []Action{a}
	}
	if _, err := c.db.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(victim)}); err != nil {
		a.Refused = "DeleteDBInstance: " + err.Error()
		return []Action{a}
	}
	a.Reason += " (" + victim + ")"
	c.tt.inAt = now
	return []Action{a}
}

// nextID names a reader as Aurora auto scaling does
// (application-autoscaling-<id>), deterministically per cluster.
func (c *readerController) nextID() string {
	c.seq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", c.policy, c.cluster, c.seq)))
	return "application-autoscaling-" + hex.EncodeToString(sum[:])[:12]
}
