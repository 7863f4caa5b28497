// Package scaler acts on Alertmanager webhooks: it decodes and validates a
// notification, reads the live state of the named target from AWS, decides
// with pure guardrail functions (decide.go) and makes an idempotent change
// (actions.go), recording every decision, taken or refused.
package scaler

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aurora-surge/aurora-surge/internal/yamlconf"
	"github.com/aurora-surge/aurora-surge/scaler/events"
)

// MaxAuroraReaders is Aurora's hard limit of readers per cluster.
const MaxAuroraReaders = 15

// Config is the scaler's configuration file.
type Config struct {
	Clusters []ClusterTarget `yaml:"clusters"`
	ASGs     []ASGTarget     `yaml:"asgs"`
	// Cooldowns per target and direction (guardrails.go): a scale-out acts
	// again once the previous one took effect or its cooldown passed.
	Cooldowns Cooldowns `yaml:"cooldowns"`
	// StabilizationWindow: a scale-in acts on the highest demand over this
	// window, read from Prometheus (observe.go).
	StabilizationWindow time.Duration `yaml:"stabilization_window"`
	// MaxActionsPerHour trips a per-target breaker: more actions than this
	// in an hour means something is oscillating or looping.
	MaxActionsPerHour int    `yaml:"max_actions_per_hour"`
	DryRun            bool   `yaml:"dry_run"`
	BearerTokenFile   string `yaml:"bearer_token_file"`
	// PrometheusURL is asked for the exporter's data age; without it the
	// data age is unknown and nothing that removes capacity is done.
	PrometheusURL string `yaml:"prometheus_url"`
	// MaxDataAge is the oldest exporter data a scale-in may rely on.
	MaxDataAge time.Duration `yaml:"max_data_age"`
	// DNSServer (host:port) resolves endpoints for the procedures' checks;
	// empty: the first nameserver of /etc/resolv.conf.
	DNSServer string `yaml:"dns_server"`
	// Accounts lists roles to assume for targets in other accounts than
	// the credentials' own.
	Accounts []AccountRole `yaml:"accounts"`
	// Grafana, when set, gets an annotation per decision.
	Grafana *GrafanaConfig `yaml:"grafana"`
}

// AccountRole is how the scaler acts in one account.
type AccountRole struct {
	ID         string `yaml:"id"`
	RoleARN    string `yaml:"role_arn"`
	ExternalID string `yaml:"external_id"`
}

// GrafanaConfig is where decisions are annotated.
type GrafanaConfig struct {
	URL string `yaml:"url"`
	// APIKeyFile holds a service account token, or user:password.
	APIKeyFile string `yaml:"api_key_file"`
}

// ClusterTarget is an Aurora cluster the scaler may change.
type ClusterTarget struct {
	Name    string `yaml:"name"`
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
	// MaxReaders bounds add_readers (all readers, self-managed included).
	MaxReaders int `yaml:"max_readers"`
	// MinReaders bounds remove_readers; never below 1 (docs/field.md#reader-auto-scaling).
	MinReaders int `yaml:"min_readers"`
	// TargetCPU is the readers' CPU target (0-1) the desired reader count
	// and max ACU are computed for (recommend.go); scale-in below 90 % of
	// it. Default 0.30, the field's target-tracking target.
	TargetCPU float64 `yaml:"target_cpu"`
	// ReaderClass of new readers; empty: like the cluster's existing reader.
	ReaderClass string  `yaml:"reader_class"`
	ACUStep     float64 `yaml:"acu_step"`
	ACUCeiling  float64 `yaml:"acu_ceiling"`
	// ACUBoundCPU is the readers' CPU (0-1) above which Serverless v2
	// readers are taken to be held at max ACU, so max ACU x CPU /
	// target_cpu is a demand estimate (recommend.go). Default 0.70, the
	// rules' serverless.readers_cpu_bound.
	ACUBoundCPU float64 `yaml:"acu_bound_cpu"`
	// ACUBaseline is the max ACU the safe scale-in lowers the cluster back
	// to after an avalanche (0: leave max ACU as it is).
	ACUBaseline float64 `yaml:"acu_baseline"`
	// ReadRecord is the Route 53 record the applications read through;
	// remove_readers drains through it (docs/field.md#safe-reader-scale-in). Without it the
	// scaler never removes readers.
	ReadRecord *ReadRecord `yaml:"read_record"`
	// DrainCustomEndpoint, instead of read_record: the applications read
	// through this custom endpoint and the drain excludes the victims
	// from it.
	DrainCustomEndpoint string `yaml:"drain_custom_endpoint"`
	// WriterClasses are the classes a writer resize may move to.
	WriterClasses []string `yaml:"writer_classes"`
}

