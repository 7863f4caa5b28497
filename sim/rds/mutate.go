package rds

import (
	"fmt"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

func readerCount(r *sim.Region, c *sim.Cluster) int {
	n := 0
	for _, id := range c.Members {
		if in := r.Instances[id]; in != nil && id != c.Writer && in.Status != sim.StatusDeleting {
			n++
		}
	}
	return n
}

// promotionTier reads PromotionTier (0-15) with a default.
func promotionTier(p wire.Params, def int) (int, bool, *sim.APIError) {
	v, ok, err := p.Int("PromotionTier")
	if err != nil {
		return 0, false, err
	}
	if !ok {
		return def, false, nil
	}
	if v < 0 || v > 15 {
		return 0, true, sim.ErrInvalidParameterValue("PromotionTier must be between 0 and 15, got %d.", v)
	}
	return int(v), true, nil
}

func (b *backend) createDBInstance(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	id, err := p.Required("DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	class, err := p.Required("DBInstanceClass")
	if err != nil {
		return nil, err
	}
	engine, err := p.Required("Engine")
	if err != nil {
		return nil, err
	}
	clusterID := p.String("DBClusterIdentifier")
	if !identifierPattern.MatchString(id) {
		return nil, sim.ErrInvalidParameterValue("The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
	}
	if clusterID == "" {
		return nil, sim.ErrInvalidParameterCombination("aurora_sim models Aurora only: DBClusterIdentifier is required.")
	}
	if engine != sim.Engine {
		return nil, sim.ErrInvalidParameterCombination("The engine name requested for your DB instance (%s) doesn't match the engine name of your DB cluster (%s).", engine, sim.Engine)
	}
	if !sim.ValidInstanceClass(class) {
		return nil, sim.ErrInvalidParameterCombination("RDS does not support creating a DB instance with the following combination: DBInstanceClass=%s, Engine=%s.", class, engine)
	}
	tier, _, err := promotionTier(p, 1)
	if err != nil {
		return nil, err
	}
	tags, err := readTags(p)
	if err != nil {
		return nil, err
	}
	az := p.String("AvailabilityZone")
	var out instanceResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		cl := r.Clusters[clusterID]
		if cl == nil {
			return errClusterNotFound(clusterID)
		}
		if _, exists := r.Instances[id]; exists {
			return errInstanceExists(id)
		}
		if class == sim.ServerlessClass && cl.Serverless == nil {
			return sim.ErrInvalidParameterCombination("Set the Serverless v2 scaling configuration on DB cluster %s before adding a db.serverless instance.", clusterID)
		}
		if cl.Status != sim.StatusAvailable {
			return sim.ErrInvalidDBClusterState("DB cluster %s is %s; instances can be added when it is available.", clusterID, cl.Status)
		}
		if readerCount(r, cl) >= sim.MaxReaders {
			return errInstanceQuota(clusterID)
		}
		if az != "" && (len(az) != len(r.Name)+1 || az[:len(r.Name)] != r.Name) {
			return sim.ErrInvalidParameterValue("AvailabilityZone %s is not in region %s.", az, r.Name)
		}
		in := b.w.NewInstance(r, cl, id, class, az, tier, tags, now)
		in.AvailableAt = now.Add(b.w.P.ProvisioningDelay)
		out.DBInstance = instanceXML(r, in)
		return nil
	})
	return out, err
}

func (b *backend) deleteDBInstance(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	id, err := p.Required("DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	var out instanceResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		in := r.Instances[id]
		if in == nil {
			return errInstanceNotFound(id)
		}
		switch in.Status {
		case sim.StatusDeleting:
			return sim.ErrInvalidDBInstanceState("DB instance %s is already being deleted.", id)
		case sim.StatusRebooting, sim.StatusModifying:
			return sim.ErrInvalidDBInstanceState("DB instance %s is %s; it can be deleted when available.", id, in.Status)
		}
		cl := in.Cluster
		if id == cl.Writer && readerCount(r, cl) > 0 {
			// Aurora promotes a reader before the writer goes away.
			if err := b.w.StartFailover(cl, nil, now); err != nil {
				return err
			}
		}
		b.w.BeginDelete(in, now)
		out.DBInstance = instanceXML(r, in)
		return nil
	})
	return out, err
}

