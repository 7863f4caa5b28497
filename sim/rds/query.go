package rds

import (
	"fmt"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/wire"
)

// The awsQuery codec of RDS (2014-10-31): form parameters in, XML out, as
// the SDK's awsQuery deserializer reads them: named list members
// (DBCluster, Tag, ...) where the service model names them, "member"
// elsewhere.

func queryOps(b *backend) map[string]wire.QueryOp {
	return map[string]wire.QueryOp{
		"DescribeDBClusters":         wire.Op(decodeDescribeDBClusters, b.DescribeDBClusters, encodeDescribeDBClusters),
		"DescribeDBInstances":        wire.Op(decodeDescribeDBInstances, b.DescribeDBInstances, encodeDescribeDBInstances),
		"DescribeDBProxies":          wire.Op(decodeDescribeDBProxies, b.DescribeDBProxies, encodeDescribeDBProxies),
		"DescribeDBProxyTargets":     wire.Op(decodeDescribeDBProxyTargets, b.DescribeDBProxyTargets, encodeDescribeDBProxyTargets),
		"DescribeDBClusterEndpoints": wire.Op(decodeDescribeDBClusterEndpoints, b.DescribeDBClusterEndpoints, encodeDescribeDBClusterEndpoints),
		"CreateDBInstance":           wire.Op(decodeCreateDBInstance, b.CreateDBInstance, encodeInstanceOutput),
		"DeleteDBInstance":           wire.Op(decodeDeleteDBInstance, b.DeleteDBInstance, encodeInstanceOutput),
		"ModifyDBCluster":            wire.Op(decodeModifyDBCluster, b.ModifyDBCluster, encodeClusterOutput),
		"ModifyDBInstance":           wire.Op(decodeModifyDBInstance, b.ModifyDBInstance, encodeInstanceOutput),
		"FailoverDBCluster":          wire.Op(decodeFailoverDBCluster, b.FailoverDBCluster, encodeClusterOutput),
		"AddTagsToResource":          wire.Op(decodeAddTagsToResource, b.AddTagsToResource, nil),
		"RemoveTagsFromResource":     wire.Op(decodeRemoveTagsFromResource, b.RemoveTagsFromResource, nil),
		"ListTagsForResource":        wire.Op(decodeListTagsForResource, b.ListTagsForResource, encodeListTagsForResource),
		"ModifyDBClusterEndpoint":    wire.Op(decodeModifyDBClusterEndpoint, b.ModifyDBClusterEndpoint, encodeModifyDBClusterEndpoint),
	}
}

// Decoders.

func decodeFilters(p wire.Params) []Filter {
	var out []Filter
	for _, f := range p.Filters("Filters.Filter", "Values.Value") {
		out = append(out, Filter{Name: f.Name, Values: f.Values})
	}
	return out
}

func decodePaging(p wire.Params) (Paging, *sim.APIError) {
	n, _, err := p.Int("MaxRecords")
	return Paging{MaxRecords: int(n), Marker: p.String("Marker")}, err
}

// decodeTags reads Tags.Tag.N.Key/Value.
func decodeTags(p wire.Params) []sim.Tag {
	var tags []sim.Tag
	for _, i := range p.Indexes("Tags.Tag") {
		tags = append(tags, sim.Tag{Key: p.String(fmt.Sprintf("Tags.Tag.%d.Key", i)), Value: p.String(fmt.Sprintf("Tags.Tag.%d.Value", i))})
	}
	return tags
}

func decodeDescribeDBClusters(p wire.Params) (*DescribeDBClustersInput, *sim.APIError) {
	pg, err := decodePaging(p)
	return &DescribeDBClustersInput{DBClusterIdentifier: p.String("DBClusterIdentifier"), Filters: decodeFilters(p), Paging: pg}, err
}