// ReadRecord names a CNAME in a hosted zone.
type ReadRecord struct {
	ZoneID string `yaml:"zone_id"`
	Name   string `yaml:"name"`
}

// ASGTarget is an EC2 Auto Scaling group the scaler may change.
type ASGTarget struct {
	Name    string `yaml:"name"`
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
	// MaxStep bounds how many instances one scale-out adds (a scale-in
	// goes to the stabilised demand at once).
	MaxStep int `yaml:"max_step"`
	// TargetRequests is the requests per instance per minute the desired
	// capacity is computed for (recommend.go); scale-in below 90 % of it.
	// Default 1000, the field's web-tier target (800 for API tiers).
	TargetRequests float64 `yaml:"target_requests_per_instance_per_minute"`
}

type Cooldowns struct {
	ScaleOut time.Duration `yaml:"scale_out"`
	ScaleIn  time.Duration `yaml:"scale_in"`
}

// DefaultConfig holds the field's defaults (docs/field.md#reader-scaling-layers).
func DefaultConfig() Config {
	return Config{
		Cooldowns:           Cooldowns{ScaleOut: 30 * time.Second, ScaleIn: 2 * time.Minute},
		StabilizationWindow: 5 * time.Minute,
		MaxActionsPerHour:   10,
		MaxDataAge:          3 * time.Minute,
	}
}

func applyClusterDefaults(c *ClusterTarget) {
	if c.MaxReaders == 0 {
		c.MaxReaders = MaxAuroraReaders
	}
	if c.MinReaders == 0 {
		c.MinReaders = 1
	}
	if c.ACUStep == 0 {
		c.ACUStep = 8
	}
	if c.TargetCPU == 0 {
		c.TargetCPU = DefaultTargetCPU
	}
	if c.ACUBoundCPU == 0 {
		c.ACUBoundCPU = DefaultACUBoundCPU
	}
}

// Defaults of the demand targets (the field's target-tracking targets).
const (
	DefaultTargetCPU      = 0.30
	DefaultACUBoundCPU    = 0.70
	DefaultTargetRequests = 1000
)

func applyASGDefaults(a *ASGTarget) {
	if a.MaxStep == 0 {
		a.MaxStep = 5
	}
	if a.TargetRequests == 0 {
		a.TargetRequests = DefaultTargetRequests
	}
}

// Cluster finds a configured cluster; account and region, when given,
// must match too.
func (c *Config) Cluster(name, account, region string) (*ClusterTarget, bool) {
	for i := range c.Clusters {
		t := &c.Clusters[i]
		if t.Name == name && (account == "" || account == t.Account) && (region == "" || region == t.Region) {
			return t, true
		}
	}
	return nil, false
}

