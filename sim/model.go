package sim

import (
	"fmt"
	"net/netip"
	"time"
)

const (
	DefaultAccountID = "123456789012"
	DefaultRegion    = "us-east-1"
	ServerlessClass  = "db.serverless"
	// Aurora's two engines; a scenario's cluster runs one of them.
	EnginePostgreSQL = "aurora-postgresql"
	EngineMySQL      = "aurora-mysql"
	// MaxReaders is Aurora's hard limit of readers per cluster.
	MaxReaders = 15
)

// Instance statuses as the RDS API reports them.
const (
	StatusCreating     = "creating"
	StatusAvailable    = "available"
	StatusDeleting     = "deleting"
	StatusFailed       = "failed"
	StatusRebooting    = "rebooting"
	StatusModifying    = "modifying"
	ClusterFailingOver = "failing-over"
)

// Region holds the regional resources of one account.
type Region struct {
	Account string
	Name    string
	// Hash is the per account and region token AWS puts in endpoint names
	// (cluster-<hash>.<region>.rds.amazonaws.com).
	Hash string

	Clusters      map[string]*Cluster
	Instances     map[string]*Instance
	Proxies       map[string]*Proxy
	ASGs          map[string]*AutoScalingGroup
	TargetGroups  map[string]*TargetGroup // by name
	LoadBalancers map[string]*LoadBalancer
	Metrics       *MetricStore
	// Monitoring holds Enhanced Monitoring documents and Performance
	// Insights samples, by DbiResourceId (kept after the instance goes,
	// until they age out).
	Monitoring *MonitoringStore
	nextIP     uint32
	seq        int
}

// AccountState holds one account's regions and global resources.
type AccountState struct {
	ID          string
	Regions     map[string]*Region
	HostedZones map[string]*HostedZone // by zone id
	Changes     map[string]*Change
	Roles       map[string]bool
}

type Tag struct {
	Key, Value string
}

type Cluster struct {
	ID              string
	ARN             string
	ResourceID      string
	Region          *Region
	Engine          string // aurora-postgresql or aurora-mysql
	EngineVersion   string
	Status          string
	CreateTime      time.Time
	Serverless      *ACURange // nil for provisioned-only clusters
	Members         []string  // instance ids, creation order
	Writer          string    // the API's writer
	Tags            []Tag
	CustomEndpoints map[string]*CustomEndpoint
	Traffic         *Traffic
	Proxy           *Proxy
	ASGs            []*AutoScalingGroup
	// Defaults for new instances (scenario or Aurora's cluster-level
	// monitoring settings): Enhanced Monitoring interval, Performance
	// Insights.
	MonitoringInterval  int
	PerformanceInsights bool

	// DNS state: what the endpoints resolve to, which lags the API.
	DNSWriter       string
	DNSReaders      []string             // round-robin order
	lingering       map[string]time.Time // deleted readers still in round robin until
	dnsWriterSwitch time.Time            // when DNSWriter catches up after a failover
	rrCursor        map[string]int       // per endpoint name

	// App is the application the traffic curve drives.
	App *Application
}

type CustomEndpoint struct {
	ID       string
	Type     string
	Static   []string
	Excluded []string
	Status   string
}

type Instance struct {
	ID          string
	ARN         string
	ResourceID  string
	Cluster     *Cluster
	Class       string
	AZ          string
	Tier        int
	Status      string
	CreateTime  time.Time
	AvailableAt time.Time // creating -> available
	GoneAt      time.Time // deleting -> removed
	Tags        []Tag
	IP          netip.Addr
	// RefusesWritesUntil marks an old writer during a failover's DNS window.
	RefusesWritesUntil time.Time
	// MonitoringInterval is Enhanced Monitoring's granularity in seconds
	// (0: off); PerformanceInsights turns Performance Insights on.
	MonitoringInterval  int
	PerformanceInsights bool

	// Live model outputs, recomputed every tick.
	ACU          float64 // Serverless v2 current capacity
	CPU          float64 // percent
	Connections  float64
	ReadLatency  float64 // seconds
	WriteLatency float64 // seconds
	ReadQPS      float64
	WriteQPS     float64
	// Util is demand / capacity (unbounded: above 1 when saturated);
	// CapacityACU the capacity it was measured against.
	Util        float64
	CapacityACU float64
	// Load averages (active sessions, exponentially smoothed over 1, 5
	// and 15 minutes as the kernel does) and the next Enhanced
	// Monitoring document's time.
	load1, load5, load15 float64
	nextOSDoc            time.Time
}

func (i *Instance) Serverless() bool { return i.Class == ServerlessClass }

func (i *Instance) IsWriter() bool { return i.Cluster != nil && i.Cluster.Writer == i.ID }

type Proxy struct {
	Name           string
	ARN            string
	Region         *Region
	Cluster        *Cluster
	Status         string
	CreateTime     time.Time
	PinnedFraction float64
	Multiplexing   float64
	Tags           []Tag

	ClientConnections   float64
	DatabaseConnections float64
	PinnedConnections   float64
}

// ProxyTargetGroup is the single target group RDS Proxy creates.
const ProxyTargetGroup = "default"

type AutoScalingGroup struct {
	Name         string
	ARN          string
	Region       *Region
	Cluster      *Cluster
	Tier         string
	Min, Max     int
	Desired      int
	Instances    []*ASGInstance
	TargetGroups []*TargetGroup
	Scheduled    map[string]*ScheduledAction
	// Activities are capacity changes, newest last (the last 100 are
	// kept; DescribeScalingActivities lists them newest first).
	Activities   []ScalingActivity
	RequestShare float64
	Tags         []Tag
	CreateTime   time.Time

	CPU                 float64 // average over InService instances
	RequestsPerInstance float64 // per minute
}