func decodeDescribeDBInstances(p wire.Params) (*DescribeDBInstancesInput, *sim.APIError) {
	pg, err := decodePaging(p)
	return &DescribeDBInstancesInput{DBInstanceIdentifier: p.String("DBInstanceIdentifier"), Filters: decodeFilters(p), Paging: pg}, err
}

func decodeDescribeDBProxies(p wire.Params) (*DescribeDBProxiesInput, *sim.APIError) {
	pg, err := decodePaging(p)
	return &DescribeDBProxiesInput{DBProxyName: p.String("DBProxyName"), Filters: decodeFilters(p), Paging: pg}, err
}

func decodeDescribeDBProxyTargets(p wire.Params) (*DescribeDBProxyTargetsInput, *sim.APIError) {
	pg, err := decodePaging(p)
	return &DescribeDBProxyTargetsInput{DBProxyName: p.String("DBProxyName"), TargetGroupName: p.String("TargetGroupName"), Paging: pg}, err
}

func decodeDescribeDBClusterEndpoints(p wire.Params) (*DescribeDBClusterEndpointsInput, *sim.APIError) {
	pg, err := decodePaging(p)
	return &DescribeDBClusterEndpointsInput{DBClusterIdentifier: p.String("DBClusterIdentifier"),
		DBClusterEndpointIdentifier: p.String("DBClusterEndpointIdentifier"), Filters: decodeFilters(p), Paging: pg}, err
}

func decodeCreateDBInstance(p wire.Params) (*CreateDBInstanceInput, *sim.APIError) {
	tier, err := p.OptionalInt("PromotionTier")
	if err != nil {
		return nil, err
	}
	interval, err := p.OptionalInt("MonitoringInterval")
	if err != nil {
		return nil, err
	}
	pi, err := p.OptionalBool("EnablePerformanceInsights")
	if err != nil {
		return nil, err
	}
	return &CreateDBInstanceInput{
		DBInstanceIdentifier: p.String("DBInstanceIdentifier"), DBInstanceClass: p.String("DBInstanceClass"), Engine: p.String("Engine"),
		DBClusterIdentifier: p.String("DBClusterIdentifier"), AvailabilityZone: p.String("AvailabilityZone"),
		PromotionTier: tier, Tags: decodeTags(p), MonitoringInterval: interval, MonitoringRoleARN: p.String("MonitoringRoleArn"),
		EnablePerformanceInsights: pi,
	}, nil
}

func decodeDeleteDBInstance(p wire.Params) (*DeleteDBInstanceInput, *sim.APIError) {
	return &DeleteDBInstanceInput{DBInstanceIdentifier: p.String("DBInstanceIdentifier")}, nil
}

func decodeModifyDBCluster(p wire.Params) (*ModifyDBClusterInput, *sim.APIError) {
	in := &ModifyDBClusterInput{DBClusterIdentifier: p.String("DBClusterIdentifier")}
	var err *sim.APIError
	if in.MinCapacity, err = p.OptionalFloat("ServerlessV2ScalingConfiguration.MinCapacity"); err != nil {
		return nil, err
	}
	in.MaxCapacity, err = p.OptionalFloat("ServerlessV2ScalingConfiguration.MaxCapacity")
	return in, err
}

func decodeModifyDBInstance(p wire.Params) (*ModifyDBInstanceInput, *sim.APIError) {
	tier, err := p.OptionalInt("PromotionTier")
	return &ModifyDBInstanceInput{DBInstanceIdentifier: p.String("DBInstanceIdentifier"), PromotionTier: tier, DBInstanceClass: p.String("DBInstanceClass")}, err
}

func decodeFailoverDBCluster(p wire.Params) (*FailoverDBClusterInput, *sim.APIError) {
	return &FailoverDBClusterInput{DBClusterIdentifier: p.String("DBClusterIdentifier"), TargetDBInstanceIdentifier: p.String("TargetDBInstanceIdentifier")}, nil
}

