package rds

import (
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

type CreateDBInstanceInput struct {
	DBInstanceIdentifier, DBInstanceClass, Engine string
	DBClusterIdentifier, AvailabilityZone         string
	PromotionTier                                 *int // nil: 1
	Tags                                          []sim.Tag
	// Enhanced Monitoring and Performance Insights; nil takes the
	// cluster's setting (Aurora's cluster-level monitoring).
	MonitoringInterval        *int
	MonitoringRoleARN         string
	EnablePerformanceInsights *bool
}

type DeleteDBInstanceInput struct{ DBInstanceIdentifier string }

type ModifyDBClusterInput struct {
	DBClusterIdentifier string
	// Serverless v2 range; nil leaves a bound unchanged.
	MinCapacity, MaxCapacity *float64
}

type ModifyDBInstanceInput struct {
	DBInstanceIdentifier string
	PromotionTier        *int
	DBInstanceClass      string
}

type FailoverDBClusterInput struct {
	DBClusterIdentifier, TargetDBInstanceIdentifier string
}

type AddTagsToResourceInput struct {
	ResourceName string
	Tags         []sim.Tag
}

type ModifyDBClusterEndpointInput struct {
	DBClusterEndpointIdentifier string
	EndpointType                string
	// nil: unchanged; empty (non-nil): cleared.
	StaticMembers, ExcludedMembers []string
}

// InstanceOutput is the answer of the operations that return one
// instance; ClusterOutput of those that return one cluster.
type InstanceOutput struct{ DBInstance DBInstance }

type ClusterOutput struct{ DBCluster DBCluster }

type AddTagsToResourceOutput struct{}

type RemoveTagsFromResourceInput struct {
	ResourceName string
	TagKeys      []string
}

type RemoveTagsFromResourceOutput struct{}

type ListTagsForResourceInput struct{ ResourceName string }

type ListTagsForResourceOutput struct{ TagList []sim.Tag }

func readerCount(r *sim.Region, c *sim.Cluster) int {
	n := 0
	for _, id := range c.Members {
		if in := r.Instances[id]; in != nil && id != c.Writer && in.Status != sim.StatusDeleting {
			n++
		}
	}
	return n
}

// promotionTier validates PromotionTier (0-15), def when absent.
func promotionTier(v *int, def int) (int, *sim.APIError) {
	if v == nil {
		return def, nil
	}
	if *v < 0 || *v > 15 {
		return 0, sim.ErrInvalidParameterValue("PromotionTier must be between 0 and 15, got %d.", *v)
	}
	return *v, nil
}

func validTags(tags []sim.Tag) *sim.APIError {
	for _, t := range tags {
		if t.Key == "" {
			return sim.ErrInvalidParameterValue("Tag keys must not be empty.")
		}
	}
	return nil
}

func (b *backend) CreateDBInstance(c sim.CallContext, in *CreateDBInstanceInput) (*InstanceOutput, *sim.APIError) {
	for _, req := range []struct{ name, v string }{{"DBInstanceIdentifier", in.DBInstanceIdentifier}, {"DBInstanceClass", in.DBInstanceClass}, {"Engine", in.Engine}} {
		if req.v == "" {
			return nil, sim.ErrMissingParameter(req.name)
		}
	}
	id, class, engine, clusterID := in.DBInstanceIdentifier, in.DBInstanceClass, in.Engine, in.DBClusterIdentifier
	if !identifierPattern.MatchString(id) {
		return nil, sim.ErrInvalidParameterValue("The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
	}
	if clusterID == "" {
		return nil, sim.ErrInvalidParameterCombination("aurora_sim models Aurora only: DBClusterIdentifier is required.")
	}
	if mi := in.MonitoringInterval; mi != nil {
		if !sim.ValidMonitoringInterval(*mi) {
			return nil, sim.ErrInvalidParameterValue("Invalid Monitoring Interval. Valid values are 0, 1, 5, 10, 15, 30 and 60.")
		}
		if *mi > 0 && in.MonitoringRoleARN == "" {
			return nil, sim.ErrInvalidParameterCombination("A MonitoringRoleARN value is required if you specify a MonitoringInterval value other than 0.")
		}
	}
	if !sim.ValidInstanceClass(class) {
		return nil, sim.ErrInvalidParameterCombination("RDS does not support creating a DB instance with the following combination: DBInstanceClass=%s, Engine=%s.", class, engine)
	}
	tier, err := promotionTier(in.PromotionTier, 1)
	if err != nil {
		return nil, err
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	az := in.AvailabilityZone
	out := &InstanceOutput{}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		cl := r.Clusters[clusterID]
		if cl == nil {
			return errClusterNotFound(clusterID)
		}
		if _, exists := r.Instances[id]; exists {
			return errInstanceExists(id)
		}
		if engine != cl.Engine {
			return sim.ErrInvalidParameterCombination("The engine name requested for your DB instance (%s) doesn't match the engine name of your DB cluster (%s).", engine, cl.Engine)
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
		inst := b.w.NewInstance(r, cl, id, class, az, tier, append([]sim.Tag(nil), in.Tags...), now)
		inst.AvailableAt = now.Add(b.w.P.ProvisioningDelay)
		if in.MonitoringInterval != nil {
			inst.MonitoringInterval = *in.MonitoringInterval
		}
		if in.EnablePerformanceInsights != nil {
			inst.PerformanceInsights = *in.EnablePerformanceInsights
		}
		out.DBInstance = instanceView(r, inst)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) DeleteDBInstance(c sim.CallContext, in *DeleteDBInstanceInput) (*InstanceOutput, *sim.APIError) {
	id := in.DBInstanceIdentifier
	if id == "" {
		return nil, sim.ErrMissingParameter("DBInstanceIdentifier")
	}
	out := &InstanceOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		inst := r.Instances[id]
		if inst == nil {
			return errInstanceNotFound(id)
		}
		switch inst.Status {
		case sim.StatusDeleting:
			return sim.ErrInvalidDBInstanceState("DB instance %s is already being deleted.", id)
		case sim.StatusRebooting, sim.StatusModifying:
			return sim.ErrInvalidDBInstanceState("DB instance %s is %s; it can be deleted when available.", id, inst.Status)
		}
		cl := inst.Cluster
		if id == cl.Writer && readerCount(r, cl) > 0 {
			// Aurora promotes a reader before the writer goes away.
			if err := b.w.StartFailover(cl, nil, now); err != nil {
				return err
			}
		}
		b.w.BeginDelete(inst, now)
		out.DBInstance = instanceView(r, inst)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) ModifyDBCluster(c sim.CallContext, in *ModifyDBClusterInput) (*ClusterOutput, *sim.APIError) {
	id := in.DBClusterIdentifier
	if id == "" {
		return nil, sim.ErrMissingParameter("DBClusterIdentifier")
	}
	out := &ClusterOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		cl := r.Clusters[id]
		if cl == nil {
			return errClusterNotFound(id)
		}
		if cl.Status != sim.StatusAvailable {
			return sim.ErrInvalidDBClusterState("DB cluster %s is %s and cannot be modified now.", id, cl.Status)
		}
		if in.MinCapacity != nil || in.MaxCapacity != nil {
			next := sim.ACURange{Min: 0.5, Max: 1}
			if cl.Serverless != nil {
				next = *cl.Serverless
			} else if in.MinCapacity == nil || in.MaxCapacity == nil {
				return sim.ErrInvalidParameterCombination("Both MinCapacity and MaxCapacity are required to add a Serverless v2 scaling configuration.")
			}
			if in.MinCapacity != nil {
				next.Min = *in.MinCapacity
			}
			if in.MaxCapacity != nil {
				next.Max = *in.MaxCapacity
			}
			if err := sim.ValidateACURange(next.Min, next.Max); err != nil {
				return err
			}
			// Serverless v2 range changes take effect at once: the model
			// reads the range every tick.
			cl.Serverless = &next
		}
		out.DBCluster = clusterView(r, cl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) ModifyDBInstance(c sim.CallContext, in *ModifyDBInstanceInput) (*InstanceOutput, *sim.APIError) {
	id := in.DBInstanceIdentifier
	if id == "" {
		return nil, sim.ErrMissingParameter("DBInstanceIdentifier")
	}
	tier, err := promotionTier(in.PromotionTier, 0)
	if err != nil {
		return nil, err
	}
	class := in.DBInstanceClass
	if class != "" && !sim.ValidInstanceClass(class) {
		return nil, sim.ErrInvalidParameterCombination("RDS does not support DBInstanceClass=%s for Aurora.", class)
	}
	out := &InstanceOutput{}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		inst := r.Instances[id]
		if inst == nil {
			return errInstanceNotFound(id)
		}
		if inst.Status != sim.StatusAvailable {
			return sim.ErrInvalidDBInstanceState("DB instance %s is %s; it can be modified when available.", id, inst.Status)
		}
		if in.PromotionTier != nil {
			inst.Tier = tier
		}
		if class != "" && class != inst.Class {
			if class == sim.ServerlessClass && inst.Cluster.Serverless == nil {
				return sim.ErrInvalidParameterCombination("DB cluster %s has no Serverless v2 scaling configuration.", inst.Cluster.ID)
			}
			// A class change restarts the instance: it is "modifying"
			// (still serving) for a few minutes.
			inst.Class = class
			inst.Status = sim.StatusModifying
			inst.AvailableAt = now.Add(b.w.P.ProvisioningDelay / 2)
		}
		out.DBInstance = instanceView(r, inst)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FailoverDBCluster documents DBClusterNotFoundFault,
// InvalidDBClusterStateFault and InvalidDBInstanceState; a target that
// does not exist is an instance the cluster cannot promote, so it gets
// InvalidDBInstanceState (not DBInstanceNotFound, which this operation
// does not list).
func (b *backend) FailoverDBCluster(c sim.CallContext, in *FailoverDBClusterInput) (*ClusterOutput, *sim.APIError) {
	id, targetID := in.DBClusterIdentifier, in.TargetDBInstanceIdentifier
	if id == "" {
		return nil, sim.ErrMissingParameter("DBClusterIdentifier")
	}
	out := &ClusterOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		cl := r.Clusters[id]
		if cl == nil {
			return errClusterNotFound(id)
		}
		var target *sim.Instance
		if targetID != "" {
			target = r.Instances[targetID]
			if target == nil {
				return sim.ErrInvalidDBInstanceState("Cannot find target instance: %s; it is not an instance of DB cluster %s.", targetID, id)
			}
			if target.Cluster != cl {
				return sim.ErrInvalidParameterValue("DB instance %s is not a member of DB cluster %s.", targetID, id)
			}
		}
		for _, mid := range cl.Members {
			if inst := r.Instances[mid]; inst != nil && inst.Status != sim.StatusAvailable && inst.Status != sim.StatusDeleting {
				return sim.ErrInvalidDBClusterState("DB cluster %s cannot fail over while instance %s is %s.", id, mid, inst.Status)
			}
		}
		if err := b.w.StartFailover(cl, target, now); err != nil {
			return err
		}
		out.DBCluster = clusterView(r, cl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddTagsToResource tags a cluster or an instance by ARN; a key already
// present gets the new value, as in RDS.
func (b *backend) AddTagsToResource(c sim.CallContext, in *AddTagsToResourceInput) (*AddTagsToResourceOutput, *sim.APIError) {
	arn := in.ResourceName
	if arn == "" {
		return nil, sim.ErrMissingParameter("ResourceName")
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, sim.ErrMissingParameter("Tags")
	}
	err := b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		target, err := taggable(r, arn)
		if err != nil {
			return err
		}
		for _, t := range in.Tags {
			replaced := false
			for i := range *target {
				if (*target)[i].Key == t.Key {
					(*target)[i].Value, replaced = t.Value, true
				}
			}
			if !replaced {
				if len(*target) >= 50 {
					return errTagQuota(arn)
				}
				*target = append(*target, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &AddTagsToResourceOutput{}, nil
}

// ModifyDBClusterEndpoint changes a custom endpoint's type or members.
// Membership takes effect for new DNS answers at once; existing
// connections are not broken (docs/field.md#reader-auto-scaling).
func (b *backend) ModifyDBClusterEndpoint(c sim.CallContext, in *ModifyDBClusterEndpointInput) (*ClusterEndpoint, *sim.APIError) {
	id := in.DBClusterEndpointIdentifier
	if id == "" {
		return nil, sim.ErrMissingParameter("DBClusterEndpointIdentifier")
	}
	typ := strings.ToUpper(in.EndpointType)
	if typ != "" && typ != "READER" && typ != "ANY" {
		return nil, sim.ErrInvalidParameterValue("EndpointType must be READER or ANY, got %s.", in.EndpointType)
	}
	static, excluded := in.StaticMembers, in.ExcludedMembers
	if len(static) > 0 && len(excluded) > 0 {
		return nil, sim.ErrInvalidParameterCombination("StaticMembers and ExcludedMembers cannot both be set.")
	}
	var out ClusterEndpoint
	err := b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		for _, cl := range r.SortedClusters() {
			ce := cl.CustomEndpoints[id]
			if ce == nil {
				continue
			}
			for _, m := range append(append([]string(nil), static...), excluded...) {
				inst := r.Instances[m]
				if inst == nil {
					return errInstanceNotFound(m)
				}
				if inst.Cluster != cl {
					return sim.ErrInvalidParameterValue("%s is not an instance of DB cluster %s.", m, cl.ID)
				}
			}
			if typ != "" {
				ce.Type = typ
			}
			if static != nil {
				ce.Static, ce.Excluded = append([]string(nil), static...), nil
			}
			if excluded != nil {
				ce.Excluded, ce.Static = append([]string(nil), excluded...), nil
			}
			out = customEndpoint(r, cl, id)
			return nil
		}
		return errEndpointNotFound(id)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// taggable finds the tag list of a cluster or an instance by ARN.
func taggable(r *sim.Region, arn string) (*[]sim.Tag, *sim.APIError) {
	for _, cl := range r.Clusters {
		if cl.ARN == arn {
			return &cl.Tags, nil
		}
	}
	for _, inst := range r.Instances {
		if inst.ARN == arn {
			return &inst.Tags, nil
		}
	}
	if strings.Contains(arn, ":cluster:") {
		return nil, errClusterNotFound(arn)
	}
	return nil, errInstanceNotFound(arn)
}

// RemoveTagsFromResource removes the named keys; a key not present is
// no error, as in RDS.
func (b *backend) RemoveTagsFromResource(c sim.CallContext, in *RemoveTagsFromResourceInput) (*RemoveTagsFromResourceOutput, *sim.APIError) {
	if in.ResourceName == "" {
		return nil, sim.ErrMissingParameter("ResourceName")
	}
	if len(in.TagKeys) == 0 {
		return nil, sim.ErrMissingParameter("TagKeys")
	}
	err := b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		target, err := taggable(r, in.ResourceName)
		if err != nil {
			return err
		}
		drop := map[string]bool{}
		for _, k := range in.TagKeys {
			drop[k] = true
		}
		kept := (*target)[:0]
		for _, t := range *target {
			if !drop[t.Key] {
				kept = append(kept, t)
			}
		}
		*target = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RemoveTagsFromResourceOutput{}, nil
}

// ListTagsForResource lists a cluster's or an instance's tags.
func (b *backend) ListTagsForResource(c sim.CallContext, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, *sim.APIError) {
	if in.ResourceName == "" {
		return nil, sim.ErrMissingParameter("ResourceName")
	}
	out := &ListTagsForResourceOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, _ time.Time) *sim.APIError {
		target, err := taggable(r, in.ResourceName)
		if err != nil {
			return err
		}
		out.TagList = append([]sim.Tag(nil), (*target)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
