package collector

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aurora-surge/aurora-surge/internal/yamlconf"
)

// Config is the exporter's YAML configuration (--config.file). Every
// default is written down here, and unknown keys are errors, so a typo
// never silently falls back to a default.
type Config struct {
	Targets    []Target         `yaml:"targets"`
	Refresh    RefreshConfig    `yaml:"refresh"`
	CloudWatch CloudWatchConfig `yaml:"cloudwatch"`
	DNS        DNSConfig        `yaml:"dns"`
	// The fresh sources: per-second OS and DB load signals for the
	// instances that have the features on.
	EnhancedMonitoring  EnhancedMonitoringConfig  `yaml:"enhanced_monitoring"`
	PerformanceInsights PerformanceInsightsConfig `yaml:"performance_insights"`
}

// Target is one account and set of regions to watch.
type Target struct {
	Name       string   `yaml:"name"`     // label value for account; defaults to the account id from STS
	RoleARN    string   `yaml:"role_arn"` // assume this role (another account)
	ExternalID string   `yaml:"external_id"`
	Regions    []string `yaml:"regions"`
	Clusters   Selector `yaml:"clusters"`
	// Proxies and ASGs: by default the proxies whose targets are the
	// selected clusters, and no ASGs; select ASGs by name or tag.
	Proxies Selector `yaml:"proxies"`
	ASGs    Selector `yaml:"asgs"`
	// Route53Records are names the applications connect to (for example
	// the read record the scaler repoints during scale-in); resolved and
	// mapped to instances like the Aurora endpoints.
	Route53Records []string `yaml:"route53_records"`
}

// Selector picks resources by identifier or by tags (all must match).
type Selector struct {
	Names []string          `yaml:"names"`
	Tags  map[string]string `yaml:"tags"`
}

// Empty reports whether nothing is selected explicitly.
func (s Selector) Empty() bool { return len(s.Names) == 0 && len(s.Tags) == 0 }

type RefreshConfig struct {
	Discovery  time.Duration `yaml:"discovery_interval"`
	CloudWatch time.Duration `yaml:"cloudwatch_interval"`
	DNS        time.Duration `yaml:"dns_interval"`
	// EnhancedMonitoring and PerformanceInsights are the fresh sources'
	// intervals: a fresh signal is worth only as much as its polling.
	EnhancedMonitoring  time.Duration `yaml:"enhanced_monitoring_interval"`
	PerformanceInsights time.Duration `yaml:"performance_insights_interval"`
	// DiscoveryTriggerMinInterval: a DNS refresh that answers an instance
	// discovery does not know refreshes discovery at once, at most once
	// per this interval (0: never; discovery waits for its interval).
	DiscoveryTriggerMinInterval time.Duration `yaml:"discovery_trigger_min_interval"`
	// StaleAfter bounds static stability: a failing source's last good
	// values are served (with their age) for this long, then dropped.
	StaleAfter time.Duration `yaml:"stale_after"`
	// Timeout bounds one refresh of one source.
	Timeout time.Duration `yaml:"timeout"`
}

type CloudWatchConfig struct {
	// Window is how far back each GetMetricData looks; it must cover the
	// publication lag (1-3 min for 60 s RDS metrics) plus a few periods.
	Window time.Duration `yaml:"window"`
	Period time.Duration `yaml:"period"`
	// Concurrency limits GetMetricData calls in flight per account and region.
	Concurrency int `yaml:"concurrency"`
	// ExportTimestamps attaches CloudWatch's datapoint timestamp to series.
	// Off by default: Prometheus treats samples older than its staleness
	// window oddly and rejects out-of-order ones; the age is exported
	// beside each value instead.
	ExportTimestamps bool `yaml:"export_timestamps"`
}

type DNSConfig struct {
	Server  string        `yaml:"server"` // host:port; --dns.server overrides; empty: /etc/resolv.conf
	Timeout time.Duration `yaml:"timeout"`
	// Samples is how many times the reader endpoint is queried per
	// refresh: Aurora answers one reader per query in rotation.
	Samples int `yaml:"samples"`
}

type EnhancedMonitoringConfig struct {
	// Enabled runs the source (it makes no call while no selected
	// instance has Enhanced Monitoring on).
	Enabled bool `yaml:"enabled"`
	// Window bounds how far back a FilterLogEvents looks: the first read
	// of a scope, and the limit when the newest document seen is older.
	Window time.Duration `yaml:"window"`
}