func decodeAddTagsToResource(p wire.Params) (*AddTagsToResourceInput, *sim.APIError) {
	return &AddTagsToResourceInput{ResourceName: p.String("ResourceName"), Tags: decodeTags(p)}, nil
}

func decodeRemoveTagsFromResource(p wire.Params) (*RemoveTagsFromResourceInput, *sim.APIError) {
	return &RemoveTagsFromResourceInput{ResourceName: p.String("ResourceName"), TagKeys: p.List("TagKeys.member")}, nil
}

func decodeListTagsForResource(p wire.Params) (*ListTagsForResourceInput, *sim.APIError) {
	if len(p.Indexes("Filters.Filter")) > 0 {
		return nil, sim.ErrInvalidParameterValue("ListTagsForResource: Filters is not supported")
	}
	return &ListTagsForResourceInput{ResourceName: p.String("ResourceName")}, nil
}

func decodeModifyDBClusterEndpoint(p wire.Params) (*ModifyDBClusterEndpointInput, *sim.APIError) {
	return &ModifyDBClusterEndpointInput{
		DBClusterEndpointIdentifier: p.String("DBClusterEndpointIdentifier"), EndpointType: p.String("EndpointType"),
		StaticMembers: p.OptionalList("StaticMembers", "member"), ExcludedMembers: p.OptionalList("ExcludedMembers", "member"),
	}, nil
}

// XML shapes.

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlTagList struct {
	Tags []xmlTag `xml:"Tag"`
}

type xmlStringList struct {
	Members []string `xml:"member"`
}

type xmlServerlessV2 struct {
	MinCapacity float64 `xml:"MinCapacity"`
	MaxCapacity float64 `xml:"MaxCapacity"`
}

type xmlClusterMember struct {
	DBInstanceIdentifier          string `xml:"DBInstanceIdentifier"`
	IsClusterWriter               bool   `xml:"IsClusterWriter"`
	PromotionTier                 int    `xml:"PromotionTier"`
	DBClusterParameterGroupStatus string `xml:"DBClusterParameterGroupStatus"`
}

type xmlDBCluster struct {
	DBClusterIdentifier string             `xml:"DBClusterIdentifier"`
	DBClusterArn        string             `xml:"DBClusterArn"`
	DbClusterResourceId string             `xml:"DbClusterResourceId"`
	Status              string             `xml:"Status"`
	Engine              string             `xml:"Engine"`
	EngineVersion       string             `xml:"EngineVersion"`
	EngineMode          string             `xml:"EngineMode"`
	Endpoint            string             `xml:"Endpoint"`
	ReaderEndpoint      string             `xml:"ReaderEndpoint"`
	CustomEndpoints     *xmlStringList     `xml:"CustomEndpoints,omitempty"`
	Port                int                `xml:"Port"`
	MultiAZ             bool               `xml:"MultiAZ"`
	HostedZoneId        string             `xml:"HostedZoneId"`
	AvailabilityZones   []string           `xml:"AvailabilityZones>AvailabilityZone"`
	ClusterCreateTime   wire.Timestamp     `xml:"ClusterCreateTime"`
	DBClusterMembers    []xmlClusterMember `xml:"DBClusterMembers>DBClusterMember"`
	ServerlessV2        *xmlServerlessV2   `xml:"ServerlessV2ScalingConfiguration,omitempty"`
	StorageEncrypted    bool               `xml:"StorageEncrypted"`
	MonitoringInterval  int                `xml:"MonitoringInterval"`
	PerformanceInsights bool               `xml:"PerformanceInsightsEnabled"`
	TagList             xmlTagList         `xml:"TagList"`
}

type xmlEndpoint struct {
	Address      string `xml:"Address"`
	Port         int    `xml:"Port"`
	HostedZoneId string `xml:"HostedZoneId"`
}

