// Package rules holds the Prometheus alerting and recording rules of Aurora
// Surge and their generator: the rule files are rendered from the templates
// in gen/ with the thresholds in gen/thresholds.yml (the field defaults), so
// an operator overrides a threshold with a small YAML file instead of
// editing PromQL.
package rules

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

//go:embed gen/thresholds.yml gen/*.rules.yml.tmpl
var genFS embed.FS

// Duration is a Prometheus duration kept as written ("5m", "15s") so the
// generated files read like hand-written ones.
type Duration string

func (d Duration) validate(field string) error {
	if _, err := model.ParseDuration(string(d)); err != nil {
		return fmt.Errorf("%s: %q is not a Prometheus duration: %w", field, d, err)
	}
	return nil
}

// Seconds is the duration in seconds, for expressions comparing with time().
func (d Duration) Seconds() float64 {
	v, _ := model.ParseDuration(string(d))
	return float64(v) / 1e9
}

type Thresholds struct {
	EvaluationInterval Duration   `yaml:"evaluation_interval"`
	RunbookBaseURL     string     `yaml:"runbook_base_url"`
	Readers            Readers    `yaml:"readers"`
	Serverless         Serverless `yaml:"serverless"`
	Proxy              Proxy      `yaml:"proxy"`
	ASG                ASG        `yaml:"asg"`
	DNS                DNS        `yaml:"dns"`
	Exporter           Exporter   `yaml:"exporter"`
}

type Readers struct {
	TargetCPU          float64  `yaml:"target_cpu"`
	ScaleOutFor        Duration `yaml:"scale_out_for"`
	ScaleInCPU         float64  `yaml:"scale_in_cpu"`
	ScaleInFor         Duration `yaml:"scale_in_for"`
	StepFor            Duration `yaml:"step_for"`
	Step1CPU           float64  `yaml:"step1_cpu"`
	Step1ClearCPU      float64  `yaml:"step1_clear_cpu"`
	Step2CPU           float64  `yaml:"step2_cpu"`
	Step2ClearCPU      float64  `yaml:"step2_clear_cpu"`
	Connections        float64  `yaml:"connections"`
	ReadLatencySeconds float64  `yaml:"read_latency_seconds"`
	EarlyWarningFor    Duration `yaml:"early_warning_for"`
	KeepFiringFor      Duration `yaml:"keep_firing_for"`
	FreshMaxAgeSeconds float64  `yaml:"fresh_max_age_seconds"`
	FreshStepFor       Duration `yaml:"fresh_step_for"`
	DBLoadPerVCPU      float64  `yaml:"db_load_per_vcpu"`
}

type Serverless struct {
	NearMaxRatio float64  `yaml:"near_max_ratio"`
	NearMaxFor   Duration `yaml:"near_max_for"`
	AtMaxRatio   float64  `yaml:"at_max_ratio"`
	AtMaxFor     Duration `yaml:"at_max_for"`
	// SignalLag is how late CloudWatch's ACU datapoint may be: the ACU
	// ratio's denominator is the lowest max over it, the max in force
	// when the datapoint was taken.
	SignalLag Duration `yaml:"signal_lag"`
	// ReadersCPUBound is the readers' CPU above which Serverless v2
	// readers are taken to be held at max ACU (Aurora would otherwise
	// have added ACU within seconds): AuroraServerlessReadersCPUBound.
	ReadersCPUBound float64 `yaml:"readers_cpu_bound"`
}

type Proxy struct {
	PinnedRatio            float64  `yaml:"pinned_ratio"`
	MinDatabaseConnections float64  `yaml:"min_database_connections"`
	PinnedFor              Duration `yaml:"pinned_for"`
	DerivWindow            Duration `yaml:"deriv_window"`
	KeepFiringFor          Duration `yaml:"keep_firing_for"`
}

type Tier struct {
	Name                         string  `yaml:"name"`
	ASGRegex                     string  `yaml:"asg_regex"`
	RequestsPerInstancePerMinute float64 `yaml:"requests_per_instance_per_minute"`
}

