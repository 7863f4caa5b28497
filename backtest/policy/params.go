package policy

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// The file lives beside the package because go:embed cannot reach a
// parent directory.
//
//go:embed policies.yml
var defaultParams []byte

// Params are the parameters of every policy family, from policies.yml.
type Params struct {
	AWSTargetTracking Family `yaml:"aws-target-tracking"`
	Field             Family `yaml:"field"`
	// Surge holds the product policies' section, decoded by the backtest
	// package: one file carries every policy's parameters.
	Surge yaml.Node `yaml:"surge"`
}

// Family is one policy's parameters: its reader and ASG scaling.
type Family struct {
	Readers ReaderParams `yaml:"readers"`
	ASGs    ASGParams    `yaml:"asgs"`
}

// ReaderParams configure the reader scaling of every cluster.
type ReaderParams struct {
	MinCapacity    int            `yaml:"min_capacity"`
	MaxCapacity    int            `yaml:"max_capacity"`
	PromotionTier  int            `yaml:"promotion_tier"`
	MaxACU         float64        `yaml:"max_acu"`
	TargetTracking TargetTracking `yaml:"target_tracking"`
	Steps          []StepPolicy   `yaml:"steps"`
}

// TargetTracking is one target tracking policy with the alarms
// Application Auto Scaling and EC2 Auto Scaling create for it.
type TargetTracking struct {
	Metric           string             `yaml:"metric"`
	Target           float64            `yaml:"target"`
	TierTargets      map[string]float64 `yaml:"tier_targets"` // ASGs: target by tier, overrides Target
	HighDatapoints   int                `yaml:"high_datapoints"`
	LowDatapoints    int                `yaml:"low_datapoints"`
	LowRatio         float64            `yaml:"low_ratio"`
	ScaleOutCooldown time.Duration      `yaml:"scale_out_cooldown"` // readers only
	ScaleInCooldown  time.Duration      `yaml:"scale_in_cooldown"`  // readers only
}

// StepPolicy is a step scaling policy behind one alarm (threshold = the
// lowest adjustment's bound) with ChangeInCapacity adjustments.
type StepPolicy struct {
	Name        string        `yaml:"name"`
	Metric      string        `yaml:"metric"`
	Datapoints  int           `yaml:"datapoints"`
	Cooldown    time.Duration `yaml:"cooldown"`
	Adjustments []Adjustment  `yaml:"adjustments"`
}

// Adjustment adds Add capacity when the metric is above Above (and below
// the next adjustment's bound).
type Adjustment struct {
	Above float64 `yaml:"above"`
	Add   int     `yaml:"add"`
}

// ASGParams configure the scaling of every Auto Scaling group.
type ASGParams struct {
	InstanceWarmup time.Duration    `yaml:"instance_warmup"`
	TargetTracking []TargetTracking `yaml:"target_tracking"`
	Steps          []StepPolicy     `yaml:"steps"`
	Scheduled      *Scheduled       `yaml:"scheduled"`
}

// Scheduled is the pre-event scheduled action of every ASG.
type Scheduled struct {
	Lead    time.Duration  `yaml:"lead"`
	Hold    time.Duration  `yaml:"hold"`
	Desired map[string]int `yaml:"desired"` // by tier
}