type xmlDBInstance struct {
	DBInstanceIdentifier               string          `xml:"DBInstanceIdentifier"`
	DBInstanceArn                      string          `xml:"DBInstanceArn"`
	DbiResourceId                      string          `xml:"DbiResourceId"`
	DBInstanceClass                    string          `xml:"DBInstanceClass"`
	Engine                             string          `xml:"Engine"`
	EngineVersion                      string          `xml:"EngineVersion"`
	DBInstanceStatus                   string          `xml:"DBInstanceStatus"`
	Endpoint                           *xmlEndpoint    `xml:"Endpoint,omitempty"`
	AvailabilityZone                   string          `xml:"AvailabilityZone"`
	PromotionTier                      int             `xml:"PromotionTier"`
	DBClusterIdentifier                string          `xml:"DBClusterIdentifier"`
	InstanceCreateTime                 *wire.Timestamp `xml:"InstanceCreateTime,omitempty"`
	PubliclyAccessible                 bool            `xml:"PubliclyAccessible"`
	StorageType                        string          `xml:"StorageType"`
	MultiAZ                            bool            `xml:"MultiAZ"`
	MonitoringInterval                 int             `xml:"MonitoringInterval"`
	MonitoringRoleArn                  string          `xml:"MonitoringRoleArn,omitempty"`
	EnhancedMonitoringResourceArn      string          `xml:"EnhancedMonitoringResourceArn,omitempty"`
	PerformanceInsightsEnabled         bool            `xml:"PerformanceInsightsEnabled"`
	PerformanceInsightsKMSKeyId        string          `xml:"PerformanceInsightsKMSKeyId,omitempty"`
	PerformanceInsightsRetentionPeriod int             `xml:"PerformanceInsightsRetentionPeriod,omitempty"`
	TagList                            xmlTagList      `xml:"TagList"`
}

type xmlDBProxy struct {
	DBProxyName       string         `xml:"DBProxyName"`
	DBProxyArn        string         `xml:"DBProxyArn"`
	Status            string         `xml:"Status"`
	EngineFamily      string         `xml:"EngineFamily"`
	Endpoint          string         `xml:"Endpoint"`
	RequireTLS        bool           `xml:"RequireTLS"`
	IdleClientTimeout int            `xml:"IdleClientTimeout"`
	VpcId             string         `xml:"VpcId"`
	CreatedDate       wire.Timestamp `xml:"CreatedDate"`
	UpdatedDate       wire.Timestamp `xml:"UpdatedDate"`
}

type xmlTargetHealth struct {
	State  string `xml:"State"`
	Reason string `xml:"Reason,omitempty"`
}

type xmlProxyTarget struct {
	TargetArn        string          `xml:"TargetArn,omitempty"`
	Endpoint         string          `xml:"Endpoint,omitempty"`
	TrackedClusterId string          `xml:"TrackedClusterId,omitempty"`
	RdsResourceId    string          `xml:"RdsResourceId"`
	Port             int             `xml:"Port"`
	Type             string          `xml:"Type"`
	Role             string          `xml:"Role,omitempty"`
	TargetHealth     xmlTargetHealth `xml:"TargetHealth"`
}

type xmlClusterEndpoint struct {
	DBClusterEndpointIdentifier         string        `xml:"DBClusterEndpointIdentifier"`
	DBClusterIdentifier                 string        `xml:"DBClusterIdentifier"`
	DBClusterEndpointResourceIdentifier string        `xml:"DBClusterEndpointResourceIdentifier"`
	Endpoint                            string        `xml:"Endpoint"`
	Status                              string        `xml:"Status"`
	EndpointType                        string        `xml:"EndpointType"`
	CustomEndpointType                  string        `xml:"CustomEndpointType,omitempty"`
	StaticMembers                       xmlStringList `xml:"StaticMembers"`
	ExcludedMembers                     xmlStringList `xml:"ExcludedMembers"`
	DBClusterEndpointArn                string        `xml:"DBClusterEndpointArn,omitempty"`
}

type describeClustersResult struct {
	DBClusters []xmlDBCluster `xml:"DBClusters>DBCluster"`
	Marker     string         `xml:"Marker,omitempty"`
}

