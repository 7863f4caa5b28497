package rds

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

type backend struct{ w *sim.World }

// identifierPattern is RDS's rule for instance identifiers: 1-63
// letters, digits or hyphens, starting with a letter, no double or
// trailing hyphen.
var identifierPattern = regexp.MustCompile(`^[a-zA-Z](?:[a-zA-Z0-9]|-[a-zA-Z0-9]){0,62}$`)

// paging reads MaxRecords/Marker with RDS's bounds (20-100, default 100).
func paging(p wire.Params, total int) (sim.Page, *sim.APIError) {
	n, _, err := p.Int("MaxRecords")
	if err != nil {
		return sim.Page{}, err
	}
	return sim.Paginate(total, p.String("Marker"), int(n), 100, 20, 100, "MaxRecords")
}

// filterSet validates filter names against what the operation supports.
func filterSet(p wire.Params, allowed ...string) (map[string][]string, *sim.APIError) {
	out := map[string][]string{}
	for _, f := range p.Filters("Filters.Filter", "Values.Value") {
		ok := false
		for _, a := range allowed {
			if f.Name == a {
				ok = true
			}
		}
		if !ok {
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

func tagsXML(tags []sim.Tag) xmlTagList {
	var l xmlTagList
	for _, t := range tags {
		l.Tags = append(l.Tags, xmlTag{Key: t.Key, Value: t.Value})
	}
	return l
}

func clusterXML(r *sim.Region, c *sim.Cluster) xmlDBCluster {
	x := xmlDBCluster{
		DBClusterIdentifier: c.ID, DBClusterArn: c.ARN, DbClusterResourceId: c.ResourceID, Status: c.Status,
		Engine: sim.Engine, EngineVersion: c.EngineVersion, EngineMode: "provisioned",
		Endpoint: r.ClusterEndpoint(c.ID), ReaderEndpoint: r.ReaderEndpoint(c.ID), Port: 5432,
		HostedZoneId: "Z2R2ITUGPM61AM", ClusterCreateTime: c.CreateTime.UTC(), StorageEncrypted: true,
		TagList: tagsXML(c.Tags),
	}
	azs := map[string]bool{}
	for _, id := range c.Members {
		in := r.Instances[id]
		if in == nil {
			continue
		}
		azs[in.AZ] = true
		x.DBClusterMembers = append(x.DBClusterMembers, xmlClusterMember{
			DBInstanceIdentifier: id, IsClusterWriter: id == c.Writer, PromotionTier: in.Tier, DBClusterParameterGroupStatus: "in-sync",
		})
	}
	x.MultiAZ = len(azs) > 1
	for az := range azs {
		x.AvailabilityZones = append(x.AvailabilityZones, az)
	}
	sort.Strings(x.AvailabilityZones)
	if len(c.CustomEndpoints) > 0 {
		x.CustomEndpoints = &xmlStringList{}
		for _, id := range sortedKeys(c.CustomEndpoints) {
			x.CustomEndpoints.Members = append(x.CustomEndpoints.Members, r.CustomEndpointName(id))
		}
	}
	if c.Serverless != nil {
		x.ServerlessV2 = &xmlServerlessV2{MinCapacity: c.Serverless.Min, MaxCapacity: c.Serverless.Max}
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

func instanceXML(r *sim.Region, in *sim.Instance) xmlDBInstance {
	x := xmlDBInstance{
		DBInstanceIdentifier: in.ID, DBInstanceArn: in.ARN, DbiResourceId: in.ResourceID, DBInstanceClass: in.Class,
		Engine: sim.Engine, EngineVersion: in.Cluster.EngineVersion, DBInstanceStatus: in.Status, AvailabilityZone: in.AZ,
		PromotionTier: in.Tier, DBClusterIdentifier: in.Cluster.ID, StorageType: "aurora", TagList: tagsXML(in.Tags),
	}
	// AWS assigns the endpoint and creation time once the instance exists.
	if in.Status != sim.StatusCreating {
		x.Endpoint = &xmlEndpoint{Address: r.InstanceEndpoint(in.ID), Port: 5432, HostedZoneId: "Z2R2ITUGPM61AM"}
		t := in.CreateTime.UTC()
		x.InstanceCreateTime = &t
	}
	return x
}

func (b *backend) describeDBClusters(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	filters, err := filterSet(p, "db-cluster-id", "db-cluster-resource-id", "engine", "clone-group-id", "domain")
	if err != nil {
		return nil, err
	}
	id := p.String("DBClusterIdentifier")
	var out describeClustersResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.Cluster
		for _, cl := range r.SortedClusters() {
			if id != "" && id != cl.ID && id != cl.ARN {
				continue
			}
			if !matchAny(filters["db-cluster-id"], cl.ID, cl.ARN) || !matchAny(filters["engine"], sim.Engine) ||
				!matchAny(filters["db-cluster-resource-id"], cl.ResourceID) {
				continue
			}
			list = append(list, cl)
		}
		if id != "" && len(list) == 0 {
			return errClusterNotFound(id)
		}
		page, err := paging(p, len(list))
		if err != nil {
			return err
		}
		for _, cl := range list[page.Start:page.End] {
			out.DBClusters = append(out.DBClusters, clusterXML(r, cl))
		}
		out.Marker = page.Next
		return nil
	})
	return out, err
}

func (b *backend) describeDBInstances(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	filters, err := filterSet(p, "db-cluster-id", "db-instance-id", "dbi-resource-id", "engine", "domain")
	if err != nil {
		return nil, err
	}
	id := p.String("DBInstanceIdentifier")
	var out describeInstancesResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		var list []*sim.Instance
		for _, in := range r.SortedInstances() {
			if id != "" && id != in.ID && id != in.ARN {
				continue
			}
			if !matchAny(filters["db-cluster-id"], in.Cluster.ID, in.Cluster.ARN) || !matchAny(filters["db-instance-id"], in.ID, in.ARN) ||
				!matchAny(filters["dbi-resource-id"], in.ResourceID) || !matchAny(filters["engine"], sim.Engine) {
				continue
			}
			list = append(list, in)
		}
		if id != "" && len(list) == 0 {
			return errInstanceNotFound(id)
		}
		page, err := paging(p, len(list))
		if err != nil {
			return err
		}
		for _, in := range list[page.Start:page.End] {
			out.DBInstances = append(out.DBInstances, instanceXML(r, in))
		}
		out.Marker = page.Next
		return nil
	})
	return out, err
}

func (b *backend) describeDBProxies(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	if _, err := filterSet(p); err != nil {
		return nil, err
	}
	name := p.String("DBProxyName")
	var out describeProxiesResult
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
		page, err := paging(p, len(list))
		if err != nil {
			return err
		}
		for _, px := range list[page.Start:page.End] {
			out.DBProxies = append(out.DBProxies, xmlDBProxy{
				DBProxyName: px.Name, DBProxyArn: px.ARN, Status: px.Status, EngineFamily: "POSTGRESQL",
				Endpoint: r.ProxyEndpoint(px.Name), RequireTLS: true, IdleClientTimeout: 1800,
				VpcId: "vpc-0a1b2c3d4e5f60718", CreatedDate: px.CreateTime.UTC(), UpdatedDate: px.CreateTime.UTC(),
			})
		}
		out.Marker = page.Next
		return nil
	})
	return out, err
}