type ASG struct {
	CPU                                 float64  `yaml:"cpu"`
	CPUFor                              Duration `yaml:"cpu_for"`
	RequestsFor                         Duration `yaml:"requests_for"`
	ScaleInRatio                        float64  `yaml:"scale_in_ratio"`
	ScaleInFor                          Duration `yaml:"scale_in_for"`
	Tiers                               []Tier   `yaml:"tiers"`
	DefaultRequestsPerInstancePerMinute float64  `yaml:"default_requests_per_instance_per_minute"`
	StepFor                             Duration `yaml:"step_for"`
	Step2RequestsPerMinute              float64  `yaml:"step2_requests_per_minute"`
	Step2ClearRequestsPerMinute         float64  `yaml:"step2_clear_requests_per_minute"`
	Step3RequestsPerMinute              float64  `yaml:"step3_requests_per_minute"`
	Step3ClearRequestsPerMinute         float64  `yaml:"step3_clear_requests_per_minute"`
	PreEventWindow                      Duration `yaml:"pre_event_window"`
	KeepFiringFor                       Duration `yaml:"keep_firing_for"`
}

type DNS struct {
	DisagreementSeconds float64  `yaml:"disagreement_seconds"`
	WriterNotWriterFor  Duration `yaml:"writer_not_writer_for"`
	RemovedReaderFor    Duration `yaml:"removed_reader_for"`
}

type Exporter struct {
	Job            string   `yaml:"job"`
	SourceDownFor  Duration `yaml:"source_down_for"`
	DataAgeSeconds float64  `yaml:"data_age_seconds"`
	ThrottleWindow Duration `yaml:"throttle_window"`
	ThrottleFor    Duration `yaml:"throttle_for"`
	DownFor        Duration `yaml:"down_for"`
}

// TierRule is one requests-per-instance target with its ASG selector:
// a tier matches what its regex matches and no earlier tier matched, so an
// ASG never gets two targets.
type TierRule struct {
	Name      string
	Selector  string
	Threshold float64
	// ScaleIn is the scale-in mark: Threshold x asg.scale_in_ratio.
	ScaleIn float64
}

// RequestsTargetFor is the requests per instance per minute target the
// rules give the ASG named name: the first tier whose regex matches the
// whole name (as Prometheus's =~ does, in TierRules' order), else the
// default.
func (a ASG) RequestsTargetFor(name string) float64 {
	for _, t := range a.Tiers {
		if re, err := regexp.Compile("^(?:" + t.ASGRegex + ")$"); err == nil && re.MatchString(name) {
			return t.RequestsPerInstancePerMinute
		}
	}
	return a.DefaultRequestsPerInstancePerMinute
}

func (a ASG) TierRules() []TierRule {
	var out []TierRule
	var earlier []string
	exclude := func() string {
		if len(earlier) == 0 {
			return ""
		}
		return fmt.Sprintf(`asg!~%s`, strconv.Quote(strings.Join(earlier, "|")))
	}
	for _, t := range a.Tiers {
		sel := []string{fmt.Sprintf(`asg=~%s`, strconv.Quote(t.ASGRegex))}
		if e := exclude(); e != "" {
			sel = append(sel, e)
		}
		out = append(out, TierRule{Name: t.Name, Selector: "{" + strings.Join(sel, ", ") + "}", Threshold: t.RequestsPerInstancePerMinute,
			ScaleIn: t.RequestsPerInstancePerMinute * a.ScaleInRatio})
		earlier = append(earlier, "(?:"+t.ASGRegex+")")
	}
	sel := ""
	if e := exclude(); e != "" {
		sel = "{" + e + "}"
	}
	return append(out, TierRule{Name: "default", Selector: sel, Threshold: a.DefaultRequestsPerInstancePerMinute,
		ScaleIn: a.DefaultRequestsPerInstancePerMinute * a.ScaleInRatio})
}