type describeInstancesResult struct {
	DBInstances []xmlDBInstance `xml:"DBInstances>DBInstance"`
	Marker      string          `xml:"Marker,omitempty"`
}

type describeProxiesResult struct {
	DBProxies []xmlDBProxy `xml:"DBProxies>member"`
	Marker    string       `xml:"Marker,omitempty"`
}

type describeProxyTargetsResult struct {
	Targets []xmlProxyTarget `xml:"Targets>member"`
	Marker  string           `xml:"Marker,omitempty"`
}

type describeEndpointsResult struct {
	Endpoints []xmlClusterEndpoint `xml:"DBClusterEndpoints>DBClusterEndpointList"`
	Marker    string               `xml:"Marker,omitempty"`
}

type clusterResult struct {
	DBCluster xmlDBCluster `xml:"DBCluster"`
}

type instanceResult struct {
	DBInstance xmlDBInstance `xml:"DBInstance"`
}

// Encoders.

func encodeTags(tags []sim.Tag) xmlTagList {
	var l xmlTagList
	for _, t := range tags {
		l.Tags = append(l.Tags, xmlTag{Key: t.Key, Value: t.Value})
	}
	return l
}

func encodeCluster(c DBCluster) xmlDBCluster {
	x := xmlDBCluster{
		DBClusterIdentifier: c.Identifier, DBClusterArn: c.ARN, DbClusterResourceId: c.ResourceID, Status: c.Status,
		Engine: c.Engine, EngineVersion: c.EngineVersion, EngineMode: c.EngineMode,
		Endpoint: c.Endpoint, ReaderEndpoint: c.ReaderEndpoint, Port: c.Port, MultiAZ: c.MultiAZ,
		HostedZoneId: c.HostedZoneID, AvailabilityZones: c.AvailabilityZones, ClusterCreateTime: wire.Timestamp(c.CreateTime),
		StorageEncrypted: c.StorageEncrypted, TagList: encodeTags(c.Tags),
		MonitoringInterval: c.MonitoringInterval, PerformanceInsights: c.PerformanceInsightsEnabled,
	}
	for _, m := range c.Members {
		x.DBClusterMembers = append(x.DBClusterMembers, xmlClusterMember{
			DBInstanceIdentifier: m.InstanceID, IsClusterWriter: m.IsWriter, PromotionTier: m.PromotionTier, DBClusterParameterGroupStatus: m.ParameterGroupStatus,
		})
	}
	if len(c.CustomEndpoints) > 0 {
		x.CustomEndpoints = &xmlStringList{Members: c.CustomEndpoints}
	}
	if c.ServerlessV2 != nil {
		x.ServerlessV2 = &xmlServerlessV2{MinCapacity: c.ServerlessV2.Min, MaxCapacity: c.ServerlessV2.Max}
	}
	return x
}

func encodeInstance(in DBInstance) xmlDBInstance {
	x := xmlDBInstance{
		DBInstanceIdentifier: in.Identifier, DBInstanceArn: in.ARN, DbiResourceId: in.ResourceID, DBInstanceClass: in.Class,
		Engine: in.Engine, EngineVersion: in.EngineVersion, DBInstanceStatus: in.Status, AvailabilityZone: in.AvailabilityZone,
		PromotionTier: in.PromotionTier, DBClusterIdentifier: in.ClusterID, InstanceCreateTime: wire.OptionalTimestamp(in.CreateTime),
		PubliclyAccessible: in.PubliclyAccessible, StorageType: in.StorageType, MultiAZ: in.MultiAZ, TagList: encodeTags(in.Tags),
		MonitoringInterval: in.MonitoringInterval, MonitoringRoleArn: in.MonitoringRoleARN, EnhancedMonitoringResourceArn: in.EnhancedMonitoringResourceARN,
		PerformanceInsightsEnabled: in.PerformanceInsightsEnabled, PerformanceInsightsKMSKeyId: in.PerformanceInsightsKMSKeyID,
		PerformanceInsightsRetentionPeriod: in.PerformanceInsightsRetentionPeriod,
	}
	if e := in.Endpoint; e != nil {
		x.Endpoint = &xmlEndpoint{Address: e.Address, Port: e.Port, HostedZoneId: e.HostedZoneID}
	}
	return x
}

