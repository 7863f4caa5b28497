package procedure

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// LeaseTagPrefix starts the cluster tag a procedure holds while it runs:
// aurora-surge:lease:<holder> = "<expiry RFC 3339> <procedure>".
const LeaseTagPrefix = "aurora-surge:lease:"

// TagAPI is what the lease calls on RDS.
type TagAPI interface {
	AddTagsToResource(context.Context, *rds.AddTagsToResourceInput, ...func(*rds.Options)) (*rds.AddTagsToResourceOutput, error)
	RemoveTagsFromResource(context.Context, *rds.RemoveTagsFromResourceInput, ...func(*rds.Options)) (*rds.RemoveTagsFromResourceOutput, error)
	ListTagsForResource(context.Context, *rds.ListTagsForResourceInput, ...func(*rds.Options)) (*rds.ListTagsForResourceOutput, error)
}

// Lease keeps two scaler replicas from running procedures on one cluster
// at once. RDS tags have no compare-and-set, so a holder writes its own
// tag and then reads the cluster's tags back: it holds the lease only if
// no other unexpired lease tag is there. Two replicas writing at the same
// moment both see each other; both step back and only the one with the
// lowest holder name tries again. A holder that dies stops renewing and
// its tag expires after TTL.
type Lease struct {
	API    TagAPI
	ARN    string // the cluster's
	Holder string
	What   string // the procedure, for whoever reads the tag
	TTL    time.Duration
	Now    func() time.Time

	renewed time.Time
}

// LeaseHeldError: another holder has the cluster until Until.
type LeaseHeldError struct {
	Holder, What string
	Until        time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("another scaler (%s) holds the cluster's procedure lease for %s until %s", e.Holder, e.What, e.Until.UTC().Format(time.RFC3339))
}

const leaseTries = 3

// Acquire takes the lease or returns a *LeaseHeldError; wait paces a
// retry after a simultaneous attempt.
func (l *Lease) Acquire(ctx context.Context, wait func(context.Context, time.Duration) error) error {
	for try := 1; ; try++ {
		others, err := l.others(ctx)
		if err != nil {
			return err
		}
		if len(others) > 0 {
			return others[0]
		}
		if err := l.write(ctx); err != nil {
			return err
		}
		if others, err = l.others(ctx); err != nil {
			_ = l.Release(ctx)
			return err
		}
		if len(others) == 0 {
			return nil
		}
		if err := l.Release(ctx); err != nil {
			return err
		}
		lowest := true
		for _, o := range others {
			lowest = lowest && l.Holder < o.Holder
		}
		if !lowest || try >= leaseTries {
			return others[0]
		}
		if err := wait(ctx, time.Second); err != nil {
			return err
		}
	}
}

// Renew extends the lease once a third of its TTL has passed.
func (l *Lease) Renew(ctx context.Context) error {
	if l.Now().Sub(l.renewed) < l.TTL/3 {
		return nil
	}
	return l.write(ctx)
}

// Release removes the holder's tag.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.API.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(l.ARN), TagKeys: []string{l.key()}})
	if err != nil {
		return fmt.Errorf("releasing the procedure lease: %w", err)
	}
	return nil
}

func (l *Lease) key() string { return LeaseTagPrefix + l.Holder }

func (l *Lease) write(ctx context.Context) error {
	now := l.Now()
	val := now.Add(l.TTL).UTC().Format(time.RFC3339) + " " + l.What
	if _, err := l.API.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(l.ARN),
		Tags: []rdstypes.Tag{{Key: aws.String(l.key()), Value: aws.String(val)}}}); err != nil {
		return fmt.Errorf("writing the procedure lease: %w", err)
	}
	l.renewed = now
	return nil
}

// others lists the unexpired leases of other holders, oldest name first,
// and removes expired ones (holders that died).
func (l *Lease) others(ctx context.Context) ([]*LeaseHeldError, error) {
	out, err := l.API.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(l.ARN)})
	if err != nil {
		return nil, fmt.Errorf("reading the procedure lease: %w", err)
	}
	now := l.Now()
	var held []*LeaseHeldError
	var expired []string
	for _, t := range out.TagList {
		k := aws.ToString(t.Key)
		holder, ok := strings.CutPrefix(k, LeaseTagPrefix)
		if !ok || holder == l.Holder {
			continue
		}
		exp, what, _ := strings.Cut(aws.ToString(t.Value), " ")
		until, err := time.Parse(time.RFC3339, exp)
		if err != nil || !until.After(now) {
			expired = append(expired, k) // unreadable counts as expired: it can never be renewed into a valid one
			continue
		}
		held = append(held, &LeaseHeldError{Holder: holder, What: what, Until: until})
	}
	sort.Slice(held, func(i, j int) bool { return held[i].Holder < held[j].Holder })
	if len(expired) > 0 {
		// Best effort: an expired tag is ignored anyway.
		_, _ = l.API.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(l.ARN), TagKeys: expired})
	}
	return held, nil
}
