package procedure

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

type customEndpoint struct {
	host     string
	static   []string
	excluded []string
}

func readCustomEndpoint(ctx context.Context, api RDSAPI, cluster, id string) (customEndpoint, error) {
	out, err := api.DescribeDBClusterEndpoints(ctx, &rds.DescribeDBClusterEndpointsInput{DBClusterIdentifier: aws.String(cluster), DBClusterEndpointIdentifier: aws.String(id)})
	if err != nil {
		return customEndpoint{}, fmt.Errorf("DescribeDBClusterEndpoints %s: %w", id, err)
	}
	if len(out.DBClusterEndpoints) != 1 {
		return customEndpoint{}, fmt.Errorf("custom endpoint %s of %s not found", id, cluster)
	}
	e := out.DBClusterEndpoints[0]
	return customEndpoint{host: strings.ToLower(aws.ToString(e.Endpoint)), static: e.StaticMembers, excluded: e.ExcludedMembers}, nil
}

func setExcluded(ctx context.Context, d Deps, id string, excluded []string) error {
	if excluded == nil {
		excluded = []string{} // an empty list clears the exclusions
	}
	if _, err := d.RDS.ModifyDBClusterEndpoint(ctx, &rds.ModifyDBClusterEndpointInput{DBClusterEndpointIdentifier: aws.String(id), ExcludedMembers: excluded}); err != nil {
		return fmt.Errorf("ModifyDBClusterEndpoint %s: %w", id, err)
	}
	d.Log.Info("custom endpoint exclusions set", "endpoint", id, "excluded", excluded)
	return nil
}

// runScaleInCustom is the drain through a custom endpoint's exclusion list
// (changing membership never breaks existing connections, only new ones,
// docs/field.md#reader-auto-scaling): exclude the victims, wait until the endpoint no longer
// answers with them, delete them one at a time, then drop them from the
// list. Its progress is the list itself: scaler-managed readers already
// excluded are the victims of an interrupted run; those no longer wanted
// (a restart's resume removes nothing more) are given back to the
// endpoint.
func runScaleInCustom(ctx context.Context, d Deps, p ScaleIn, st *clusterState) (ScaleInResult, error) {
	var res ScaleInResult
	ep, err := readCustomEndpoint(ctx, d.RDS, p.Cluster, p.CustomEndpoint)
	if err != nil {
		return res, err
	}
	if len(ep.static) > 0 {
		return res, fmt.Errorf("custom endpoint %s lists static members; the exclusion drain needs an endpoint defined by exclusions", p.CustomEndpoint)
	}
	excluded := map[string]bool{}
	for _, id := range ep.excluded {
		excluded[id] = true
	}
	var readers []member
	for _, m := range st.Members {
		if m.Writer || m.Status == "deleting" {
			continue
		}
		if m.Status != "available" && !excluded[m.ID] {
			return res, fmt.Errorf("scale-in of %s refused: instance %s is %s (no change while any instance is not available)", p.Cluster, m.ID, m.Status)
		}
		readers = append(readers, m)
	}
	// Victims: scaler-managed tier >= 2 readers, those an earlier run
	// already excluded first, then the newest.
	candidates := make([]member, 0, len(readers))
	for _, m := range readers {
		if m.Managed && m.Tier > 1 && m.Status == "available" {
			candidates = append(candidates, m)
		}
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		if excluded[candidates[i].ID] != excluded[candidates[j].ID] {
			return excluded[candidates[i].ID]
		}
		return candidates[i].Created.After(candidates[j].Created)
	})
	excess := len(readers) - p.Readers
	var victims []member
	for _, m := range candidates {
		if len(victims) < excess {
			victims = append(victims, m)
		}
	}
	if len(readers)-len(victims) < 1 {
		return res, fmt.Errorf("scale-in of %s: no reader would remain in %s", p.Cluster, p.CustomEndpoint)
	}
	isVictim := map[string]bool{}
	for _, v := range victims {
		isVictim[v.ID] = true
	}
	// The list after the drain: what was excluded, minus instances that
	// are gone and managed readers no longer meant to go, plus victims.
	var during, after []string
	for _, id := range ep.excluded {
		m := st.byID(id)
		if m == nil || m.Status == "deleting" {
			continue // gone or going: nothing to exclude
		}
		if m.Managed && !isVictim[id] {
			res.RolledBack = true // an interrupted run's victim, given back
			continue
		}
		if !isVictim[id] {
			after = append(after, id)
		}
	}
	during = append(append(during, after...), ids(victims)...)
	sort.Strings(during)
	sort.Strings(after)
	res.Idle = len(victims) == 0 && sameSet(during, ep.excluded) && sameSet(after, during)
	if !sameSet(during, ep.excluded) {
		if err := setExcluded(ctx, d, p.CustomEndpoint, during); err != nil {
			return res, err
		}
	}
	if len(victims) > 0 {
		if err := waitNotAnswering(ctx, d, ep.host, ids(victims), p.Samples); err != nil {
			return res, err
		}
		if err := d.Wait(ctx, defaultTTL); err != nil { // the last answer's TTL
			return res, err
		}
	}
	if res.Deleted, err = deleteOneByOne(ctx, d, p.Cluster, victims, "drained_from", p.CustomEndpoint); err != nil {
		return res, err
	}
	if !sameSet(after, during) {
		return res, setExcluded(ctx, d, p.CustomEndpoint, after)
	}
	return res, nil
}

// defaultTTL is Aurora's endpoint TTL.
const defaultTTL = 5 * time.Second

func ids(ms []member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