func encodeClusterEndpoint(e ClusterEndpoint) xmlClusterEndpoint {
	return xmlClusterEndpoint{
		DBClusterEndpointIdentifier: e.Identifier, DBClusterIdentifier: e.ClusterID, DBClusterEndpointResourceIdentifier: e.ResourceID,
		Endpoint: e.Endpoint, Status: e.Status, EndpointType: e.Type, CustomEndpointType: e.CustomType,
		StaticMembers: xmlStringList{Members: e.StaticMembers}, ExcludedMembers: xmlStringList{Members: e.ExcludedMembers},
		DBClusterEndpointArn: e.ARN,
	}
}

type listTagsResult struct {
	TagList xmlTagList `xml:"TagList"`
}

func encodeListTagsForResource(out *ListTagsForResourceOutput) any {
	return listTagsResult{TagList: encodeTags(out.TagList)}
}

func encodeDescribeDBClusters(out *DescribeDBClustersOutput) any {
	res := describeClustersResult{Marker: out.Marker}
	for _, c := range out.DBClusters {
		res.DBClusters = append(res.DBClusters, encodeCluster(c))
	}
	return res
}

func encodeDescribeDBInstances(out *DescribeDBInstancesOutput) any {
	res := describeInstancesResult{Marker: out.Marker}
	for _, in := range out.DBInstances {
		res.DBInstances = append(res.DBInstances, encodeInstance(in))
	}
	return res
}

func encodeDescribeDBProxies(out *DescribeDBProxiesOutput) any {
	res := describeProxiesResult{Marker: out.Marker}
	for _, px := range out.DBProxies {
		res.DBProxies = append(res.DBProxies, xmlDBProxy{
			DBProxyName: px.Name, DBProxyArn: px.ARN, Status: px.Status, EngineFamily: px.EngineFamily, Endpoint: px.Endpoint,
			RequireTLS: px.RequireTLS, IdleClientTimeout: px.IdleClientTimeout, VpcId: px.VpcID,
			CreatedDate: wire.Timestamp(px.Created), UpdatedDate: wire.Timestamp(px.Updated),
		})
	}
	return res
}

func encodeDescribeDBProxyTargets(out *DescribeDBProxyTargetsOutput) any {
	res := describeProxyTargetsResult{Marker: out.Marker}
	for _, t := range out.Targets {
		res.Targets = append(res.Targets, xmlProxyTarget{
			TargetArn: t.TargetARN, Endpoint: t.Endpoint, TrackedClusterId: t.TrackedClusterID, RdsResourceId: t.RDSResourceID,
			Port: t.Port, Type: t.Type, Role: t.Role, TargetHealth: xmlTargetHealth{State: t.Health.State, Reason: t.Health.Reason},
		})
	}
	return res
}

func encodeDescribeDBClusterEndpoints(out *DescribeDBClusterEndpointsOutput) any {
	res := describeEndpointsResult{Marker: out.Marker}
	for _, e := range out.Endpoints {
		res.Endpoints = append(res.Endpoints, encodeClusterEndpoint(e))
	}
	return res
}

func encodeInstanceOutput(out *InstanceOutput) any {
	return instanceResult{DBInstance: encodeInstance(out.DBInstance)}
}

func encodeClusterOutput(out *ClusterOutput) any {
	return clusterResult{DBCluster: encodeCluster(out.DBCluster)}
}

func encodeModifyDBClusterEndpoint(out *ClusterEndpoint) any { return encodeClusterEndpoint(*out) }