func (b *backend) describeDBProxyTargets(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	name, err := p.Required("DBProxyName")
	if err != nil {
		return nil, err
	}
	tg := p.String("TargetGroupName")
	if tg == "" {
		tg = sim.ProxyTargetGroup
	}
	var out describeProxyTargetsResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		px := r.Proxies[name]
		if px == nil {
			return errProxyNotFound(name)
		}
		if tg != sim.ProxyTargetGroup {
			return errProxyTargetGroupNotFound(tg)
		}
		cl := px.Cluster
		targets := []xmlProxyTarget{{
			TargetArn: cl.ARN, Endpoint: r.ClusterEndpoint(cl.ID), RdsResourceId: cl.ID, Port: 5432, Type: "TRACKED_CLUSTER",
			TargetHealth: xmlTargetHealth{State: "AVAILABLE"},
		}}
		for _, id := range cl.Members {
			in := r.Instances[id]
			if in == nil {
				continue
			}
			role, health := "READ_ONLY", xmlTargetHealth{State: "AVAILABLE"}
			if id == cl.Writer {
				role = "READ_WRITE"
			}
			if in.Status != sim.StatusAvailable {
				health = xmlTargetHealth{State: "UNAVAILABLE", Reason: "CONNECTION_FAILED"}
			}
			targets = append(targets, xmlProxyTarget{
				TargetArn: in.ARN, Endpoint: r.InstanceEndpoint(id), TrackedClusterId: cl.ID, RdsResourceId: id,
				Port: 5432, Type: "RDS_INSTANCE", Role: role, TargetHealth: health,
			})
		}
		page, err := paging(p, len(targets))
		if err != nil {
			return err
		}
		out.Targets = targets[page.Start:page.End]
		out.Marker = page.Next
		return nil
	})
	return out, err
}

