package procedure

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// ScaleIn is the ticketing platform's reader scale-in (docs/field.md#safe-reader-scale-in):
// point the application's read record at one surviving reader, wait out
// the TTL, delete scaler-managed readers one at a time, wait until the
// reader endpoint no longer answers with them, and point the record back.
type ScaleIn struct {
	Cluster string
	// ZoneID and Record name the Route 53 record the applications read
	// through; it normally is a CNAME to the reader endpoint.
	ZoneID string
	Record string
	// Readers is how many readers should remain (never below 1).
	Readers int
	// Samples is how many reader endpoint answers must be free of the
	// removed readers before the record goes back (default 16).
	Samples int
	// CustomEndpoint, instead of a record: the applications read through
	// this custom endpoint, and the drain excludes the victims from it.
	CustomEndpoint string
	// KeepEventReaders leaves the readers a scheduled event created to
	// that event's revert (a scale-in from demand); the revert itself
	// removes them.
	KeepEventReaders bool
}

// ScaleInResult says what a run did.
type ScaleInResult struct {
	Survivor string
	Deleted  []string
	// RolledBack: the record pointed at a reader that is no longer
	// serving (a run interrupted long ago, or someone else's change); it
	// was pointed back at the reader endpoint and nothing was deleted.
	RolledBack bool
	// Idle: nothing was left to do (no reader to remove, none being
	// deleted, the record or custom endpoint already as it should be).
	Idle bool
}

// RunScaleIn performs (or resumes) a safe scale-in. It refuses to start
// while any instance is not available; a run it started itself resumes
// through instances it is deleting.
func RunScaleIn(ctx context.Context, d Deps, p ScaleIn) (ScaleInResult, error) {
	d.defaults()
	var res ScaleInResult
	if p.Readers < 1 {
		return res, fmt.Errorf("scale-in of %s: at least 1 reader must remain, asked %d", p.Cluster, p.Readers)
	}
	if p.Samples <= 0 {
		p.Samples = 16
	}
	st, err := readCluster(ctx, d.RDS, p.Cluster)
	if err != nil {
		return res, err
	}
	if p.CustomEndpoint != "" {
		return runScaleInCustom(ctx, d, p, st)
	}
	rec, err := readRecord(ctx, d.Route53, p.ZoneID, p.Record)
	if err != nil {
		return res, err
	}
	readerEndpoint := strings.ToLower(st.ReaderEndpoint)
	var survivor *member
	if target := strings.ToLower(strings.TrimSuffix(rec.value, ".")); target != readerEndpoint {
		// A drain is under way (this run was restarted), or the record
		// was repointed by hand. Resume only through a serving reader.
		survivor = st.byEndpoint(target)
		if survivor == nil || survivor.Status != "available" || survivor.Writer {
			d.Log.Warn("read record points at a reader that is not serving; pointing it back", "record", p.Record, "target", target)
			if err := setRecord(ctx, d, p.ZoneID, p.Record, readerEndpoint, rec.ttl); err != nil {
				return res, err
			}
			res.RolledBack = true
			return res, nil
		}
	}

	var readers, victims []member
	for _, m := range st.Members {
		if m.Writer {
			continue
		}
		switch m.Status {
		case "available":
			readers = append(readers, m)
		case "deleting":
			// Ours from an interrupted run, or someone else's: either way
			// it no longer counts and must not get traffic.
		default:
			if survivor == nil {
				return res, fmt.Errorf("scale-in of %s refused: instance %s is %s (no change while any instance is not available)", p.Cluster, m.ID, m.Status)
			}
		}
	}
	excess := len(readers) - p.Readers
	if survivor == nil {
		if best := pickSurvivor(readers); best != nil {
			chosen := *best // readers is reordered below
			survivor = &chosen
		}
	}
	// Newest scaler-managed readers go first; never the survivor, never a
	// self-managed or tier 0-1 reader.
	sort.Slice(readers, func(i, j int) bool { return readers[i].Created.After(readers[j].Created) })
	for _, m := range readers {
		if len(victims) >= excess {
			break
		}
		if m.Managed && m.Tier > 1 && (survivor == nil || m.ID != survivor.ID) && !(p.KeepEventReaders && m.Event != "") {
			victims = append(victims, m)
		}
	}
	deleting := deletingIDs(st)
	if len(victims) == 0 && len(deleting) == 0 {
		if survivor != nil && strings.ToLower(strings.TrimSuffix(rec.value, ".")) != readerEndpoint {
			// Finished deleting before a restart: only the record is left.
			return res, finish(ctx, d, p, readerEndpoint, rec.ttl, nil)
		}
		res.Idle = true
		return res, nil
	}
	if survivor == nil {
		return res, fmt.Errorf("scale-in of %s: no reader can carry reads during the drain", p.Cluster)
	}
	res.Survivor = survivor.ID

	// Drain: new connections go to the survivor once the change is in
	// sync and the old answer's TTL has passed.
	if err := setRecord(ctx, d, p.ZoneID, p.Record, survivor.Endpoint, rec.ttl); err != nil {
		return res, err
	}
	if err := d.Wait(ctx, secondsDuration(rec.ttl)); err != nil {
		return res, err
	}
	if res.Deleted, err = deleteOneByOne(ctx, d, p.Cluster, victims, "survivor", survivor.ID); err != nil {
		return res, err
	}
	for _, id := range deleting {
		if err := waitGone(ctx, d, id); err != nil {
			return res, err
		}
	}
	gone := append(append([]string(nil), res.Deleted...), deleting...)
	return res, finish(ctx, d, p, readerEndpoint, rec.ttl, gone)
}

