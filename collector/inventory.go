package collector

import "time"

// Scope is where a resource lives; account is the target's name or its
// account id, never empty.
type Scope struct {
	Account string
	Region  string
}

// Inventory is what discovery found: the fleet as the AWS APIs describe it.
type Inventory struct {
	FetchedAt time.Time
	Clusters  []*ClusterInfo
	Proxies   []*ProxyInfo
	ASGs      []*ASGInfo
	// Records are the Route 53 names to resolve, per scope of the target.
	Records []RecordInfo
}

type ClusterInfo struct {
	Scope
	ID              string
	Engine          string
	EngineVersion   string
	Status          string
	Endpoint        string // cluster (writer) endpoint
	ReaderEndpoint  string
	Serverless      bool
	MinACU, MaxACU  float64
	Writer          string // from DBClusterMembers
	Instances       []*InstanceInfo
	CustomEndpoints []*CustomEndpointInfo
}

// Instance looks a member up by identifier.
func (c *ClusterInfo) Instance(id string) *InstanceInfo {
	for _, in := range c.Instances {
		if in.ID == id {
			return in
		}
	}
	return nil
}

// AvailableReaders are the readers the reader endpoint should answer with.
func (c *ClusterInfo) AvailableReaders() []string {
	var out []string
	for _, in := range c.Instances {
		if in.Role == RoleReader && in.Status == "available" {
			out = append(out, in.ID)
		}
	}
	return out
}

const (
	RoleWriter = "writer"
	RoleReader = "reader"
)

type InstanceInfo struct {
	ID      string
	Class   string
	AZ      string
	Status  string
	Tier    int
	Role    string // writer or reader, from the cluster's members
	Address string // instance endpoint host name
	// ResourceID is the DbiResourceId: Enhanced Monitoring's log stream
	// and Performance Insights' identifier.
	ResourceID string
	// MonitoringInterval is Enhanced Monitoring's period in seconds (0: off).
	MonitoringInterval int
	// PerformanceInsights reports Performance Insights on.
	PerformanceInsights bool
}

// Serverless reports a Serverless v2 instance.
func (i *InstanceInfo) Serverless() bool { return i.Class == "db.serverless" }

type CustomEndpointInfo struct {
	ID       string
	Endpoint string
	Type     string
	Static   []string
	Excluded []string
}

type ProxyInfo struct {
	Scope
	Name         string
	Cluster      string
	TargetGroups []string
}

type ASGInfo struct {
	Scope
	Name         string
	Min, Max     int
	Desired      int
	InService    int
	TargetGroups []TargetGroupInfo
}

type TargetGroupInfo struct {
	Name string
	ARN  string
	// Dimension is the CloudWatch TargetGroup dimension value:
	// targetgroup/<name>/<id>, the ARN's resource part.
	Dimension string
}

type RecordInfo struct {
	Scope
	Name string
	// Cluster whose reader endpoint the record is expected to follow, when
	// it resolves into one (filled in by the DNS source).
}
