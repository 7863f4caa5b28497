package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// freshnessScenario: one provisioned cluster whose three readers carry
// one fresh source each (Enhanced Monitoring at 1 s, at 60 s, Performance
// Insights alone), the first with Performance Insights too (its DB load
// on the db_load schedule: 60 s periods once a minute); the users step from 1,000 to 6,000 at T0 (5 minutes
// in), which takes each reader from about 10 % to about 60 % CPU.
const freshnessScenario = `
name: freshness-step
fleets:
  - name: step
    region: us-east-1
    cluster:
      id: step-db
      instances:
        - {id: step-db-writer, class: db.r6g.2xlarge, tier: 0, writer: true}
        - {id: step-db-em1, class: db.r6g.2xlarge, tier: 1, monitoring_interval: 1, performance_insights: true}
        - {id: step-db-em60, class: db.r6g.2xlarge, tier: 1, monitoring_interval: 60}
        - {id: step-db-pi, class: db.r6g.2xlarge, tier: 1, performance_insights: true}
    traffic:
      event_start: 5m
      reads_per_user_second: 1
      writes_per_user_second: 0.01
      keyframes: [{at: -5m, users: 1000}, {at: 0s, users: 1000}, {at: 1s, users: 6000}]
`

// The shipped exporter configuration's intervals (deploy/aurora_exporter).
const freshnessConfig = `
targets:
  - regions: [us-east-1]
    clusters: {names: [step-db]}
refresh:
  discovery_interval: 30s
  cloudwatch_interval: 30s
  dns_interval: 5s
  enhanced_monitoring_interval: 5s
  performance_insights_interval: 10s
dns:
  server: ${dns}
`

type freshnessProbe struct {
	label    string
	unit     string // for b.ReportMetric
	family   string
	instance string
	// level maps the emulator's truth for the instance to the family's value.
	level func(in sim.InstanceTruth) float64
}

// BenchmarkFreshness measures, on the emulator's virtual clock, how long
// after a traffic step each family's rendered /metrics output first shows
// the new level (90 % of the way from the old truth to the new): the
// CloudWatch CPU against Enhanced Monitoring at 1 s and 60 s and
// Performance Insights' DB load. It prints the seconds; it asserts no
// timing (they depend on the model's and AWS's delays, not on this
// machine).
func BenchmarkFreshness(b *testing.B) {
	cpu := func(in sim.InstanceTruth) float64 { return in.CPU / 100 }
	probes := []freshnessProbe{
		{"CloudWatch CPU (aurora_instance_cpu_utilization_ratio)", "cloudwatch_cpu_s", "aurora_instance_cpu_utilization_ratio", "step-db-em1", cpu},
		{"Enhanced Monitoring CPU at 1 s (aurora_instance_os_cpu_utilization_ratio)", "em_1s_cpu_s", "aurora_instance_os_cpu_utilization_ratio", "step-db-em1", cpu},
		{"Enhanced Monitoring CPU at 60 s (aurora_instance_os_cpu_utilization_ratio)", "em_60s_cpu_s", "aurora_instance_os_cpu_utilization_ratio", "step-db-em60", cpu},
		{"Performance Insights DB load, fresh (aurora_instance_db_load_average_active_sessions)", "pi_db_load_s", "aurora_instance_db_load_average_active_sessions", "step-db-pi",
			func(in sim.InstanceTruth) float64 { return in.CPU / 100 * 8 }}, // r6g.2xlarge: 8 vCPUs, below saturation
		{"Performance Insights DB load, db_load (aurora_instance_db_load_average_active_sessions)", "pi_db_load_60s_s", "aurora_instance_db_load_average_active_sessions", "step-db-em1",
			func(in sim.InstanceTruth) float64 { return in.CPU / 100 * 8 }},
	}
	sc, err := sim.ParseScenario([]byte(freshnessScenario))
	if err != nil {
		b.Fatal(err)
	}
	env := simtest.StartScenario(b, sc, awsapi.Services...)
	cfg, err := collector.ParseConfig("freshness.yml", []byte(strings.ReplaceAll(freshnessConfig, "${dns}", env.StartDNS(b))))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	p, err := collector.NewPipeline(ctx, env.Config(b, "us-east-1"), cfg, collector.PipelineOptions{Clock: env.World.Clock()})
	if err != nil {
		b.Fatal(err)
	}
	type scheduled struct {
		src   collector.Source
		every time.Duration
		next  time.Time
	}
	now := env.World.Now()
	var sources []*scheduled
	for _, s := range []struct {
		src   collector.Source
		every time.Duration
	}{
		{p.Discovery, cfg.Refresh.Discovery}, {p.CloudWatch, cfg.Refresh.CloudWatch}, {p.DNS, cfg.Refresh.DNS},
		{p.EnhancedMonitoring, cfg.Refresh.EnhancedMonitoring}, {p.PerformanceInsights, cfg.Refresh.PerformanceInsights},
	} {
		sources = append(sources, &scheduled{s.src, s.every, now})
	}
	// tick advances the world by a second and runs every refresh that is
	// due, as the runner's tickers would, then renders /metrics.
	tick := func() string {
		env.Advance(b, time.Second)
		t := env.World.Now()
		for _, s := range sources {
			if !t.Before(s.next) {
				_ = p.Runner.RefreshOnce(ctx, s.src)
				s.next = t.Add(s.every)
			}
		}
		if _, err := p.Render(); err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := p.Rendered().WriteText(&buf); err != nil {
			b.Fatal(err)
		}
		return buf.String()
	}
	truth := func() map[string]sim.InstanceTruth {
		c, _ := env.World.Truth().Cluster("step-db")
		out := map[string]sim.InstanceTruth{}
		for _, in := range c.Instances {
			out[in.ID] = in
		}
		return out
	}

	step := now.Add(sc.Fleets[0].Traffic.EventStart) // the world starts at the scenario's start
	for env.World.Now().Before(step) {
		tick()
	}
	before := truth()
	const horizon = 6 * time.Minute
	var texts []string // one rendering per second after the step
	for env.World.Now().Before(step.Add(horizon)) {
		texts = append(texts, tick())
	}
	after := truth()

	b.Logf("step at %s", step.Format(time.TimeOnly))
	var lines []string
	seconds := map[string]float64{}
	for _, pr := range probes {
		old, now := pr.level(before[pr.instance]), pr.level(after[pr.instance])
		threshold := old + 0.9*(now-old)
		seen := -1
		for i, text := range texts {
			if v, ok := seriesValue(text, pr.family, pr.instance); ok && (v-threshold)*(now-old) >= 0 {
				seen = i + 1
				break
			}
		}
		got := "not within " + horizon.String()
		if seen > 0 {
			got = fmt.Sprintf("%d s", seen)
			seconds[pr.unit] = float64(seen)
		}
		lines = append(lines, fmt.Sprintf("freshness: %-90s %s (level %.3f -> %.3f)", pr.label, got, old, now))
	}
	fmt.Println(strings.Join(lines, "\n"))
	// A benchmark with a sub-benchmark runs once: the measurement above is
	// not repeated for -benchtime; the sub-benchmark only reports it.
	b.Run("after_step", func(b *testing.B) {
		for unit, v := range seconds {
			b.ReportMetric(v, unit)
		}
		b.ReportMetric(0, "ns/op")
	})
}

// seriesValue reads a series of family for db_instance from exposition text.
func seriesValue(text, family, instance string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, family+"{") || !strings.Contains(line, `db_instance="`+instance+`"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil || math.IsNaN(v) {
			return 0, false
		}
		return v, true
	}
	return 0, false
}