// finish points the record back once the reader endpoint has stopped
// answering with any removed reader (Aurora keeps them in round robin for
// a while after deletion).
func finish(ctx context.Context, d Deps, p ScaleIn, readerEndpoint string, ttl int64, gone []string) error {
	if err := waitNotAnswering(ctx, d, readerEndpoint, gone, p.Samples); err != nil {
		return err
	}
	return setRecord(ctx, d, p.ZoneID, p.Record, readerEndpoint, ttl)
}

// waitNotAnswering waits until samples answers in a row for host lead to
// none of the instances ids.
func waitNotAnswering(ctx context.Context, d Deps, host string, ids []string, samples int) error {
	if len(ids) == 0 {
		return nil
	}
	removed := map[string]bool{}
	for _, id := range ids {
		removed[id] = true
	}
	return d.waitUntil(ctx, host+" to stop answering with "+strings.Join(ids, ", "), func() (bool, error) {
		for i := 0; i < samples; i++ {
			target, err := d.DNS.CNAMETarget(ctx, host)
			if err != nil {
				return false, nil // a DNS hiccup: keep draining, ask again
			}
			if removed[strings.SplitN(target, ".", 2)[0]] {
				return false, nil
			}
		}
		return true, nil
	})
}

// deleteOneByOne deletes the drained readers, each waited until gone
// before the next, and returns those deleted; note names what the
// readers were drained to, for the log.
func deleteOneByOne(ctx context.Context, d Deps, cluster string, victims []member, note, to string) ([]string, error) {
	var deleted []string
	for _, v := range victims {
		d.Log.Info("deleting reader", "cluster", cluster, "instance", v.ID, note, to)
		_, err := d.RDS.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(v.ID)})
		if err != nil && apiCode(err) != "DBInstanceNotFound" && apiCode(err) != "InvalidDBInstanceState" {
			return deleted, fmt.Errorf("DeleteDBInstance %s: %w", v.ID, err)
		}
		if err := waitGone(ctx, d, v.ID); err != nil {
			return deleted, err
		}
		deleted = append(deleted, v.ID)
	}
	return deleted, nil
}

func pickSurvivor(readers []member) *member {
	var best *member
	for i := range readers {
		m := &readers[i]
		// Prefer a self-managed, low-tier reader: it stays after the event.
		if best == nil || (!m.Managed && best.Managed) || (m.Managed == best.Managed && m.Tier < best.Tier) ||
			(m.Managed == best.Managed && m.Tier == best.Tier && m.ID < best.ID) {
			best = m
		}
	}
	return best
}

func deletingIDs(st *clusterState) []string {
	var out []string
	for _, m := range st.Members {
		if m.Status == "deleting" {
			out = append(out, m.ID)
		}
	}
	return out
}

func waitGone(ctx context.Context, d Deps, id string) error {
	return d.waitUntil(ctx, id+" to be deleted", func() (bool, error) {
		_, err := d.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if apiCode(err) == "DBInstanceNotFound" {
			return true, nil
		}
		return false, err
	})
}

type record struct {
	value string
	ttl   int64
}

func readRecord(ctx context.Context, api Route53API, zone, name string) (record, error) {
	name = strings.TrimSuffix(name, ".") + "."
	out, err := api.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zone), StartRecordName: aws.String(name), StartRecordType: r53types.RRTypeCname, MaxItems: aws.Int32(1),
	})
	if err != nil {
		return record{}, fmt.Errorf("ListResourceRecordSets %s: %w", name, err)
	}
	if len(out.ResourceRecordSets) == 0 || !strings.EqualFold(aws.ToString(out.ResourceRecordSets[0].Name), name) ||
		out.ResourceRecordSets[0].Type != r53types.RRTypeCname || len(out.ResourceRecordSets[0].ResourceRecords) != 1 {
		return record{}, fmt.Errorf("record %s in zone %s is not a single-value CNAME", name, zone)
	}
	rs := out.ResourceRecordSets[0]
	return record{value: aws.ToString(rs.ResourceRecords[0].Value), ttl: aws.ToInt64(rs.TTL)}, nil
}

// setRecord UPSERTs the CNAME and waits until Route 53 reports it INSYNC
// (served by DNS).
func setRecord(ctx context.Context, d Deps, zone, name, target string, ttl int64) error {
	out, err := d.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Comment: aws.String("aurora-surge safe scale-in"), Changes: []r53types.Change{{
			Action: r53types.ChangeActionUpsert,
			ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(ttl),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(target)}}},
		}}},
	})
	if err != nil {
		return fmt.Errorf("pointing %s at %s: %w", name, target, err)
	}
	d.Log.Info("read record repointed", "record", name, "target", target)
	return d.waitUntil(ctx, "the change of "+name+" to be in sync", func() (bool, error) {
		gc, err := d.Route53.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
		if err != nil {
			return false, err
		}
		return gc.ChangeInfo.Status == r53types.ChangeStatusInsync, nil
	})
}