func (b *backend) modifyDBCluster(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	id, err := p.Required("DBClusterIdentifier")
	if err != nil {
		return nil, err
	}
	minV, hasMin, err := p.Float("ServerlessV2ScalingConfiguration.MinCapacity")
	if err != nil {
		return nil, err
	}
	maxV, hasMax, err := p.Float("ServerlessV2ScalingConfiguration.MaxCapacity")
	if err != nil {
		return nil, err
	}
	var out clusterResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		cl := r.Clusters[id]
		if cl == nil {
			return errClusterNotFound(id)
		}
		if cl.Status != sim.StatusAvailable {
			return sim.ErrInvalidDBClusterState("DB cluster %s is %s and cannot be modified now.", id, cl.Status)
		}
		if hasMin || hasMax {
			next := sim.ACURange{Min: 0.5, Max: 1}
			if cl.Serverless != nil {
				next = *cl.Serverless
			} else if !hasMin || !hasMax {
				return sim.ErrInvalidParameterCombination("Both MinCapacity and MaxCapacity are required to add a Serverless v2 scaling configuration.")
			}
			if hasMin {
				next.Min = minV
			}
			if hasMax {
				next.Max = maxV
			}
			if err := sim.ValidateACURange(next.Min, next.Max); err != nil {
				return err
			}
			// Serverless v2 range changes take effect at once: the model
			// reads the range every tick.
			cl.Serverless = &next
		}
		out.DBCluster = clusterXML(r, cl)
		return nil
	})
	return out, err
}

func (b *backend) modifyDBInstance(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	id, err := p.Required("DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	tier, hasTier, err := promotionTier(p, 0)
	if err != nil {
		return nil, err
	}
	class := p.String("DBInstanceClass")
	if class != "" && !sim.ValidInstanceClass(class) {
		return nil, sim.ErrInvalidParameterCombination("RDS does not support DBInstanceClass=%s for %s.", class, sim.Engine)
	}
	var out instanceResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		in := r.Instances[id]
		if in == nil {
			return errInstanceNotFound(id)
		}
		if in.Status != sim.StatusAvailable {
			return sim.ErrInvalidDBInstanceState("DB instance %s is %s; it can be modified when available.", id, in.Status)
		}
		if hasTier {
			in.Tier = tier
		}
		if class != "" && class != in.Class {
			if class == sim.ServerlessClass && in.Cluster.Serverless == nil {
				return sim.ErrInvalidParameterCombination("DB cluster %s has no Serverless v2 scaling configuration.", in.Cluster.ID)
			}
			// A class change restarts the instance: it is "modifying"
			// (still serving) for a few minutes.
			in.Class = class
			in.Status = sim.StatusModifying
			in.AvailableAt = now.Add(b.w.P.ProvisioningDelay / 2)
		}
		out.DBInstance = instanceXML(r, in)
		return nil
	})
	return out, err
}

func (b *backend) failoverDBCluster(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	id, err := p.Required("DBClusterIdentifier")
	if err != nil {
		return nil, err
	}
	targetID := p.String("TargetDBInstanceIdentifier")
	var out clusterResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		cl := r.Clusters[id]
		if cl == nil {
			return errClusterNotFound(id)
		}
		var target *sim.Instance
		if targetID != "" {
			target = r.Instances[targetID]
			if target == nil {
				return errInstanceNotFound(targetID)
			}
			if target.Cluster != cl {
				return sim.ErrInvalidParameterValue("DB instance %s is not a member of DB cluster %s.", targetID, id)
			}
		}
		for _, mid := range cl.Members {
			if in := r.Instances[mid]; in != nil && in.Status != sim.StatusAvailable && in.Status != sim.StatusDeleting {
				return sim.ErrInvalidDBClusterState("DB cluster %s cannot fail over while instance %s is %s.", id, mid, in.Status)
			}
		}
		if err := b.w.StartFailover(cl, target, now); err != nil {
			return err
		}
		out.DBCluster = clusterXML(r, cl)
		return nil
	})
	return out, err
}

