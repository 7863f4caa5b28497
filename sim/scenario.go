package sim

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed scenarios/*.yaml
var embeddedScenarios embed.FS

// Scenario is one YAML file under sim/scenarios: the fleet, the traffic it
// receives, the model parameters and optional scheduled faults.
type Scenario struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Start       time.Time  `yaml:"start"` // simulated time at startup; zero means now
	Params      Params     `yaml:"params"`
	Accounts    []Account  `yaml:"accounts"`
	Fleets      []FleetDef `yaml:"fleets"`
	Faults      []FaultDef `yaml:"faults"`
}

// Params are the model's timings and constants. Every default is a figure
// from the field (docs/field.md) or a documented AWS value.
type Params struct {
	Seed                   int64         `yaml:"seed"`
	Tick                   time.Duration `yaml:"tick"`                    // model integration step
	ProvisioningDelay      time.Duration `yaml:"provisioning_delay"`      // creating -> available (field: 7-8 min)
	DeletionDelay          time.Duration `yaml:"deletion_delay"`          // deleting -> gone
	FailoverDNSWindowMin   time.Duration `yaml:"failover_dns_window_min"` // field: 10-15 s
	FailoverDNSWindowMax   time.Duration `yaml:"failover_dns_window_max"` //
	ReaderDNSLinger        time.Duration `yaml:"reader_dns_linger"`       // deleted reader stays in round robin
	PublicationDelay       time.Duration `yaml:"publication_delay"`       // CloudWatch datapoint lag
	MetricRetention        time.Duration `yaml:"metric_retention"`        // how much CloudWatch history is kept
	ASGLaunchDelay         time.Duration `yaml:"asg_launch_delay"`        // Pending -> InService
	Route53Propagation     time.Duration `yaml:"route53_propagation"`     // PENDING -> INSYNC, visible in DNS
	DNSTTL                 time.Duration `yaml:"dns_ttl"`                 // Aurora endpoints: 5 s
	ACUScaleUpFraction     float64       `yaml:"acu_scale_up_fraction"`   // per second, of current ACU
	ACUScaleDownPerSecond  float64       `yaml:"acu_scale_down_per_second"`
	ACUTargetUtilization   float64       `yaml:"acu_target_utilization"`     // CPU fraction Serverless v2 steers to
	QueriesPerACUSecond    float64       `yaml:"queries_per_acu_second"`     // capacity of one ACU at 100 % CPU
	BaseReadLatency        time.Duration `yaml:"base_read_latency"`          // at idle
	BaseWriteLatency       time.Duration `yaml:"base_write_latency"`         //
	BaseConnections        float64       `yaml:"base_connections"`           // per instance (monitoring, replication)
	ASGRequestsPerCPUPoint float64       `yaml:"asg_requests_per_cpu_point"` // req/min per instance per 1 % CPU
	// Enhanced Monitoring: a document reaches CloudWatch Logs this long
	// after its timestamp; documents older than the retention are dropped.
	EnhancedMonitoringDelay     time.Duration `yaml:"enhanced_monitoring_delay"`
	EnhancedMonitoringRetention time.Duration `yaml:"enhanced_monitoring_retention"`
	// Performance Insights: a datapoint is served this long after its
	// period ends; per-second samples older than the retention are dropped.
	PerformanceInsightsDelay     time.Duration `yaml:"performance_insights_delay"`
	PerformanceInsightsRetention time.Duration `yaml:"performance_insights_retention"`
}

// DefaultParams returns the field defaults.
func DefaultParams() Params {
	return Params{
		Seed:                   1,
		Tick:                   time.Second,
		ProvisioningDelay:      8 * time.Minute,
		DeletionDelay:          2 * time.Minute,
		FailoverDNSWindowMin:   10 * time.Second,
		FailoverDNSWindowMax:   15 * time.Second,
		ReaderDNSLinger:        60 * time.Second,
		PublicationDelay:       60 * time.Second,
		MetricRetention:        3 * time.Hour,
		ASGLaunchDelay:         3 * time.Minute,
		Route53Propagation:     5 * time.Second,
		DNSTTL:                 5 * time.Second,
		ACUScaleUpFraction:     0.5,
		ACUScaleDownPerSecond:  0.05,
		ACUTargetUtilization:   0.25,
		QueriesPerACUSecond:    100,
		BaseReadLatency:        500 * time.Microsecond,
		BaseWriteLatency:       time.Millisecond,
		BaseConnections:        3,
		ASGRequestsPerCPUPoint: 20,

		EnhancedMonitoringDelay:      2 * time.Second,
		EnhancedMonitoringRetention:  time.Hour,
		PerformanceInsightsDelay:     5 * time.Second,
		PerformanceInsightsRetention: time.Hour,
	}
}

// Account is a simulated AWS account. Requests signed with one of its
// access keys (or temporary keys from AssumeRole into one of its roles)
// see only its resources.
type Account struct {
	ID          string          `yaml:"id"`
	AccessKeys  []string        `yaml:"access_keys"`
	Roles       []string        `yaml:"roles"` // role names; AssumeRole into arn:aws:iam::<id>:role/<name>
	HostedZones []HostedZoneDef `yaml:"hosted_zones"`
}

type HostedZoneDef struct {
	Name string `yaml:"name"` // e.g. app.internal.
	// Region resolves ${reader_endpoint:<cluster>} and
	// ${cluster_endpoint:<cluster>} in record values (default us-east-1).
	Region  string      `yaml:"region"`
	Private bool        `yaml:"private"`
	Records []RecordDef `yaml:"records"`
}

type RecordDef struct {
	Name   string   `yaml:"name"`
	Type   string   `yaml:"type"`
	TTL    int64    `yaml:"ttl"`
	Values []string `yaml:"values"`
}

// FleetDef is one application stack: a cluster, its proxy, its ASGs and
// the traffic that drives them. Count > 1 stamps out copies (suffix -NNN)
// for benchmarks.
type FleetDef struct {
	Name    string     `yaml:"name"`
	Account string     `yaml:"account"`
	Region  string     `yaml:"region"`
	Count   int        `yaml:"count"`
	Cluster ClusterDef `yaml:"cluster"`
	Proxy   *ProxyDef  `yaml:"proxy"`
	ASGs    []ASGDef   `yaml:"asgs"`
	Traffic TrafficDef `yaml:"traffic"`
}

type ClusterDef struct {
	ID              string              `yaml:"id"`
	Engine          string              `yaml:"engine"` // aurora-postgresql (default) or aurora-mysql
	EngineVersion   string              `yaml:"engine_version"`
	ServerlessV2    *ACURange           `yaml:"serverless_v2"`
	Instances       []InstanceDef       `yaml:"instances"`
	CustomEndpoints []CustomEndpointDef `yaml:"custom_endpoints"`
	Tags            map[string]string   `yaml:"tags"`
	// Defaults for the cluster's instances, and for instances created
	// through the API without the parameters.
	MonitoringInterval  int  `yaml:"monitoring_interval"`  // Enhanced Monitoring seconds: 0 (off), 1, 5, 10, 15, 30, 60
	PerformanceInsights bool `yaml:"performance_insights"` // Performance Insights on
}

type ACURange struct {
	Min float64 `yaml:"min_acu"`
	Max float64 `yaml:"max_acu"`
}

type InstanceDef struct {
	ID     string            `yaml:"id"`
	Class  string            `yaml:"class"`
	Tier   int               `yaml:"tier"`
	AZ     string            `yaml:"az"`
	Writer bool              `yaml:"writer"`
	Tags   map[string]string `yaml:"tags"`
	// Override the cluster's monitoring defaults for this instance.
	MonitoringInterval  *int  `yaml:"monitoring_interval"`
	PerformanceInsights *bool `yaml:"performance_insights"`
}

type CustomEndpointDef struct {
	ID       string   `yaml:"id"`
	Type     string   `yaml:"type"` // READER, WRITER (reported as ANY by AWS for custom), ANY
	Static   []string `yaml:"static_members"`
	Excluded []string `yaml:"excluded_members"`
}

type ProxyDef struct {
	Name           string            `yaml:"name"`
	PinnedFraction float64           `yaml:"pinned_fraction"` // share of client connections that carry session state
	Multiplexing   float64           `yaml:"multiplexing"`    // database connections per unpinned client connection
	Tags           map[string]string `yaml:"tags"`
}

type ASGDef struct {
	Name         string            `yaml:"name"`
	Tier         string            `yaml:"tier"` // web or api: share of traffic and target req/min
	Min          int               `yaml:"min"`
	Max          int               `yaml:"max"`
	Desired      int               `yaml:"desired"`
	TargetGroup  string            `yaml:"target_group"`
	RequestShare float64           `yaml:"request_share"` // fraction of the fleet's HTTP requests
	Tags         map[string]string `yaml:"tags"`
}

// TrafficDef is the user curve (keyframes relative to the event start,
// linearly interpolated) and what each user does.
type TrafficDef struct {
	EventStart            time.Duration `yaml:"event_start"` // T0 relative to scenario start
	Keyframes             []Keyframe    `yaml:"keyframes"`
	ReadsPerUserSecond    float64       `yaml:"reads_per_user_second"`
	WritesPerUserSecond   float64       `yaml:"writes_per_user_second"`
	RequestsPerUserMinute float64       `yaml:"requests_per_user_minute"`
	ConnectionsPerUser    float64       `yaml:"connections_per_user"`
	ReadConnectionShare   float64       `yaml:"read_connection_share"` // of connections, through the reader endpoint
	// Repeat replays the curve every Repeat (between-event baseline,
	// then the next event); zero plays it once.
	Repeat time.Duration `yaml:"repeat"`
	// ReadEndpoint and WriteEndpoint are the names the application
	// connects to: a DNS name (a Route 53 record, an Aurora endpoint) or
	// ${reader_endpoint:<cluster>}, ${cluster_endpoint:<cluster>},
	// ${custom_endpoint:<id>} of the fleet's own cluster. Defaults: the
	// cluster's reader endpoint and cluster endpoint.
	ReadEndpoint  string `yaml:"read_endpoint"`
	WriteEndpoint string `yaml:"write_endpoint"`
	// AppClients is the application's pool of database clients, each
	// with its own DNS cache (default 100).
	AppClients int `yaml:"app_clients"`
}

type Keyframe struct {
	At    time.Duration `yaml:"at"` // relative to T0; negative before the event
	Users float64       `yaml:"users"`
}

// FaultDef is a fault switched on at At (relative to scenario start) for
// Duration (zero: until cleared).
type FaultDef struct {
	At       time.Duration `yaml:"at"`
	Duration time.Duration `yaml:"duration"`
	Fault    `yaml:",inline"`
}

// ScenarioSource is an embedded scenario's YAML, for tools that start
// aurora_sim with a variant of it.
func ScenarioSource(name string) (string, error) {
	data, err := embeddedScenarios.ReadFile("scenarios/" + name + ".yaml")
	if err != nil {
		return "", fmt.Errorf("unknown scenario %q (embedded: %s)", name, strings.Join(EmbeddedScenarios(), ", "))
	}
	return string(data), nil
}

// LoadScenario reads a scenario by embedded name (field-avalanche) or
// file path.
func LoadScenario(nameOrPath string) (*Scenario, error) {
	var data []byte
	var err error
	if !strings.ContainsAny(nameOrPath, "/.") {
		data, err = embeddedScenarios.ReadFile("scenarios/" + nameOrPath + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("unknown scenario %q (embedded: %s)", nameOrPath, strings.Join(EmbeddedScenarios(), ", "))
		}
	} else {
		data, err = os.ReadFile(nameOrPath)
		if err != nil {
			return nil, err
		}
	}
	return ParseScenario(data)
}

// EmbeddedScenarios lists the scenarios shipped in the binary.
func EmbeddedScenarios() []string {
	entries, _ := embeddedScenarios.ReadDir("scenarios")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// ParseScenario decodes strictly (unknown keys are errors, so a typo in a
// parameter never silently falls back to a default) and validates.
func ParseScenario(data []byte) (*Scenario, error) {
	s := &Scenario{Params: DefaultParams()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("scenario %q: %w", s.Name, err)
	}
	return s, nil
}

func (s *Scenario) validate() error {
	p := &s.Params
	if p.Tick <= 0 {
		return fmt.Errorf("params.tick must be positive")
	}
	if p.FailoverDNSWindowMax < p.FailoverDNSWindowMin {
		return fmt.Errorf("params.failover_dns_window_max below failover_dns_window_min")
	}
	if p.QueriesPerACUSecond <= 0 || p.ACUTargetUtilization <= 0 || p.ACUTargetUtilization > 1 {
		return fmt.Errorf("params.queries_per_acu_second must be > 0 and acu_target_utilization in (0,1]")
	}
	if p.EnhancedMonitoringDelay < 0 || p.EnhancedMonitoringRetention < time.Minute || p.PerformanceInsightsDelay < 0 || p.PerformanceInsightsRetention < 5*time.Minute {
		return fmt.Errorf("params: enhanced_monitoring_delay and performance_insights_delay must be >= 0, enhanced_monitoring_retention >= 1m, performance_insights_retention >= 5m")
	}
	if len(s.Accounts) == 0 {
		s.Accounts = []Account{{ID: DefaultAccountID}}
	}
	accounts := map[string]bool{}
	for _, a := range s.Accounts {
		if len(a.ID) != 12 || strings.Trim(a.ID, "0123456789") != "" {
			return fmt.Errorf("account id %q is not 12 digits", a.ID)
		}
		accounts[a.ID] = true
	}
	for i := range s.Fleets {
		f := &s.Fleets[i]
		if f.Account == "" {
			f.Account = s.Accounts[0].ID
		}
		if !accounts[f.Account] {
			return fmt.Errorf("fleet %q: account %s is not declared", f.Name, f.Account)
		}
		if f.Region == "" {
			f.Region = DefaultRegion
		}
		if f.Count == 0 {
			f.Count = 1
		}
		if f.Cluster.ID == "" {
			return fmt.Errorf("fleet %q: cluster.id is required", f.Name)
		}
		switch f.Cluster.Engine {
		case "":
			f.Cluster.Engine = EnginePostgreSQL
		case EnginePostgreSQL, EngineMySQL:
		default:
			return fmt.Errorf("cluster %q: engine %q is neither %s nor %s", f.Cluster.ID, f.Cluster.Engine, EnginePostgreSQL, EngineMySQL)
		}
		if !ValidMonitoringInterval(f.Cluster.MonitoringInterval) {
			return fmt.Errorf("cluster %q: monitoring_interval %d is not one of 0, 1, 5, 10, 15, 30, 60", f.Cluster.ID, f.Cluster.MonitoringInterval)
		}
		writers := 0
		for _, in := range f.Cluster.Instances {
			if in.MonitoringInterval != nil && !ValidMonitoringInterval(*in.MonitoringInterval) {
				return fmt.Errorf("instance %q: monitoring_interval %d is not one of 0, 1, 5, 10, 15, 30, 60", in.ID, *in.MonitoringInterval)
			}
			if in.Writer {
				writers++
			}
			if in.Class == "" {
				return fmt.Errorf("instance %q: class is required", in.ID)
			}
			if in.Class == ServerlessClass && f.Cluster.ServerlessV2 == nil {
				return fmt.Errorf("instance %q is db.serverless but cluster %q has no serverless_v2 range", in.ID, f.Cluster.ID)
			}
			if _, ok := classCapacityACU(in.Class); !ok && in.Class != ServerlessClass {
				return fmt.Errorf("instance %q: unknown class %q", in.ID, in.Class)
			}
		}
		if writers != 1 {
			return fmt.Errorf("cluster %q: exactly one instance must have writer: true (got %d)", f.Cluster.ID, writers)
		}
		if r := f.Cluster.ServerlessV2; r != nil {
			if err := validateACURange(r.Min, r.Max); err != nil {
				return fmt.Errorf("cluster %q: %s", f.Cluster.ID, err.Message)
			}
		}
		if n := f.Traffic.AppClients; n < 0 || n > maxAppClients {
			return fmt.Errorf("fleet %q: traffic.app_clients %d outside 1-%d (0 or absent: %d)", f.Name, n, maxAppClients, DefaultAppClients)
		}
		for _, e := range []struct{ key, v string }{{"read_endpoint", f.Traffic.ReadEndpoint}, {"write_endpoint", f.Traffic.WriteEndpoint}} {
			if err := validateAppEndpoint(*f, e.v); err != nil {
				return fmt.Errorf("fleet %q: traffic.%s: %w", f.Name, e.key, err)
			}
		}
		for j := 1; j < len(f.Traffic.Keyframes); j++ {
			if f.Traffic.Keyframes[j].At < f.Traffic.Keyframes[j-1].At {
				return fmt.Errorf("fleet %q: traffic keyframes must be in time order", f.Name)
			}
		}
	}
	return nil
}

// validateAppEndpoint checks a read_endpoint or write_endpoint's form;
// where it leads is checked when the world starts (New), against DNS.
func validateAppEndpoint(f FleetDef, v string) error {
	if v == "" {
		return nil
	}
	if kind, arg, ok := endpointPlaceholder(v); ok {
		switch kind {
		case "reader_endpoint", "cluster_endpoint":
			if arg != f.Cluster.ID {
				return fmt.Errorf("%q names cluster %q; an application reaches its own cluster %q", v, arg, f.Cluster.ID)
			}
		case "custom_endpoint":
			for _, ce := range f.Cluster.CustomEndpoints {
				if ce.ID == arg {
					return nil
				}
			}
			return fmt.Errorf("%q: cluster %q has no custom endpoint %q", v, f.Cluster.ID, arg)
		default:
			return fmt.Errorf("%q: unknown placeholder (want ${reader_endpoint:<cluster>}, ${cluster_endpoint:<cluster>} or ${custom_endpoint:<id>})", v)
		}
		return nil
	}
	if strings.ContainsAny(v, "${} \t") || !strings.Contains(strings.TrimSuffix(v, "."), ".") {
		return fmt.Errorf("%q is neither a DNS name nor an endpoint placeholder", v)
	}
	if f.Count > 1 {
		// Every copy would connect through the same record, so all but
		// one would reach a cluster that is not theirs.
		return fmt.Errorf("%q: a DNS name cannot serve a fleet with count %d; use a placeholder", v, f.Count)
	}
	return nil
}
