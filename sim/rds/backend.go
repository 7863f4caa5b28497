package rds

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// The backend's inputs and outputs are plain values: no wire names, no
// form parameters. A codec (query.go) maps them to and from a protocol.

// Filter is one Filters entry: a name and the values it accepts.
type Filter struct {
	Name   string
	Values []string
}

// Paging is a Describe call's MaxRecords (0: the default) and Marker.
type Paging struct {
	MaxRecords int
	Marker     string
}

type DBCluster struct {
	Identifier, ARN, ResourceID, Status string
	Engine, EngineVersion, EngineMode   string
	Endpoint, ReaderEndpoint            string
	CustomEndpoints                     []string
	Port                                int
	MultiAZ                             bool
	HostedZoneID                        string
	AvailabilityZones                   []string
	CreateTime                          time.Time
	Members                             []ClusterMember
	ServerlessV2                        *sim.ACURange
	StorageEncrypted                    bool
	Tags                                []sim.Tag
	// Cluster-level monitoring: what new instances take by default.
	MonitoringInterval         int
	PerformanceInsightsEnabled bool
}

type ClusterMember struct {
	InstanceID           string
	IsWriter             bool
	PromotionTier        int
	ParameterGroupStatus string
}

type DBInstance struct {
	Identifier, ARN, ResourceID, Class string
	Engine, EngineVersion, Status      string
	Endpoint                           *Endpoint // nil until the instance exists
	AvailabilityZone                   string
	PromotionTier                      int
	ClusterID                          string
	CreateTime                         *time.Time // nil until the instance exists
	PubliclyAccessible, MultiAZ        bool
	StorageType                        string
	Tags                               []sim.Tag
	// Enhanced Monitoring (0: off) and Performance Insights.
	MonitoringInterval                 int
	MonitoringRoleARN                  string
	EnhancedMonitoringResourceARN      string
	PerformanceInsightsEnabled         bool
	PerformanceInsightsRetentionPeriod int
	PerformanceInsightsKMSKeyID        string
}

type Endpoint struct {
	Address      string
	Port         int
	HostedZoneID string
}

type DBProxy struct {
	Name, ARN, Status, EngineFamily, Endpoint string
	RequireTLS                                bool
	IdleClientTimeout                         int
	VpcID                                     string
	Created, Updated                          time.Time
}

type ProxyTarget struct {
	TargetARN, Endpoint, TrackedClusterID, RDSResourceID string
	Port                                                 int
	Type, Role                                           string
	Health                                               TargetHealth
}

type TargetHealth struct{ State, Reason string }

type ClusterEndpoint struct {
	Identifier, ClusterID, ResourceID string
	Endpoint, Status                  string
	Type, CustomType                  string
	StaticMembers, ExcludedMembers    []string
	ARN                               string
}

type DescribeDBClustersInput struct {
	DBClusterIdentifier string
	Filters             []Filter
	Paging
}

type DescribeDBClustersOutput struct {
	DBClusters []DBCluster
	Marker     string
}

type DescribeDBInstancesInput struct {
	DBInstanceIdentifier string
	Filters              []Filter
	Paging
}

type DescribeDBInstancesOutput struct {
	DBInstances []DBInstance
	Marker      string
}

type DescribeDBProxiesInput struct {
	DBProxyName string
	Filters     []Filter
	Paging
}

type DescribeDBProxiesOutput struct {
	DBProxies []DBProxy
	Marker    string
}

type DescribeDBProxyTargetsInput struct {
	DBProxyName, TargetGroupName string
	Paging
}

type DescribeDBProxyTargetsOutput struct {
	Targets []ProxyTarget
	Marker  string
}

type DescribeDBClusterEndpointsInput struct {
	DBClusterIdentifier, DBClusterEndpointIdentifier string
	Filters                                          []Filter
	Paging
}

type DescribeDBClusterEndpointsOutput struct {
	Endpoints []ClusterEndpoint
	Marker    string
}

type backend struct{ w *sim.World }

// identifierPattern is RDS's rule for instance identifiers: 1-63
// letters, digits or hyphens, starting with a letter, no double or
// trailing hyphen.
var identifierPattern = regexp.MustCompile(`^[a-zA-Z](?:[a-zA-Z0-9]|-[a-zA-Z0-9]){0,62}$`)

// hostedZoneID is the Route 53 zone of RDS endpoints in the region.
const hostedZoneID = "Z2R2ITUGPM61AM"