type PerformanceInsightsConfig struct {
	Enabled bool `yaml:"enabled"`
	// Window bounds how far back a GetResourceMetrics looks: each call
	// starts at the newest datapoint already held for the instance, and
	// at most this far back (the first call, or after a gap). A period
	// is served a few seconds after it ends.
	Window time.Duration `yaml:"window"`
	// Concurrency limits GetResourceMetrics calls in flight per account
	// and region.
	Concurrency int `yaml:"concurrency"`
	// DBLoadInterval is how often an instance whose Enhanced Monitoring
	// already gives its fresh OS CPU is polled for db.load.avg alone, at
	// 60 s periods (the db_load schedule). Performance Insights then
	// adds only DB load, which warns and does not scale, and each call
	// is paid for. 0 polls those instances for db.load.avg at 1 s
	// periods every performance_insights_interval instead.
	DBLoadInterval time.Duration `yaml:"db_load_interval"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Refresh: RefreshConfig{
			Discovery: time.Minute, CloudWatch: time.Minute, DNS: 5 * time.Second, DiscoveryTriggerMinInterval: 30 * time.Second,
			EnhancedMonitoring: 5 * time.Second, PerformanceInsights: 10 * time.Second,
			StaleAfter: 10 * time.Minute, Timeout: 30 * time.Second,
		},
		CloudWatch:          CloudWatchConfig{Window: 10 * time.Minute, Period: time.Minute, Concurrency: 4},
		DNS:                 DNSConfig{Timeout: time.Second, Samples: 16},
		EnhancedMonitoring:  EnhancedMonitoringConfig{Enabled: true, Window: time.Minute},
		PerformanceInsights: PerformanceInsightsConfig{Enabled: true, Window: time.Minute, Concurrency: 16, DBLoadInterval: time.Minute},
	}
}

// ConfigError is a configuration problem with its position in the file.
type ConfigError = yamlconf.Error

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes strictly and validates; errors carry file:line:col.
func ParseConfig(name string, data []byte) (*Config, error) {
	cfg := DefaultConfig()
	root, err := yamlconf.Decode(name, data, &cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(name, root); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var (
	roleARN    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

func (c *Config) validate(name string, root *yaml.Node) error {
	fail := yamlconf.Failer(name, root)
	if len(c.Targets) == 0 {
		return fail("at least one target is required (targets: [{regions: [...], clusters: {...}}])", "targets")
	}
	for i, t := range c.Targets {
		if len(t.Regions) == 0 {
			return fail("target needs at least one region", "targets", i)
		}
		for j, r := range t.Regions {
			if !regionName.MatchString(r) {
				return fail(fmt.Sprintf("%q is not an AWS region name", r), "targets", i, "regions", j)
			}
		}
		if t.RoleARN != "" && !roleARN.MatchString(t.RoleARN) {
			return fail(fmt.Sprintf("role_arn %q is not an IAM role ARN", t.RoleARN), "targets", i, "role_arn")
		}
		if t.Clusters.Empty() {
			return fail("clusters: give names or tags (selecting every cluster of an account is too easy to do by accident)", "targets", i)
		}
		if len(t.Proxies.Tags) > 0 {
			return fail("proxies: select by names (DescribeDBProxies returns no tags); by default the proxies in front of the selected clusters are watched", "targets", i, "proxies", "tags")
		}
		for j, r := range t.Route53Records {
			if strings.TrimSpace(r) == "" || strings.Contains(r, " ") {
				return fail(fmt.Sprintf("route53 record %q is not a DNS name", r), "targets", i, "route53_records", j)
			}
		}
	}
	type bound struct {
		v    time.Duration
		min  time.Duration
		path []any
	}
	for _, b := range []bound{
		{c.Refresh.Discovery, 5 * time.Second, []any{"refresh", "discovery_interval"}},
		{c.Refresh.CloudWatch, 10 * time.Second, []any{"refresh", "cloudwatch_interval"}},
		{c.Refresh.DNS, 500 * time.Millisecond, []any{"refresh", "dns_interval"}},
		{c.Refresh.EnhancedMonitoring, time.Second, []any{"refresh", "enhanced_monitoring_interval"}},
		{c.Refresh.PerformanceInsights, time.Second, []any{"refresh", "performance_insights_interval"}},
		{c.EnhancedMonitoring.Window, 10 * time.Second, []any{"enhanced_monitoring", "window"}},
		{c.PerformanceInsights.Window, 10 * time.Second, []any{"performance_insights", "window"}},
		{c.Refresh.Timeout, time.Second, []any{"refresh", "timeout"}},
		{c.DNS.Timeout, 10 * time.Millisecond, []any{"dns", "timeout"}},
	} {
		if b.v < b.min {
			return fail(fmt.Sprintf("%s must be at least %s", b.path[len(b.path)-1], b.min), b.path...)
		}
	}
	if t := c.Refresh.DiscoveryTriggerMinInterval; t != 0 && t < time.Second {
		return fail("discovery_trigger_min_interval must be 0 (off) or at least 1s", "refresh", "discovery_trigger_min_interval")
	}
	if c.Refresh.StaleAfter < c.Refresh.CloudWatch {
		return fail("stale_after must be at least cloudwatch_interval, or every refresh would drop its own data", "refresh", "stale_after")
	}
	if c.CloudWatch.Period < time.Minute || c.CloudWatch.Period%time.Minute != 0 {
		return fail("period must be a multiple of 60s (standard-resolution AWS metrics)", "cloudwatch", "period")
	}
	if c.CloudWatch.Window < 3*c.CloudWatch.Period {
		return fail("window must cover at least 3 periods to ride out CloudWatch's publication lag", "cloudwatch", "window")
	}
	if c.CloudWatch.Concurrency < 1 || c.CloudWatch.Concurrency > 64 {
		return fail("concurrency must be between 1 and 64", "cloudwatch", "concurrency")
	}
	if c.PerformanceInsights.Window > time.Hour {
		return fail("window must be at most 1h: GetResourceMetrics at 1 s periods serves 1 h of data per call", "performance_insights", "window")
	}
	if c.EnhancedMonitoring.Window > time.Hour {
		return fail("window must be at most 1h: a longer look-back reads documents no refresh needs", "enhanced_monitoring", "window")
	}
	if c.PerformanceInsights.Concurrency < 1 || c.PerformanceInsights.Concurrency > 64 {
		return fail("concurrency must be between 1 and 64", "performance_insights", "concurrency")
	}
	if d := c.PerformanceInsights.DBLoadInterval; d != 0 && (d < piDBLoadPeriod || d > 5*time.Minute || d%piDBLoadPeriod != 0) {
		return fail("db_load_interval must be 0 (DB load at 1 s periods every performance_insights_interval) or a multiple of 60s from 60s to 5m: it is polled at 60 s periods, and a longer wait leaves DB load older than CloudWatch's DBLoad", "performance_insights", "db_load_interval")
	}
	if c.DNS.Samples < 1 || c.DNS.Samples > 64 {
		return fail("samples must be between 1 and 64", "dns", "samples")
	}
	return nil
}