// readTags reads Tags.Tag.N.Key/Value.
func readTags(p wire.Params) ([]sim.Tag, *sim.APIError) {
	var tags []sim.Tag
	for _, i := range p.Indexes("Tags.Tag") {
		k := p.String(fmt.Sprintf("Tags.Tag.%d.Key", i))
		if k == "" {
			return nil, sim.ErrInvalidParameterValue("Tag keys must not be empty.")
		}
		tags = append(tags, sim.Tag{Key: k, Value: p.String(fmt.Sprintf("Tags.Tag.%d.Value", i))})
	}
	return tags, nil
}

// addTagsToResource tags a cluster or an instance by ARN; a key already
// present gets the new value, as in RDS.
func (b *backend) addTagsToResource(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	arn, err := p.Required("ResourceName")
	if err != nil {
		return nil, err
	}
	tags, err := readTags(p)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, sim.ErrMissingParameter("Tags")
	}
	err = b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		var target *[]sim.Tag
		for _, cl := range r.Clusters {
			if cl.ARN == arn {
				target = &cl.Tags
			}
		}
		for _, in := range r.Instances {
			if in.ARN == arn {
				target = &in.Tags
			}
		}
		if target == nil {
			if strings.Contains(arn, ":cluster:") {
				return errClusterNotFound(arn)
			}
			return errInstanceNotFound(arn)
		}
		for _, t := range tags {
			replaced := false
			for i := range *target {
				if (*target)[i].Key == t.Key {
					(*target)[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				if len(*target) >= 50 {
					return sim.NewAPIError(400, "TagQuotaPerResourceExceeded", "Resource %s would have more than 50 tags.", arn)
				}
				*target = append(*target, t)
			}
		}
		return nil
	})
	return nil, err
}

// modifyDBClusterEndpoint changes a custom endpoint's type or members.
// Membership takes effect for new DNS answers at once; existing
// connections are not broken (docs/field.md#reader-auto-scaling).
func (b *backend) modifyDBClusterEndpoint(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	id, err := p.Required("DBClusterEndpointIdentifier")
	if err != nil {
		return nil, err
	}
	typ := strings.ToUpper(p.String("EndpointType"))
	if typ != "" && typ != "READER" && typ != "ANY" {
		return nil, sim.ErrInvalidParameterValue("EndpointType must be READER or ANY, got %s.", p.String("EndpointType"))
	}
	static, hasStatic := p.List("StaticMembers.member"), p.Has("StaticMembers") || len(p.Indexes("StaticMembers.member")) > 0
	excluded, hasExcluded := p.List("ExcludedMembers.member"), p.Has("ExcludedMembers") || len(p.Indexes("ExcludedMembers.member")) > 0
	if len(static) > 0 && len(excluded) > 0 {
		return nil, sim.ErrInvalidParameterCombination("StaticMembers and ExcludedMembers cannot both be set.")
	}
	var out xmlClusterEndpoint
	err = b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		for _, cl := range r.SortedClusters() {
			ce := cl.CustomEndpoints[id]
			if ce == nil {
				continue
			}
			for _, m := range append(append([]string(nil), static...), excluded...) {
				if in := r.Instances[m]; in == nil || in.Cluster != cl {
					return sim.ErrInvalidParameterValue("%s is not an instance of DB cluster %s.", m, cl.ID)
				}
			}
			if typ != "" {
				ce.Type = typ
			}
			if hasStatic {
				ce.Static, ce.Excluded = static, nil
			}
			if hasExcluded {
				ce.Excluded, ce.Static = excluded, nil
			}
			out = customEndpointXML(r, cl, id)
			return nil
		}
		return errEndpointNotFound(id)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
