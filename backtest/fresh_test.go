package backtest

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aurora-surge/aurora-surge/sim"
)

func TestFreshSourcesRefusesAnIntervalRDSRefuses(t *testing.T) {
	for _, s := range []int{0, 1, 5, 10, 15, 30, 60} {
		if err := (FreshSources{EnhancedMonitoringSeconds: s}).Validate(); err != nil {
			t.Errorf("%d s: %v", s, err)
		}
	}
	for _, s := range []int{-1, 2, 61, 120} {
		if err := (FreshSources{EnhancedMonitoringSeconds: s}).Validate(); err == nil {
			t.Errorf("%d s accepted", s)
		}
	}
	if _, err := Run(context.Background(), Options{Scenario: shortAvalanche(t), Policies: []string{"none"}, Fresh: FreshSources{EnhancedMonitoringSeconds: 7}}); err == nil || !strings.Contains(err.Error(), "7 s") {
		t.Errorf("Run with a 7 s interval: %v", err)
	}
}

// The option reaches the world: the emulator's RDS API, read through the
// SDK as the exporter reads it, reports the features on every instance
// and on the cluster (the default for readers the scaler creates).
func TestFreshSourcesTurnTheFeaturesOnInTheWorld(t *testing.T) {
	sc := shortAvalanche(t)
	untouched, err := copyScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	FreshSources{}.apply(untouched)
	if !reflect.DeepEqual(untouched, sc) {
		t.Error("the zero option changed the scenario")
	}
	on, err := copyScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	FreshSources{EnhancedMonitoringSeconds: 1, PerformanceInsights: true}.apply(on)
	emu, err := startEmulator(on, time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ctx := context.Background()
	cfg, err := emu.AWSConfig(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	client := rds.NewFromConfig(cfg)
	out, err := client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBInstances) != 2 {
		t.Fatalf("%d instances, want the scenario's 2", len(out.DBInstances))
	}
	for _, in := range out.DBInstances {
		if aws.ToInt32(in.MonitoringInterval) != 1 || !aws.ToBool(in.PerformanceInsightsEnabled) {
			t.Errorf("%s: MonitoringInterval %d, PerformanceInsightsEnabled %v; want 1, true",
				aws.ToString(in.DBInstanceIdentifier), aws.ToInt32(in.MonitoringInterval), aws.ToBool(in.PerformanceInsightsEnabled))
		}
	}
	cl, err := client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.DBClusters) != 1 || aws.ToInt32(cl.DBClusters[0].MonitoringInterval) != 1 || !aws.ToBool(cl.DBClusters[0].PerformanceInsightsEnabled) {
		t.Errorf("cluster defaults not on: %+v", cl.DBClusters)
	}
}

// report.json names the fresh sources of a run that had them, and has no
// such field for a run without (so its bytes stay as before).
func TestReportRecordsTheFreshSources(t *testing.T) {
	r := Report{Scenario: "x"}
	var without bytes.Buffer
	if err := r.WriteJSON(&without); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(without.String(), "fresh") {
		t.Errorf("a run without the option mentions it:\n%s", without.String())
	}
	r.FreshSources = &FreshSources{EnhancedMonitoringSeconds: 1, PerformanceInsights: true}
	var with, md bytes.Buffer
	if err := r.WriteJSON(&with); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(with.String(), `"fresh_sources": {
    "enhanced_monitoring_seconds": 1,
    "performance_insights": true
  }`) {
		t.Errorf("report.json:\n%s", with.String())
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Fresh sources on every instance: Enhanced Monitoring at 1 s, Performance Insights.") {
		t.Errorf("report.md:\n%s", md.String())
	}
}

// The fresh path end to end: with Enhanced Monitoring at 1 s on every
// instance, surge's first action on field-avalanche comes within 30 s of
// the onset (on CloudWatch alone it takes minutes: the publication lag).
// What it rests on: the fresh OS CPU reaches /metrics within seconds, the
// fresh step rules fire at the evaluation that sees it (for: 0s), and the
// scaler route's group_wait is 0.
func TestSurgeActsWithin30sOnEnhancedMonitoring(t *testing.T) {
	if testing.Short() {
		t.Skip("plays field-avalanche")
	}
	sc, err := sim.LoadScenario("field-avalanche")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Scenario: sc, Policies: []string{"surge"}, Repo: RepoAt(".."),
		After: time.Minute, Fresh: FreshSources{EnhancedMonitoringSeconds: 1}})
	if err != nil {
		t.Fatal(err)
	}
	surge := res.Report.Policies[0]
	if surge.FirstActionAfterOnsetSeconds == nil {
		t.Fatalf("surge never acted after the onset: %+v", surge)
	}
	if first := *surge.FirstActionAfterOnsetSeconds; first > 30 {
		t.Errorf("surge's first action came %v s after the onset, want within 30 s", first)
	}
}