func (b *backend) describeDBClusterEndpoints(c sim.CallContext, p wire.Params) (any, *sim.APIError) {
	filters, err := filterSet(p, "db-cluster-endpoint-type", "db-cluster-endpoint-custom-type", "db-cluster-endpoint-id", "db-cluster-endpoint-status")
	if err != nil {
		return nil, err
	}
	clusterID, endpointID := p.String("DBClusterIdentifier"), p.String("DBClusterEndpointIdentifier")
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
	var out describeEndpointsResult
	err = b.w.InRegion(c, func(r *sim.Region, now time.Time) *sim.APIError {
		if clusterID != "" && r.Clusters[clusterID] == nil {
			return errClusterNotFound(clusterID)
		}
		var list []xmlClusterEndpoint
		for _, cl := range r.SortedClusters() {
			if clusterID != "" && cl.ID != clusterID {
				continue
			}
			all := []xmlClusterEndpoint{
				{DBClusterEndpointIdentifier: cl.ID, DBClusterIdentifier: cl.ID, Endpoint: r.ClusterEndpoint(cl.ID), Status: "available", EndpointType: "WRITER"},
				{DBClusterEndpointIdentifier: cl.ID, DBClusterIdentifier: cl.ID, Endpoint: r.ReaderEndpoint(cl.ID), Status: "available", EndpointType: "READER"},
			}
			for _, id := range sortedKeys(cl.CustomEndpoints) {
				all = append(all, customEndpointXML(r, cl, id))
			}
			for _, e := range all {
				if endpointID != "" && e.DBClusterEndpointIdentifier != endpointID || e.EndpointType != "CUSTOM" && endpointID != "" {
					continue
				}
				if !matchAny(lower(filters["db-cluster-endpoint-type"]), strings.ToLower(e.EndpointType)) ||
					!matchAny(lower(filters["db-cluster-endpoint-custom-type"]), strings.ToLower(e.CustomEndpointType)) ||
					!matchAny(filters["db-cluster-endpoint-id"], e.DBClusterEndpointIdentifier) ||
					!matchAny(filters["db-cluster-endpoint-status"], e.Status) {
					continue
				}
				list = append(list, e)
			}
		}
		if endpointID != "" && len(list) == 0 {
			return errEndpointNotFound(endpointID)
		}
		page, err := paging(p, len(list))
		if err != nil {
			return err
		}
		out.Endpoints = list[page.Start:page.End]
		out.Marker = page.Next
		return nil
	})
	return out, err
}

func customEndpointXML(r *sim.Region, cl *sim.Cluster, id string) xmlClusterEndpoint {
	ce := cl.CustomEndpoints[id]
	return xmlClusterEndpoint{
		DBClusterEndpointIdentifier: id, DBClusterIdentifier: cl.ID, Endpoint: r.CustomEndpointName(id),
		DBClusterEndpointResourceIdentifier: "cluster-endpoint-" + strings.ToLower(id),
		Status:                              ce.Status, EndpointType: "CUSTOM", CustomEndpointType: ce.Type,
		StaticMembers: xmlStringList{Members: ce.Static}, ExcludedMembers: xmlStringList{Members: ce.Excluded},
		DBClusterEndpointArn: r.ARN("rds", "cluster-endpoint:"+id),
	}
}
