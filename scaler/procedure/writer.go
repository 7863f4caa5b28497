package procedure

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
)

// WriterResize moves the writer to another instance class the way the
// field did by hand (docs/field.md#writer-resize): an instance of the class with tier 0
// (created if none is there, which takes ~8 min), then a failover to it.
// Scale-down is the same call with the smaller class: the old writer of
// that class gets tier 0 and takes over.
type WriterResize struct {
	Cluster string
	Class   string
}

// WriterResult says what a run did.
type WriterResult struct {
	Writer  string
	Created bool
}

var notIDChars = regexp.MustCompile(`[^a-z0-9]+`)

// writerID derives the new writer's identifier from the decision, so a
// retry or a second replica names the same instance.
func writerID(cluster, class string) string {
	return cluster + "-writer-" + strings.Trim(notIDChars.ReplaceAllString(strings.TrimPrefix(strings.ToLower(class), "db."), "-"), "-")
}

// RunWriterResize performs or resumes the resize; it is done only when the
// cluster endpoint resolves to the new writer.
func RunWriterResize(ctx context.Context, d Deps, p WriterResize) (WriterResult, error) {
	d.defaults()
	var res WriterResult
	st, err := readCluster(ctx, d.RDS, p.Cluster)
	if err != nil {
		return res, err
	}
	for _, m := range st.Members {
		if m.Status != "available" && m.Status != "deleting" && m.ID != writerID(p.Cluster, p.Class) {
			return res, fmt.Errorf("writer resize of %s refused: instance %s is %s", p.Cluster, m.ID, m.Status)
		}
	}
	target := pickWriterTarget(st, p)
	if target == nil {
		id := writerID(p.Cluster, p.Class)
		d.Log.Info("creating the new writer", "cluster", p.Cluster, "instance", id, "class", p.Class)
		_, err := d.RDS.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String(p.Cluster), Engine: aws.String(st.Engine),
			DBInstanceClass: aws.String(p.Class), PromotionTier: aws.Int32(0),
			Tags: []rdstypes.Tag{{Key: aws.String(rdsfleet.TagManaged), Value: aws.String("true")}},
		})
		if err != nil && apiCode(err) != "DBInstanceAlreadyExists" {
			return res, fmt.Errorf("CreateDBInstance %s: %w", id, err)
		}
		res.Created = true
		target = &member{ID: id, Class: p.Class}
	} else if target.Tier != 0 && !target.Writer {
		// Field procedure for scale-down: the instance to become writer
		// gets tier 0 first, so a later automatic failover keeps it.
		if _, err := d.RDS.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(target.ID), PromotionTier: aws.Int32(0), ApplyImmediately: aws.Bool(true)}); err != nil {
			return res, fmt.Errorf("ModifyDBInstance %s tier 0: %w", target.ID, err)
		}
	}
	res.Writer = target.ID
	if err := d.waitUntil(ctx, target.ID+" to be available", func() (bool, error) {
		s, err := readCluster(ctx, d.RDS, p.Cluster)
		if err != nil {
			return false, err
		}
		m := s.byID(target.ID)
		st = s
		return m != nil && m.Status == "available", nil
	}); err != nil {
		return res, err
	}
	if w := st.writer(); w == nil || w.ID != target.ID {
		d.Log.Info("failing over", "cluster", p.Cluster, "to", target.ID)
		if _, err := d.RDS.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(p.Cluster), TargetDBInstanceIdentifier: aws.String(target.ID)}); err != nil {
			return res, fmt.Errorf("FailoverDBCluster %s to %s: %w", p.Cluster, target.ID, err)
		}
	}
	// Success is what clients see: the cluster endpoint on the new writer.
	err = d.waitUntil(ctx, "the cluster endpoint to resolve to "+target.ID, func() (bool, error) {
		got, err := d.DNS.CNAMETarget(ctx, st.WriterEndpoint)
		if err != nil {
			return false, nil
		}
		return strings.SplitN(got, ".", 2)[0] == target.ID, nil
	})
	return res, err
}

// pickWriterTarget finds an instance of the wanted class to become writer:
// the writer itself when it already has the class, else the instance this
// procedure creates, else an available reader of the class (scale-down).
func pickWriterTarget(st *clusterState, p WriterResize) *member {
	if w := st.writer(); w != nil && w.Class == p.Class {
		return w
	}
	if m := st.byID(writerID(p.Cluster, p.Class)); m != nil && m.Status != "deleting" {
		return m
	}
	var best *member
	for i := range st.Members {
		m := &st.Members[i]
		if m.Class == p.Class && m.Status == "available" && (best == nil || m.Tier < best.Tier) {
			best = m
		}
	}
	return best
}
