package rds

import "time"

// XML shapes of the RDS API (2014-10-31), as the SDK's awsQuery
// deserializer reads them: named list members (DBCluster, Tag, ...) where
// the service model names them, "member" elsewhere.

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
	ClusterCreateTime   time.Time          `xml:"ClusterCreateTime"`
	DBClusterMembers    []xmlClusterMember `xml:"DBClusterMembers>DBClusterMember"`
	ServerlessV2        *xmlServerlessV2   `xml:"ServerlessV2ScalingConfiguration,omitempty"`
	StorageEncrypted    bool               `xml:"StorageEncrypted"`
	TagList             xmlTagList         `xml:"TagList"`
}

type xmlEndpoint struct {
	Address      string `xml:"Address"`
	Port         int    `xml:"Port"`
	HostedZoneId string `xml:"HostedZoneId"`
}

type xmlDBInstance struct {
	DBInstanceIdentifier string       `xml:"DBInstanceIdentifier"`
	DBInstanceArn        string       `xml:"DBInstanceArn"`
	DbiResourceId        string       `xml:"DbiResourceId"`
	DBInstanceClass      string       `xml:"DBInstanceClass"`
	Engine               string       `xml:"Engine"`
	EngineVersion        string       `xml:"EngineVersion"`
	DBInstanceStatus     string       `xml:"DBInstanceStatus"`
	Endpoint             *xmlEndpoint `xml:"Endpoint,omitempty"`
	AvailabilityZone     string       `xml:"AvailabilityZone"`
	PromotionTier        int          `xml:"PromotionTier"`
	DBClusterIdentifier  string       `xml:"DBClusterIdentifier"`
	InstanceCreateTime   *time.Time   `xml:"InstanceCreateTime,omitempty"`
	PubliclyAccessible   bool         `xml:"PubliclyAccessible"`
	StorageType          string       `xml:"StorageType"`
	MultiAZ              bool         `xml:"MultiAZ"`
	TagList              xmlTagList   `xml:"TagList"`
}

type xmlDBProxy struct {
	DBProxyName       string    `xml:"DBProxyName"`
	DBProxyArn        string    `xml:"DBProxyArn"`
	Status            string    `xml:"Status"`
	EngineFamily      string    `xml:"EngineFamily"`
	Endpoint          string    `xml:"Endpoint"`
	RequireTLS        bool      `xml:"RequireTLS"`
	IdleClientTimeout int       `xml:"IdleClientTimeout"`
	VpcId             string    `xml:"VpcId"`
	CreatedDate       time.Time `xml:"CreatedDate"`
	UpdatedDate       time.Time `xml:"UpdatedDate"`
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