// LoadParams reads a policies file; "" is the embedded default.
func LoadParams(path string) (*Params, error) {
	data, name := defaultParams, "embedded policies.yml"
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		name = path
	}
	p, err := ParseParams(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// ParseParams decodes strictly (an unknown key is an error) and validates.
func ParseParams(data []byte) (*Params, error) {
	var p Params
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	for name, f := range map[string]*Family{"aws-target-tracking": &p.AWSTargetTracking, "field": &p.Field} {
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &p, nil
}

var readerMetrics = map[string]bool{"reader_cpu": true, "reader_connections": true, "cluster_connections": true, "reader_read_latency_ms": true}
var asgMetrics = map[string]bool{"cpu": true, "requests_per_target": true}

func (f *Family) validate() error {
	r := &f.Readers
	if r.MinCapacity < 1 || r.MaxCapacity > 15 || r.MinCapacity > r.MaxCapacity {
		return fmt.Errorf("readers: need 1 <= min_capacity <= max_capacity <= 15 (got %d, %d): with no reader the target tracking metric has no data and scaling stops", r.MinCapacity, r.MaxCapacity)
	}
	if r.PromotionTier < 0 || r.PromotionTier > 15 {
		return fmt.Errorf("readers: promotion_tier must be 0-15 (got %d)", r.PromotionTier)
	}
	if r.MaxACU < 0 || r.MaxACU > 256 {
		return fmt.Errorf("readers: max_acu must be 0 (leave) or up to 256 (got %g)", r.MaxACU)
	}
	if err := r.TargetTracking.validate("readers.target_tracking", readerMetrics, true); err != nil {
		return err
	}
	if r.TargetTracking.Metric != "reader_cpu" && r.TargetTracking.Metric != "reader_connections" {
		return fmt.Errorf("readers.target_tracking.metric: Aurora's predefined metrics are reader_cpu and reader_connections (got %q)", r.TargetTracking.Metric)
	}
	for i := range r.Steps {
		if err := r.Steps[i].validate(fmt.Sprintf("readers.steps[%d]", i), readerMetrics); err != nil {
			return err
		}
	}
	a := &f.ASGs
	if a.InstanceWarmup < 0 {
		return fmt.Errorf("asgs.instance_warmup must not be negative")
	}
	for i := range a.TargetTracking {
		if err := a.TargetTracking[i].validate(fmt.Sprintf("asgs.target_tracking[%d]", i), asgMetrics, false); err != nil {
			return err
		}
	}
	for i := range a.Steps {
		if err := a.Steps[i].validate(fmt.Sprintf("asgs.steps[%d]", i), asgMetrics); err != nil {
			return err
		}
	}
	if s := a.Scheduled; s != nil {
		if s.Lead <= 0 || s.Hold <= 0 {
			return fmt.Errorf("asgs.scheduled: lead and hold must be positive")
		}
		if len(s.Desired) == 0 {
			return fmt.Errorf("asgs.scheduled.desired: give a capacity per tier (web, api)")
		}
		for tier, n := range s.Desired {
			if n < 0 {
				return fmt.Errorf("asgs.scheduled.desired.%s must not be negative", tier)
			}
		}
	}
	return nil
}

func (t *TargetTracking) validate(where string, metrics map[string]bool, cooldowns bool) error {
	switch {
	case !metrics[t.Metric]:
		return fmt.Errorf("%s.metric: unknown metric %q", where, t.Metric)
	case t.Target <= 0 && len(t.TierTargets) == 0:
		return fmt.Errorf("%s: target (or tier_targets) must be positive", where)
	case t.HighDatapoints < 1 || t.LowDatapoints < 1 || t.HighDatapoints > 60 || t.LowDatapoints > 60:
		return fmt.Errorf("%s: high_datapoints and low_datapoints must be 1-60", where)
	case t.LowRatio <= 0 || t.LowRatio > 1:
		return fmt.Errorf("%s.low_ratio must be in (0, 1] (got %g)", where, t.LowRatio)
	case t.ScaleOutCooldown < 0 || t.ScaleInCooldown < 0:
		return fmt.Errorf("%s: cooldowns must not be negative", where)
	case !cooldowns && (t.ScaleOutCooldown != 0 || t.ScaleInCooldown != 0):
		return fmt.Errorf("%s: EC2 Auto Scaling target tracking has no cooldowns; use asgs.instance_warmup", where)
	}
	for tier, v := range t.TierTargets {
		if v <= 0 {
			return fmt.Errorf("%s.tier_targets.%s must be positive", where, tier)
		}
	}
	return nil
}

func (s *StepPolicy) validate(where string, metrics map[string]bool) error {
	switch {
	case s.Name == "":
		return fmt.Errorf("%s.name is required", where)
	case !metrics[s.Metric]:
		return fmt.Errorf("%s.metric: unknown metric %q", where, s.Metric)
	case s.Datapoints < 1 || s.Datapoints > 60:
		return fmt.Errorf("%s.datapoints must be 1-60", where)
	case s.Cooldown < 0:
		return fmt.Errorf("%s.cooldown must not be negative", where)
	case len(s.Adjustments) == 0:
		return fmt.Errorf("%s.adjustments: at least one", where)
	}
	for i, a := range s.Adjustments {
		if a.Add < 1 {
			return fmt.Errorf("%s.adjustments[%d].add must be >= 1", where, i)
		}
		if i > 0 && a.Above <= s.Adjustments[i-1].Above {
			return fmt.Errorf("%s.adjustments must be in increasing order of above", where)
		}
	}
	return nil
}

// target is the policy's target for an ASG tier.
func (t *TargetTracking) target(tier string) (float64, bool) {
	if v, ok := t.TierTargets[tier]; ok {
		return v, true
	}
	return t.Target, t.Target > 0
}