// DefaultThresholds returns the shipped defaults (gen/thresholds.yml).
func DefaultThresholds() (*Thresholds, error) {
	f, err := genFS.Open("gen/thresholds.yml")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var th Thresholds
	if err := decodeStrict(f, &th); err != nil {
		return nil, fmt.Errorf("gen/thresholds.yml: %w", err)
	}
	return &th, th.Validate()
}

// LoadThresholds returns the defaults with the keys present in the file at
// name laid over them; a list (asg.tiers) is replaced as a whole.
func LoadThresholds(name string) (*Thresholds, error) {
	th, err := DefaultThresholds()
	if err != nil || name == "" {
		return th, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := decodeStrict(f, th); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := th.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return th, nil
}

func decodeStrict(r io.Reader, v any) error {
	dec := yaml.NewDecoder(r)
	// A misspelt key would otherwise silently keep the default.
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return err
	}
	return nil
}

var tierName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate rejects values that would generate broken or self-contradicting
// rules (a clear mark above its fire mark never resolves).
func (t *Thresholds) Validate() error {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	for field, d := range map[string]Duration{
		"evaluation_interval":   t.EvaluationInterval,
		"readers.scale_out_for": t.Readers.ScaleOutFor, "readers.scale_in_for": t.Readers.ScaleInFor,
		"readers.step_for": t.Readers.StepFor, "readers.early_warning_for": t.Readers.EarlyWarningFor,
		"readers.keep_firing_for": t.Readers.KeepFiringFor, "readers.fresh_step_for": t.Readers.FreshStepFor,
		"serverless.near_max_for": t.Serverless.NearMaxFor, "serverless.at_max_for": t.Serverless.AtMaxFor,
		"serverless.signal_lag": t.Serverless.SignalLag, "asg.scale_in_for": t.ASG.ScaleInFor,
		"proxy.pinned_for": t.Proxy.PinnedFor, "proxy.deriv_window": t.Proxy.DerivWindow, "proxy.keep_firing_for": t.Proxy.KeepFiringFor,
		"asg.cpu_for": t.ASG.CPUFor, "asg.requests_for": t.ASG.RequestsFor, "asg.step_for": t.ASG.StepFor,
		"asg.pre_event_window": t.ASG.PreEventWindow, "asg.keep_firing_for": t.ASG.KeepFiringFor,
		"dns.writer_not_writer_for": t.DNS.WriterNotWriterFor, "dns.removed_reader_for": t.DNS.RemovedReaderFor,
		"exporter.source_down_for": t.Exporter.SourceDownFor, "exporter.throttle_window": t.Exporter.ThrottleWindow,
		"exporter.throttle_for": t.Exporter.ThrottleFor, "exporter.down_for": t.Exporter.DownFor,
	} {
		if err := d.validate(field); err != nil {
			add("%v", err)
		}
	}
	if t.EvaluationInterval.Seconds() <= 0 {
		add("evaluation_interval must be positive")
	}
	r := t.Readers
	if !(r.ScaleInCPU < r.TargetCPU) {
		add("readers.scale_in_cpu (%v) must be below readers.target_cpu (%v)", r.ScaleInCPU, r.TargetCPU)
	}
	if !(r.Step1ClearCPU < r.Step1CPU && r.Step2ClearCPU < r.Step2CPU) {
		add("readers step clear marks must be below their step thresholds")
	}
	if !(r.Step1CPU < r.Step2CPU) {
		add("readers.step1_cpu (%v) must be below readers.step2_cpu (%v)", r.Step1CPU, r.Step2CPU)
	}
	if !(r.FreshMaxAgeSeconds > 0) {
		add("readers.fresh_max_age_seconds (%v) must be positive", r.FreshMaxAgeSeconds)
	}
	if r.FreshStepFor.Seconds() > r.StepFor.Seconds() {
		add("readers.fresh_step_for (%s) must not exceed readers.step_for (%s): the fresh signal is never slower", r.FreshStepFor, r.StepFor)
	}
	if !(r.DBLoadPerVCPU > 0) {
		add("readers.db_load_per_vcpu (%v) must be positive", r.DBLoadPerVCPU)
	}
	if !(t.Proxy.MinDatabaseConnections >= 0) {
		add("proxy.min_database_connections (%v) must not be negative", t.Proxy.MinDatabaseConnections)
	}
	a := t.ASG
	if !(a.Step2ClearRequestsPerMinute < a.Step2RequestsPerMinute && a.Step3ClearRequestsPerMinute < a.Step3RequestsPerMinute) {
		add("asg step clear marks must be below their step thresholds")
	}
	if !(a.ScaleInRatio > 0 && a.ScaleInRatio < 1) {
		add("asg.scale_in_ratio (%v) must be in (0, 1): a fraction of each tier's target", a.ScaleInRatio)
	}
	if t.Serverless.SignalLag.Seconds() <= 0 {
		add("serverless.signal_lag must be positive")
	}
	if !(a.Step2RequestsPerMinute < a.Step3RequestsPerMinute) {
		add("asg.step2_requests_per_minute must be below asg.step3_requests_per_minute")
	}
	for i, tier := range a.Tiers {
		if !tierName.MatchString(tier.Name) || tier.Name == "default" {
			add("asg.tiers[%d].name %q: lower-case identifier other than \"default\" required", i, tier.Name)
		}
		if _, err := regexp.Compile("^(?:" + tier.ASGRegex + ")$"); err != nil || tier.ASGRegex == "" {
			add("asg.tiers[%d].asg_regex %q is not a usable regex", i, tier.ASGRegex)
		}
		if tier.RequestsPerInstancePerMinute <= 0 {
			add("asg.tiers[%d].requests_per_instance_per_minute must be positive", i)
		}
	}
	if !(t.Serverless.ReadersCPUBound > r.TargetCPU && t.Serverless.ReadersCPUBound <= 1) {
		add("serverless.readers_cpu_bound (%v) must be above readers.target_cpu (%v) and at most 1", t.Serverless.ReadersCPUBound, r.TargetCPU)
	}
	if t.Serverless.NearMaxRatio > t.Serverless.AtMaxRatio {
		add("serverless.near_max_ratio must not exceed serverless.at_max_ratio")
	}
	if t.Exporter.Job == "" {
		add("exporter.job is required")
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("invalid thresholds:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// num prints a threshold the way a person would write it in PromQL.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Generate renders every rule file; the map is keyed by file name
// (aurora-readers.rules.yml, ...).
func Generate(th *Thresholds) (map[string][]byte, error) {
	if err := th.Validate(); err != nil {
		return nil, err
	}
	names, err := genFS.ReadDir("gen")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"num":     num,
		"quote":   strconv.Quote,
		"runbook": func(alert string) string { return th.RunbookBaseURL + "#" + strings.ToLower(alert) },
		"pct":     func(v float64) string { return num(v*100) + " %" },
	}
	out := map[string][]byte{}
	for _, e := range names {
		if !strings.HasSuffix(e.Name(), ".rules.yml.tmpl") {
			continue
		}
		src, err := genFS.ReadFile(path.Join("gen", e.Name()))
		if err != nil {
			return nil, err
		}
		// [[ ]] keeps Go's template actions apart from the {{ }} of
		// Prometheus' own annotation templates.
		tmpl, err := template.New(e.Name()).Delims("[[", "]]").Funcs(funcs).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		name := strings.TrimSuffix(e.Name(), ".tmpl")
		fmt.Fprintf(&buf, "# Generated by rules/cmd/rulegen from rules/gen/%s and the thresholds\n# (defaults: rules/gen/thresholds.yml). Do not edit: run `make rules`.\n", e.Name())
		if err := tmpl.Execute(&buf, th); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}