// ScalingActivity is one capacity change of a group, worded as EC2 Auto
// Scaling words its Cause.
type ScalingActivity struct {
	ID          string
	Description string
	Cause       string
	Start, End  time.Time
}

// RecordCapacityChange appends an activity for a desired capacity change
// (lock held); by is "a user request explicitly set group desired
// capacity" or a scheduled action's wording.
func (g *AutoScalingGroup) RecordCapacityChange(now time.Time, by string, from, to int) {
	if from == to {
		return
	}
	g.Activities = append(g.Activities, ScalingActivity{
		ID:          resourceUUID(fmt.Sprintf("%s/%d/%d", g.ARN, now.UnixNano(), len(g.Activities))),
		Description: fmt.Sprintf("Setting desired capacity from %d to %d", from, to),
		Cause:       fmt.Sprintf("At %s %s changing the desired capacity from %d to %d.", now.UTC().Format("2006-01-02T15:04:05Z"), by, from, to),
		Start:       now, End: now,
	})
	if n := len(g.Activities); n > 100 {
		g.Activities = append(g.Activities[:0], g.Activities[n-100:]...)
	}
}

type ASGInstance struct {
	ID             string
	AZ             string
	LifecycleState string // Pending, InService, Terminating
	Health         string
	LaunchedAt     time.Time
	ReadyAt        time.Time
}

type ScheduledAction struct {
	Name      string
	ARN       string
	Group     string
	StartTime time.Time
	EndTime   time.Time
	Min       *int
	Max       *int
	Desired   *int
	Done      bool
}

type LoadBalancer struct {
	Name string
	ARN  string
	DNS  string
}

type TargetGroup struct {
	Name                    string
	ARN                     string
	LoadBalancer            *LoadBalancer
	Port                    int
	Protocol                string
	ASG                     *AutoScalingGroup
	RequestsPerTargetMinute float64
}

// Dimension value AWS/ApplicationELB uses: targetgroup/<name>/<id>.
func (t *TargetGroup) MetricDimension() string { return arnSuffix(t.ARN, "targetgroup/") }

// MetricDimension for a load balancer: app/<name>/<id>.
func (l *LoadBalancer) MetricDimension() string { return arnSuffix(l.ARN, "app/") }

type HostedZone struct {
	ID        string // Z...
	Name      string // fully qualified, trailing dot
	Private   bool
	Comment   string
	CallerRef string
	Records   []*RecordSet // API view, sorted as Route 53 lists them
	// Served is what DNS answers: the API view as of the newest change
	// that has propagated (INSYNC).
	Served []*RecordSet
}

type RecordSet struct {
	Name          string
	Type          string
	TTL           int64
	Values        []string
	SetIdentifier string
	Weight        *int64
	AliasTarget   *AliasTarget
}

type AliasTarget struct {
	HostedZoneID         string
	DNSName              string
	EvaluateTargetHealth bool
}

// Change is a Route 53 change batch; it becomes visible in DNS and INSYNC
// after the propagation delay.
type Change struct {
	ID          string
	SubmittedAt time.Time
	InSyncAt    time.Time
	Comment     string
	Zone        *HostedZone
	snapshot    []*RecordSet // zone's records after this change
	applied     bool
}

// Traffic is a fleet's user curve, evaluated on the simulated clock.
type Traffic struct {
	Def TrafficDef
	T0  time.Time
	// Override, when set, replaces the curve (admin API: set users now).
	Override *float64
	Users    float64 // current
}

func arnSuffix(arn, marker string) string {
	for i := 0; i+len(marker) <= len(arn); i++ {
		if arn[i:i+len(marker)] == marker {
			return arn[i:]
		}
	}
	return arn
}

// DefaultEngineVersion is the version a scenario's cluster runs when it
// names none: a current release of each engine.
func DefaultEngineVersion(engine string) string {
	if engine == EngineMySQL {
		return "8.0.mysql_aurora.3.08.0"
	}
	return "16.4"
}

// EnginePort is the engine's default port, as RDS reports it.
func EnginePort(engine string) int32 {
	if engine == EngineMySQL {
		return 3306
	}
	return 5432
}

// EngineFamily is RDS Proxy's name for the engine (MYSQL, POSTGRESQL).
func EngineFamily(engine string) string {
	if engine == EngineMySQL {
		return "MYSQL"
	}
	return "POSTGRESQL"
}

// ValidMonitoringInterval is RDS's set of Enhanced Monitoring intervals
// (seconds; 0 turns it off).
func ValidMonitoringInterval(s int) bool {
	switch s {
	case 0, 1, 5, 10, 15, 30, 60:
		return true
	}
	return false
}

// EnhancedMonitoringLogGroup is where RDS delivers Enhanced Monitoring
// documents; each instance writes the stream named by its DbiResourceId.
const EnhancedMonitoringLogGroup = "RDSOSMetrics"

// EnhancedMonitoringARN is the ARN of an instance's Enhanced Monitoring
// stream (its EnhancedMonitoringResourceArn), by DbiResourceId.
func EnhancedMonitoringARN(r *Region, resourceID string) string {
	return r.ARN("logs", "log-group:"+EnhancedMonitoringLogGroup+":log-stream:"+resourceID)
}

// PIKMSKeyID is the region's AWS-managed key id Performance Insights data
// is encrypted with (reported, never used).
func PIKMSKeyID(r *Region) string { return resourceUUID("pi-kms/" + r.Account + "/" + r.Name) }