// ASG finds a configured Auto Scaling group.
func (c *Config) ASG(name, account, region string) (*ASGTarget, bool) {
	for i := range c.ASGs {
		t := &c.ASGs[i]
		if t.Name == name && (account == "" || account == t.Account) && (region == "" || region == t.Region) {
			return t, true
		}
	}
	return nil, false
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
	for i := range cfg.Clusters {
		applyClusterDefaults(&cfg.Clusters[i])
	}
	for i := range cfg.ASGs {
		applyASGDefaults(&cfg.ASGs[i])
	}
	if err := cfg.validate(name, root); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var (
	regionName   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountID    = regexp.MustCompile(`^\d{12}$`)
	identifier   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,62}$`)
	asgName      = regexp.MustCompile(`^[\x20-\x7e]{1,255}$`)
	instanceType = regexp.MustCompile(`^db\.[a-z0-9]+(\.[a-z0-9]+)?$`)
	hostedZoneID = regexp.MustCompile(`^Z[A-Z0-9]{1,32}$`)
)

// failer reports a problem at a path of the configuration file, so the
// error names file:line:column (yamlconf.Failer).
type failer func(msg string, path ...any) error

// under is the failer of one node: paths are relative to it.
func (f failer) under(path ...any) failer {
	return func(msg string, rest ...any) error {
		return f(msg, append(append([]any{}, path...), rest...)...)
	}
}

// firstError runs checks in order and returns the first error.
func firstError(checks ...func() error) error {
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validate checks the file section by section; each section's function
// names the field and the bound it broke.
func (c *Config) validate(name string, root *yaml.Node) error {
	fail := failer(yamlconf.Failer(name, root))
	if len(c.Clusters) == 0 && len(c.ASGs) == 0 {
		return fail("at least one target is required (clusters: [...] or asgs: [...]); the scaler only touches what is listed")
	}
	return firstError(
		func() error { return c.validateClusters(fail) },
		func() error { return c.validateASGs(fail) },
		func() error { return c.validateGuardrails(fail) },
		func() error { return validateDNSServer(fail, c.DNSServer) },
		func() error { return validateAccounts(fail, c.Accounts) },
		func() error { return validateGrafana(fail, c.Grafana) },
		func() error { return validateHTTPURL(fail, "prometheus_url", c.PrometheusURL) },
	)
}

// targetPlaces checks what every target has: its account, region, and
// that it is listed once.
type targetPlaces map[string]bool

func (seen targetPlaces) check(at failer, kind, name, account, region string) error {
	if !accountID.MatchString(account) {
		return at(fmt.Sprintf("account %q must be a 12-digit AWS account id", account), "account")
	}
	if !regionName.MatchString(region) {
		return at(fmt.Sprintf("%q is not an AWS region name", region), "region")
	}
	key := kind + "/" + account + "/" + region + "/" + name
	if seen[key] {
		return at(fmt.Sprintf("%s %s is listed twice", kind, name))
	}
	seen[key] = true
	return nil
}

// halfACU: Aurora Serverless v2 capacities go in steps of 0.5 ACU.
func halfACU(v float64) bool { return v*2 == float64(int(v*2)) }

// Bounds the sections are checked against.
const (
	maxACU         = 256 // Aurora Serverless v2's largest max capacity
	maxASGStep     = 100
	maxScaleOutCD  = time.Hour
	maxScaleInCD   = 24 * time.Hour
	minStabilizing = 30 * time.Second
	maxStabilizing = 24 * time.Hour
)

func (c *Config) validateClusters(fail failer) error {
	seen := targetPlaces{}
	for i := range c.Clusters {
		t, at := &c.Clusters[i], fail.under("clusters", i)
		if err := firstError(
			func() error { return validateClusterName(at, t.Name) },
			func() error { return seen.check(at, "cluster", t.Name, t.Account, t.Region) },
			func() error { return validateReaderBounds(at, t) },
			func() error { return validateACUBounds(at, t) },
			func() error { return validateDrain(at, t) },
			func() error { return validateWriterClasses(at, t.WriterClasses) },
		); err != nil {
			return err
		}
	}
	return nil
}

func validateClusterName(at failer, name string) error {
	if !identifier.MatchString(name) || strings.Contains(name, "--") || strings.HasSuffix(name, "-") {
		return at(fmt.Sprintf("cluster name %q is not a DB cluster identifier (a letter, then up to 62 letters, digits or single hyphens, no hyphen at the end)", name), "name")
	}
	return nil
}

func validateReaderBounds(at failer, t *ClusterTarget) error {
	if t.MaxReaders < 1 || t.MaxReaders > MaxAuroraReaders {
		return at(fmt.Sprintf("max_readers %d outside [1, %d] (Aurora's limit is %d readers)", t.MaxReaders, MaxAuroraReaders, MaxAuroraReaders), "max_readers")
	}
	if t.MinReaders < 1 || t.MinReaders > t.MaxReaders {
		return at(fmt.Sprintf("min_readers %d outside [1, max_readers %d]: a cluster without readers stops AWS reader auto scaling", t.MinReaders, t.MaxReaders), "min_readers")
	}
	if t.TargetCPU <= 0 || t.TargetCPU > 1 {
		return at(fmt.Sprintf("target_cpu %g must be a CPU ratio in (0, 1] (0.30 is 30 %%)", t.TargetCPU), "target_cpu")
	}
	if t.ReaderClass != "" && !instanceType.MatchString(t.ReaderClass) {
		return at(fmt.Sprintf("reader_class %q is not a DB instance class (db.serverless, db.r6g.large, ...)", t.ReaderClass), "reader_class")
	}
	return nil
}

func validateACUBounds(at failer, t *ClusterTarget) error {
	if t.ACUBoundCPU <= t.TargetCPU || t.ACUBoundCPU > 1 {
		return at(fmt.Sprintf("acu_bound_cpu %g must be a CPU ratio above target_cpu %g and at most 1 (0.70 is 70 %%)", t.ACUBoundCPU, t.TargetCPU), "acu_bound_cpu")
	}
	if t.ACUStep <= 0 || t.ACUStep > maxACU || !halfACU(t.ACUStep) {
		return at(fmt.Sprintf("acu_step %g must be a multiple of 0.5 in (0, %d]", t.ACUStep, maxACU), "acu_step")
	}
	if t.ACUCeiling == 0 {
		return at("acu_ceiling is required: raise_max_acu never goes above it")
	}
	if t.ACUCeiling < 1 || t.ACUCeiling > maxACU || !halfACU(t.ACUCeiling) {
		return at(fmt.Sprintf("acu_ceiling %g must be a multiple of 0.5 in [1, %d]", t.ACUCeiling, maxACU), "acu_ceiling")
	}
	if t.ACUBaseline < 0 || t.ACUBaseline > t.ACUCeiling || !halfACU(t.ACUBaseline) {
		return at(fmt.Sprintf("acu_baseline %g must be a multiple of 0.5 in [0, acu_ceiling %g]", t.ACUBaseline, t.ACUCeiling), "acu_baseline")
	}
	return nil
}

func validateDrain(at failer, t *ClusterTarget) error {
	if t.ReadRecord != nil && t.DrainCustomEndpoint != "" {
		return at("read_record and drain_custom_endpoint are alternatives: name one drain", "drain_custom_endpoint")
	}
	if r := t.ReadRecord; r != nil && (!hostedZoneID.MatchString(strings.TrimPrefix(r.ZoneID, "/hostedzone/")) || r.Name == "") {
		return at("read_record needs zone_id (Z...) and name", "read_record")
	}
	return nil
}

func validateWriterClasses(at failer, classes []string) error {
	for j, class := range classes {
		if !instanceType.MatchString(class) {
			return at(fmt.Sprintf("writer class %q is not a DB instance class", class), "writer_classes", j)
		}
	}
	return nil
}

func (c *Config) validateASGs(fail failer) error {
	seen := targetPlaces{}
	for i, t := range c.ASGs {
		at := fail.under("asgs", i)
		if !asgName.MatchString(t.Name) {
			return at(fmt.Sprintf("asg name %q is not an Auto Scaling group name (1 to 255 printable ASCII characters)", t.Name), "name")
		}
		if err := seen.check(at, "asg", t.Name, t.Account, t.Region); err != nil {
			return err
		}
		if t.MaxStep < 1 || t.MaxStep > maxASGStep {
			return at(fmt.Sprintf("max_step %d outside [1, %d]", t.MaxStep, maxASGStep), "max_step")
		}
		if t.TargetRequests <= 0 || t.TargetRequests > 1e6 {
			return at(fmt.Sprintf("target_requests_per_instance_per_minute %g must be in (0, 1000000]", t.TargetRequests), "target_requests_per_instance_per_minute")
		}
	}
	return nil
}

// validateGuardrails checks the cooldowns, the stabilisation window, the
// breaker and the data age every scale-in relies on.
func (c *Config) validateGuardrails(fail failer) error {
	if cd := c.Cooldowns.ScaleOut; cd < 0 || cd > maxScaleOutCD {
		return fail(fmt.Sprintf("scale_out cooldown %s must be in [0, %s]", cd, maxScaleOutCD), "cooldowns", "scale_out")
	}
	if cd := c.Cooldowns.ScaleIn; cd < 0 || cd > maxScaleInCD {
		return fail(fmt.Sprintf("scale_in cooldown %s must be in [0, %s]", cd, maxScaleInCD), "cooldowns", "scale_in")
	}
	if w := c.StabilizationWindow; w < minStabilizing || w > maxStabilizing {
		return fail(fmt.Sprintf("stabilization_window %s must be in [%s, %s]: scale-in acts on the highest demand over it, read from Prometheus at 15 s resolution", w, minStabilizing, maxStabilizing), "stabilization_window")
	}
	if c.MaxActionsPerHour < 1 {
		return fail(fmt.Sprintf("max_actions_per_hour %d must be at least 1", c.MaxActionsPerHour), "max_actions_per_hour")
	}
	if c.MaxDataAge <= 0 {
		return fail(fmt.Sprintf("max_data_age %s must be positive", c.MaxDataAge), "max_data_age")
	}
	return nil
}

func validateDNSServer(fail failer, server string) error {
	if server == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return fail(fmt.Sprintf("dns_server %q must be host:port", server), "dns_server")
	}
	return nil
}

func validateAccounts(fail failer, accounts []AccountRole) error {
	for i, a := range accounts {
		if !accountID.MatchString(a.ID) {
			return fail(fmt.Sprintf("account id %q must be 12 digits", a.ID), "accounts", i, "id")
		}
		if !strings.HasPrefix(a.RoleARN, "arn:aws") || !strings.Contains(a.RoleARN, ":iam::"+a.ID+":role/") {
			return fail(fmt.Sprintf("role_arn %q must be a role of account %s", a.RoleARN, a.ID), "accounts", i, "role_arn")
		}
	}
	return nil
}

func validateGrafana(fail failer, g *GrafanaConfig) error {
	if g != nil && !strings.HasPrefix(g.URL, "http://") && !strings.HasPrefix(g.URL, "https://") {
		return fail(fmt.Sprintf("grafana url %q must start with http:// or https://", g.URL), "grafana", "url")
	}
	return nil
}

// validateHTTPURL checks an optional URL the scaler calls.
func validateHTTPURL(fail failer, field, u string) error {
	if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fail(fmt.Sprintf("%s %q must start with http:// or https://", field, u), field)
	}
	return nil
}

// ReadBearerToken reads the shared secret Alertmanager sends
// (http_config.authorization.credentials_file on its side).
func ReadBearerToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("bearer token file %s is empty", path)
	}
	return tok, nil
}

// EventLimits are the bounds a registered event must respect on a
// configured cluster: the same max_readers and acu_ceiling as the alerts,
// and only groups listed under asgs: in the cluster's account and region.
func (c *Config) EventLimits(cluster string) (events.Limits, bool) {
	t, ok := c.Cluster(cluster, "", "")
	if !ok {
		return events.Limits{}, false
	}
	return events.Limits{MaxReaders: min(t.MaxReaders, MaxAuroraReaders), ACUCeiling: t.ACUCeiling, ASG: func(name string) bool {
		_, ok := c.ASG(name, t.Account, t.Region)
		return ok
	}}, true
}