// page applies RDS's MaxRecords bounds (20-100, default 100).
func (p Paging) page(total int) (sim.Page, *sim.APIError) {
	return sim.Paginate(total, p.Marker, p.MaxRecords, 100, 20, 100, "MaxRecords")
}

// filterSet validates filter names against what the operation supports.
func filterSet(fs []Filter, allowed ...string) (map[string][]string, *sim.APIError) {
	out := map[string][]string{}
	for _, f := range fs {
		if !slices.Contains(allowed, f.Name) {
			return nil, sim.ErrInvalidParameterValue("Unrecognized filter name: %s", f.Name)
		}
		if len(f.Values) == 0 {
			return nil, sim.ErrInvalidParameterValue("Filter %s needs at least one value.", f.Name)
		}
		out[f.Name] = append(out[f.Name], f.Values...)
	}
	return out, nil
}

// matchAny reports whether v (or an ARN ending in v) is in values; an
// absent filter matches everything.
func matchAny(values []string, candidates ...string) bool {
	if values == nil {
		return true
	}
	for _, want := range values {
		for _, c := range candidates {
			if want == c {
				return true
			}
		}
	}
	return false
}

func clusterView(r *sim.Region, c *sim.Cluster) DBCluster {
	x := DBCluster{
		Identifier: c.ID, ARN: c.ARN, ResourceID: c.ResourceID, Status: c.Status,
		Engine: c.Engine, EngineVersion: c.EngineVersion, EngineMode: "provisioned",
		Endpoint: r.ClusterEndpoint(c.ID), ReaderEndpoint: r.ReaderEndpoint(c.ID), Port: int(sim.EnginePort(c.Engine)),
		HostedZoneID: hostedZoneID, CreateTime: c.CreateTime, StorageEncrypted: true,
		MonitoringInterval: c.MonitoringInterval, PerformanceInsightsEnabled: c.PerformanceInsights,
		Tags: append([]sim.Tag(nil), c.Tags...),
	}
	azs := map[string]bool{}
	for _, id := range c.Members {
		in := r.Instances[id]
		if in == nil {
			continue
		}
		azs[in.AZ] = true
		x.Members = append(x.Members, ClusterMember{InstanceID: id, IsWriter: id == c.Writer, PromotionTier: in.Tier, ParameterGroupStatus: "in-sync"})
	}
	x.MultiAZ = len(azs) > 1
	for az := range azs {
		x.AvailabilityZones = append(x.AvailabilityZones, az)
	}
	sort.Strings(x.AvailabilityZones)
	for _, id := range sortedKeys(c.CustomEndpoints) {
		x.CustomEndpoints = append(x.CustomEndpoints, r.CustomEndpointName(id))
	}
	if c.Serverless != nil {
		s := *c.Serverless
		x.ServerlessV2 = &s
	}
	return x
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func instanceView(r *sim.Region, in *sim.Instance) DBInstance {
	x := DBInstance{
		Identifier: in.ID, ARN: in.ARN, ResourceID: in.ResourceID, Class: in.Class,
		Engine: in.Cluster.Engine, EngineVersion: in.Cluster.EngineVersion, Status: in.Status, AvailabilityZone: in.AZ,
		PromotionTier: in.Tier, ClusterID: in.Cluster.ID, StorageType: "aurora", Tags: append([]sim.Tag(nil), in.Tags...),
		MonitoringInterval: in.MonitoringInterval, PerformanceInsightsEnabled: in.PerformanceInsights,
	}
	if in.MonitoringInterval > 0 {
		x.EnhancedMonitoringResourceARN = sim.EnhancedMonitoringARN(r, in.ResourceID)
		x.MonitoringRoleARN = "arn:aws:iam::" + r.Account + ":role/rds-monitoring-role"
	}
	if in.PerformanceInsights {
		x.PerformanceInsightsRetentionPeriod = 7
		x.PerformanceInsightsKMSKeyID = r.ARN("kms", "key/"+sim.PIKMSKeyID(r))
	}
	// AWS assigns the endpoint and creation time once the instance exists.
	if in.Status != sim.StatusCreating {
		x.Endpoint = &Endpoint{Address: r.InstanceEndpoint(in.ID), Port: int(sim.EnginePort(in.Cluster.Engine)), HostedZoneID: hostedZoneID}
		t := in.CreateTime
		x.CreateTime = &t
	}
	return x
}

func (b *backend) DescribeDBClusters(c sim.CallContext, in *DescribeDBClustersInput) (*DescribeDBClustersOutput, *sim.APIError) {
	filters, err := filterSet(in.Filters, "db-cluster-id", "db-cluster-resource-id", "engine", "clone-group-id", "domain")
	if err != nil {
		return nil, err
	}
	id := in.DBClusterIdentifier
	out := &DescribeDBClustersOutput{}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.Cluster
		for _, cl := range r.SortedClusters() {
			if id != "" && id != cl.ID && id != cl.ARN {
				continue
			}
			if !matchAny(filters["db-cluster-id"], cl.ID, cl.ARN) || !matchAny(filters["engine"], cl.Engine) ||
				!matchAny(filters["db-cluster-resource-id"], cl.ResourceID) {
				continue
			}
			list = append(list, cl)
		}
		if id != "" && len(list) == 0 {
			return errClusterNotFound(id)
		}
		page, err := in.page(len(list))
		if err != nil {
			return err
		}
		for _, cl := range list[page.Start:page.End] {
			out.DBClusters = append(out.DBClusters, clusterView(r, cl))
		}
		out.Marker = page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) DescribeDBInstances(c sim.CallContext, in *DescribeDBInstancesInput) (*DescribeDBInstancesOutput, *sim.APIError) {
	filters, err := filterSet(in.Filters, "db-cluster-id", "db-instance-id", "dbi-resource-id", "engine", "domain")
	if err != nil {
		return nil, err
	}
	id := in.DBInstanceIdentifier
	out := &DescribeDBInstancesOutput{}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.Instance
		for _, inst := range r.SortedInstances() {
			if id != "" && id != inst.ID && id != inst.ARN {
				continue
			}
			if !matchAny(filters["db-cluster-id"], inst.Cluster.ID, inst.Cluster.ARN) || !matchAny(filters["db-instance-id"], inst.ID, inst.ARN) ||
				!matchAny(filters["dbi-resource-id"], inst.ResourceID) || !matchAny(filters["engine"], inst.Cluster.Engine) {
				continue
			}
			list = append(list, inst)
		}
		if id != "" && len(list) == 0 {
			return errInstanceNotFound(id)
		}
		page, err := in.page(len(list))
		if err != nil {
			return err
		}
		for _, inst := range list[page.Start:page.End] {
			out.DBInstances = append(out.DBInstances, instanceView(r, inst))
		}
		out.Marker = page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) DescribeDBProxies(c sim.CallContext, in *DescribeDBProxiesInput) (*DescribeDBProxiesOutput, *sim.APIError) {
	if _, err := filterSet(in.Filters); err != nil {
		return nil, err
	}
	name := in.DBProxyName
	out := &DescribeDBProxiesOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.Proxy
		for _, px := range r.SortedProxies() {
			if name == "" || name == px.Name {
				list = append(list, px)
			}
		}
		if name != "" && len(list) == 0 {
			return errProxyNotFound(name)
		}
		page, err := in.page(len(list))
		if err != nil {
			return err
		}
		for _, px := range list[page.Start:page.End] {
			out.DBProxies = append(out.DBProxies, DBProxy{
				Name: px.Name, ARN: px.ARN, Status: px.Status, EngineFamily: sim.EngineFamily(px.Cluster.Engine),
				Endpoint: r.ProxyEndpoint(px.Name), RequireTLS: true, IdleClientTimeout: 1800,
				VpcID: "vpc-0a1b2c3d4e5f60718", Created: px.CreateTime, Updated: px.CreateTime,
			})
		}
		out.Marker = page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b *backend) DescribeDBProxyTargets(c sim.CallContext, in *DescribeDBProxyTargetsInput) (*DescribeDBProxyTargetsOutput, *sim.APIError) {
	name := in.DBProxyName
	if name == "" {
		return nil, sim.ErrMissingParameter("DBProxyName")
	}
	tg := in.TargetGroupName
	if tg == "" {
		tg = sim.ProxyTargetGroup
	}
	out := &DescribeDBProxyTargetsOutput{}
	err := b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		px := r.Proxies[name]
		if px == nil {
			return errProxyNotFound(name)
		}
		if tg != sim.ProxyTargetGroup {
			return errProxyTargetGroupNotFound(tg)
		}
		cl := px.Cluster
		targets := []ProxyTarget{{
			TargetARN: cl.ARN, Endpoint: r.ClusterEndpoint(cl.ID), RDSResourceID: cl.ID, Port: int(sim.EnginePort(cl.Engine)), Type: "TRACKED_CLUSTER",
			Health: TargetHealth{State: "AVAILABLE"},
		}}
		for _, id := range cl.Members {
			inst := r.Instances[id]
			if inst == nil {
				continue
			}
			role, health := "READ_ONLY", TargetHealth{State: "AVAILABLE"}
			if id == cl.Writer {
				role = "READ_WRITE"
			}
			if inst.Status != sim.StatusAvailable {
				health = TargetHealth{State: "UNAVAILABLE", Reason: "CONNECTION_FAILED"}
			}
			targets = append(targets, ProxyTarget{
				TargetARN: inst.ARN, Endpoint: r.InstanceEndpoint(id), TrackedClusterID: cl.ID, RDSResourceID: id,
				Port: int(sim.EnginePort(cl.Engine)), Type: "RDS_INSTANCE", Role: role, Health: health,
			})
		}
		page, err := in.page(len(targets))
		if err != nil {
			return err
		}
		out.Targets = targets[page.Start:page.End]
		out.Marker = page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DescribeDBClusterEndpoints lists the WRITER and READER endpoints of
// each cluster and its custom endpoints. An endpoint identifier that
// matches nothing is an empty listing: the operation's only documented
// error is DBClusterNotFoundFault, for an unknown DBClusterIdentifier.
func (b *backend) DescribeDBClusterEndpoints(c sim.CallContext, in *DescribeDBClusterEndpointsInput) (*DescribeDBClusterEndpointsOutput, *sim.APIError) {
	filters, err := filterSet(in.Filters, "db-cluster-endpoint-type", "db-cluster-endpoint-custom-type", "db-cluster-endpoint-id", "db-cluster-endpoint-status")
	if err != nil {
		return nil, err
	}
	clusterID, endpointID := in.DBClusterIdentifier, in.DBClusterEndpointIdentifier
	lower := func(vs []string) []string {
		if vs == nil {
			return nil
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strings.ToLower(v)
		}
		return out
	}
	out := &DescribeDBClusterEndpointsOutput{}
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if clusterID != "" && r.Clusters[clusterID] == nil {
			return errClusterNotFound(clusterID)
		}
		var list []ClusterEndpoint
		for _, cl := range r.SortedClusters() {
			if clusterID != "" && cl.ID != clusterID {
				continue
			}
			all := []ClusterEndpoint{
				builtinEndpoint(r, cl, "WRITER", r.ClusterEndpoint(cl.ID)),
				builtinEndpoint(r, cl, "READER", r.ReaderEndpoint(cl.ID)),
			}
			for _, id := range sortedKeys(cl.CustomEndpoints) {
				all = append(all, customEndpoint(r, cl, id))
			}
			for _, e := range all {
				if endpointID != "" && (e.Type != "CUSTOM" || e.Identifier != endpointID) {
					continue
				}
				if !matchAny(lower(filters["db-cluster-endpoint-type"]), strings.ToLower(e.Type)) ||
					!matchAny(lower(filters["db-cluster-endpoint-custom-type"]), strings.ToLower(e.CustomType)) ||
					!matchAny(filters["db-cluster-endpoint-id"], e.Identifier) ||
					!matchAny(filters["db-cluster-endpoint-status"], e.Status) {
					continue
				}
				list = append(list, e)
			}
		}
		page, err := in.page(len(list))
		if err != nil {
			return err
		}
		out.Endpoints = list[page.Start:page.End]
		out.Marker = page.Next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// builtinEndpoint is a cluster's WRITER or READER endpoint. Aurora gives
// them a resource identifier of their own (cluster-endpoint-<id>, as for
// custom endpoints), derived here from the cluster's resource id and the
// type so it is stable and distinct.
func builtinEndpoint(r *sim.Region, cl *sim.Cluster, typ, host string) ClusterEndpoint {
	return ClusterEndpoint{
		Identifier: cl.ID, ClusterID: cl.ID, Endpoint: host, Status: "available", Type: typ,
		ResourceID: "cluster-endpoint-" + strings.ToLower(strings.TrimPrefix(cl.ResourceID, "cluster-")) + "-" + strings.ToLower(typ),
	}
}

func customEndpoint(r *sim.Region, cl *sim.Cluster, id string) ClusterEndpoint {
	ce := cl.CustomEndpoints[id]
	return ClusterEndpoint{
		Identifier: id, ClusterID: cl.ID, Endpoint: r.CustomEndpointName(id),
		ResourceID: "cluster-endpoint-" + strings.ToLower(id),
		Status:     ce.Status, Type: "CUSTOM", CustomType: ce.Type,
		StaticMembers: append([]string(nil), ce.Static...), ExcludedMembers: append([]string(nil), ce.Excluded...),
		ARN: r.ARN("rds", "cluster-endpoint:"+id),
	}
}
