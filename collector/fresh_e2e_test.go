package collector_test

import (
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// freshScenario is steady with the fresh sources on: shop-db's writer has
// Enhanced Monitoring at 1 s and Performance Insights, reader-1 only
// Performance Insights, reader-2 neither (CloudWatch fallback); blog-db
// (Serverless v2, another account and region) both, at 5 s.
func freshScenario(t *testing.T) *sim.Scenario {
	t.Helper()
	sc, err := sim.LoadScenario("steady")
	if err != nil {
		t.Fatal(err)
	}
	off, one := 0, 1
	no := false
	for i := range sc.Fleets {
		c := &sc.Fleets[i].Cluster
		c.PerformanceInsights = true
		switch c.ID {
		case "shop-db":
			c.Instances[0].MonitoringInterval = &one
			c.Instances[1].MonitoringInterval = &off
			c.Instances[2].MonitoringInterval = &off
			c.Instances[2].PerformanceInsights = &no
		case "blog-db":
			c.MonitoringInterval = 5
		}
	}
	return sc
}

const freshConfig = `
targets:
  - regions: [us-east-1]
    clusters: {names: [shop-db]}
  - name: blog
    role_arn: arn:aws:iam::210987654321:role/aurora-surge-readonly
    regions: [eu-west-1]
    clusters: {tags: {app: blog}}
refresh:
  stale_after: 2m
dns:
  server: ${dns}
`

func startFreshStack(t *testing.T, sc *sim.Scenario, configYAML string) *stack {
	t.Helper()
	return startStackOn(t, simtest.StartScenario(t, sc, awsapi.Services...), configYAML)
}

func signalSource(t *testing.T, got map[string][]sample, instance string) string {
	t.Helper()
	found := matching(got, "aurora_instance_fresh_signal_source", "db_instance", instance)
	if len(found) != 1 || found[0].value != 1 {
		t.Fatalf("%s: fresh_signal_source %v, want one series of value 1", instance, found)
	}
	return found[0].labels["source"]
}

// TestFreshSourcesMatchTruth: each instance's fresh signal comes from the
// source it has, values match the emulator's model, instances without
// either fall back to CloudWatch, and the calls are batched.
func TestFreshSourcesMatchTruth(t *testing.T) {
	s := startFreshStack(t, freshScenario(t), freshConfig)
	s.advance(t, 3*time.Minute, 5*time.Second)
	got := s.gather(t)
	for _, src := range []string{"enhanced_monitoring", "performance_insights"} {
		if one(t, got, "aurora_exporter_source_up", "source", src) != 1 {
			t.Fatalf("source %s down", src)
		}
	}
	truth := s.env.World.Truth()
	shop, _ := truth.Cluster("shop-db")
	blog, _ := truth.Cluster("blog-db")
	cpu := map[string]float64{}
	for _, in := range append(shop.Instances, blog.Instances...) {
		cpu[in.ID] = in.CPU / 100
	}

	for id, want := range map[string]string{
		"shop-db-writer": "enhanced_monitoring", "shop-db-reader-1": "performance_insights", "shop-db-reader-2": "cloudwatch",
		"blog-db-writer": "enhanced_monitoring", "blog-db-reader-1": "enhanced_monitoring",
	} {
		if src := signalSource(t, got, id); src != want {
			t.Errorf("%s: fresh signal from %s, want %s", id, src, want)
		}
	}
	// Enhanced Monitoring at 1 s, read every 5 s with a 2 s delivery delay.
	if age := one(t, got, "aurora_instance_fresh_signal_age_seconds", "db_instance", "shop-db-writer"); age < 1 || age > 8 {
		t.Errorf("writer's fresh signal is %gs old", age)
	}
	none(t, got, "aurora_instance_fresh_signal_age_seconds", "db_instance", "shop-db-reader-2")

	// OS CPU: Enhanced Monitoring for the writer, Performance Insights for
	// reader-1, nothing for reader-2; the reader role averages reader-1.
	near(t, "writer os cpu", one(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", "shop-db-writer", "role", "writer"), cpu["shop-db-writer"], 0.02)
	near(t, "reader-1 os cpu", one(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", "shop-db-reader-1"), cpu["shop-db-reader-1"], 0.02)
	none(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", "shop-db-reader-2")
	near(t, "reader role os cpu", one(t, got, "aurora_role_os_cpu_utilization_ratio", "db_cluster", "shop-db", "role", "reader"), cpu["shop-db-reader-1"], 0.02)

	// DB load = utilisation x vCPUs (r6g.xlarge: 4) below saturation.
	for _, id := range []string{"shop-db-writer", "shop-db-reader-1"} {
		near(t, id+" db load", one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", id), cpu[id]*4, 0.02)
		near(t, id+" db load per vCPU", one(t, got, "aurora_instance_db_load_per_vcpu_ratio", "db_instance", id), cpu[id], 0.02)
	}
	none(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-reader-2")
	near(t, "writer role db load", one(t, got, "aurora_role_db_load_average_active_sessions", "db_cluster", "shop-db", "role", "writer"), cpu["shop-db-writer"]*4, 0.02)

	// Serverless v2: vCPUs from the document (current capacity / 4).
	for _, in := range blog.Instances {
		vcpus := math.Max(1, math.Round(in.ACU/4))
		near(t, in.ID+" db load per vCPU", one(t, got, "aurora_instance_db_load_per_vcpu_ratio", "db_instance", in.ID, "account", "blog"), in.CPU/100, 0.03)
		near(t, in.ID+" db load", one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", in.ID), in.CPU/100*vcpus, 0.03)
	}

	// Batching: one FilterLogEvents per account and region per refresh
	// (two instances each at most); one GetResourceMetrics per instance
	// on the fresh schedule (reader-1) at every refresh, and per instance
	// on the db_load schedule (the three with Enhanced Monitoring) once a
	// minute, at its own phase (TestPerformanceInsightsSchedules).
	s.env.World.Calls.Reset()
	if err := s.p.Runner.RefreshOnce(ctx, s.p.EnhancedMonitoring); err != nil {
		t.Fatal(err)
	}
	if err := s.p.Runner.RefreshOnce(ctx, s.p.PerformanceInsights); err != nil {
		t.Fatal(err)
	}
	calls, _ := s.env.World.Calls.Snapshot()
	count := map[string]float64{}
	for _, c := range calls {
		count[c.Service+"/"+c.Operation] += float64(c.Count)
	}
	if one(t, s.gather(t), "aurora_exporter_performance_insights_not_authorized_instances") != 0 {
		t.Error("instances counted as refused in a healthy fleet")
	}
	if count["logs/FilterLogEvents"] != 2 || count["pi/GetResourceMetrics"] < 1 || count["pi/GetResourceMetrics"] > 4 {
		t.Errorf("one refresh of each made %v; want 2 FilterLogEvents (one per scope), 1-4 GetResourceMetrics (reader-1, and the db_load instances due)", count)
	}
	got = s.gather(t)
	if one(t, got, "aurora_exporter_aws_calls_total", "service", "CloudWatch Logs", "operation", "FilterLogEvents", "outcome", "success") < 2 ||
		one(t, got, "aurora_exporter_aws_calls_total", "service", "PI", "operation", "GetResourceMetrics", "outcome", "success") < 1 {
		t.Error("the fresh sources' calls are not counted")
	}
}

// TestFreshSourcesThrottledThenStale: a throttled source keeps its last
// good data (up=0, throttles counted), recovers, and past stale_after its
// data is dropped and every instance falls back to CloudWatch.
func TestFreshSourcesThrottledThenStale(t *testing.T) {
	s := startFreshStack(t, freshScenario(t), freshConfig)
	s.advance(t, 2*time.Minute, 5*time.Second)
	got := s.gather(t)
	writerCPU := one(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", "shop-db-writer")
	writerLoad := one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-writer")

	for _, c := range []struct{ service, source, sdkService, op string }{
		{"logs", "enhanced_monitoring", "CloudWatch Logs", "FilterLogEvents"},
		{"pi", "performance_insights", "PI", "GetResourceMetrics"},
	} {
		id, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: c.service, Rate: 1}, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.advanceFailing(t, 30*time.Second, 5*time.Second)
		got := s.gather(t)
		if one(t, got, "aurora_exporter_source_up", "source", c.source) != 0 {
			t.Fatalf("%s up while throttled", c.source)
		}
		if one(t, got, "aurora_exporter_aws_calls_total", "service", c.sdkService, "operation", c.op, "outcome", "throttle") < 1 {
			t.Fatalf("%s throttles not counted: %v", c.source, got["aurora_exporter_aws_calls_total"])
		}
		if one(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", "shop-db-writer") != writerCPU ||
			one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-writer") != writerLoad {
			t.Fatalf("%s throttled: last good values not served", c.source)
		}
		if age := one(t, got, "aurora_exporter_source_data_age_seconds", "source", c.source); age < 25 {
			t.Fatalf("%s data age %gs after 30 s of throttling", c.source, age)
		}
		// The served signal's age keeps moving while nothing new arrives,
		// so the rules' freshness bound can drop a frozen value.
		if c.source == "enhanced_monitoring" {
			if age := one(t, got, "aurora_instance_fresh_signal_age_seconds", "db_instance", "shop-db-writer"); age < 25 {
				t.Fatalf("writer's fresh signal age %gs after 30 s without a new document", age)
			}
		}
		s.env.World.Faults.Remove(id)
		s.advance(t, 5*time.Second, 5*time.Second)
		if one(t, s.gather(t), "aurora_exporter_source_up", "source", c.source) != 1 {
			t.Fatalf("%s did not recover", c.source)
		}
	}

	// Both throttled past stale_after (2m): the fresh families go, and the
	// fallback says so.
	for _, svc := range []string{"logs", "pi"} {
		if _, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: svc, Rate: 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	s.advanceFailing(t, 150*time.Second, 15*time.Second)
	got = s.gather(t)
	none(t, got, "aurora_instance_os_cpu_utilization_ratio")
	none(t, got, "aurora_instance_db_load_average_active_sessions")
	none(t, got, "aurora_instance_fresh_signal_age_seconds")
	if src := signalSource(t, got, "shop-db-writer"); src != "cloudwatch" {
		t.Fatalf("stale fresh data: writer's signal from %s", src)
	}
	one(t, got, "aurora_instance_cpu_utilization_ratio", "db_instance", "shop-db-writer") // CloudWatch still serves
}

// TestFreshReaderCreatedMidRun: a reader created with Enhanced Monitoring
// joins the batch once available; until its stream has a document it is
// absent from FilterLogEvents' answer, which costs neither the source nor
// the other streams anything; then its document is served.
func TestFreshReaderCreatedMidRun(t *testing.T) {
	sc := freshScenario(t)
	sc.Params.EnhancedMonitoringDelay = 20 * time.Second // a wide "stream not there yet" window
	s := startFreshStack(t, sc, freshConfig)
	s.advance(t, time.Minute, 5*time.Second)
	db := rds.NewFromConfig(s.env.Config(t, "us-east-1"))
	if _, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("shop-db-reader-3"), DBClusterIdentifier: aws.String("shop-db"),
		DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String("aurora-postgresql"),
		MonitoringInterval: aws.Int32(1), MonitoringRoleArn: aws.String("arn:aws:iam::123456789012:role/rds-monitoring-role"),
		EnablePerformanceInsights: aws.Bool(false),
	}); err != nil {
		t.Fatal(err)
	}
	var sawAbsent, sawPresent bool
	for step := 0; step < 140 && !sawPresent; step++ {
		s.advance(t, 5*time.Second, 5*time.Second) // fails the test on any refresh error
		got := s.gather(t)
		if len(matching(got, "aurora_instance_info", "db_instance", "shop-db-reader-3", "status", "available")) == 0 {
			continue
		}
		if one(t, got, "aurora_exporter_source_up", "source", "enhanced_monitoring") != 1 {
			t.Fatal("enhanced_monitoring down while the new stream is missing")
		}
		switch signalSource(t, got, "shop-db-reader-3") {
		case "cloudwatch":
			sawAbsent = true
			one(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", "shop-db-writer") // the others keep theirs
		case "enhanced_monitoring":
			sawPresent = true
		}
	}
	if !sawAbsent || !sawPresent {
		t.Fatalf("new reader: seen without a stream %v, with it %v", sawAbsent, sawPresent)
	}
	// Its first documents show it before the clients' DNS caches reach it;
	// once they have, its document follows the model.
	s.advance(t, time.Minute, 5*time.Second)
	got := s.gather(t)
	truth, _ := s.env.World.Truth().Cluster("shop-db")
	found := false
	for _, in := range truth.Instances {
		if in.ID == "shop-db-reader-3" {
			found = true
			near(t, "new reader os cpu", one(t, got, "aurora_instance_os_cpu_utilization_ratio", "db_instance", in.ID), in.CPU/100, 0.05)
		}
	}
	if !found {
		t.Fatal("the new reader is not in the emulator's truth")
	}
}

// TestPerformanceInsightsTurnedOffSinceDiscovery: an instance that is no
// longer a Performance Insights data source (NotAuthorizedException)
// falls back alone; the source stays up and the others keep their data.
func TestPerformanceInsightsTurnedOffSinceDiscovery(t *testing.T) {
	s := startFreshStack(t, freshScenario(t), freshConfig)
	// Two minutes: the writer's DB load comes in 60 s periods, the first
	// published a few seconds after the emulator's first whole minute.
	s.advance(t, 2*time.Minute, 5*time.Second)
	if signalSource(t, s.gather(t), "shop-db-reader-1") != "performance_insights" {
		t.Fatal("reader-1 does not start on Performance Insights")
	}
	// Turned off behind discovery's back (as an operator would, between
	// two discovery refreshes).
	s.env.World.InRegion(sim.CallContext{Account: "123456789012", Region: "us-east-1"}, func(r *sim.Region, _ time.Time) *sim.APIError {
		in := r.Instances["shop-db-reader-1"]
		in.PerformanceInsights = false
		delete(r.Monitoring.PI, in.ResourceID)
		return nil
	})
	if err := s.p.Runner.RefreshOnce(ctx, s.p.PerformanceInsights); err != nil {
		t.Fatalf("one instance without Performance Insights failed the source: %v", err)
	}
	got := s.gather(t)
	if src := signalSource(t, got, "shop-db-reader-1"); src != "cloudwatch" {
		t.Fatalf("reader-1's signal from %s after NotAuthorizedException", src)
	}
	none(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-reader-1")
	one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-writer")
	if one(t, got, "aurora_exporter_aws_calls_total", "service", "PI", "operation", "GetResourceMetrics", "outcome", "error") < 1 {
		t.Fatal("the refused call is not counted")
	}
	if one(t, got, "aurora_exporter_performance_insights_not_authorized_instances") != 1 {
		t.Fatal("the instance refused is not counted")
	}
}

// TestFreshSourcesRerenderOnlyWithData: in a fleet without the features
// the fresh sources refresh every few seconds with nothing to read, and
// must not re-render the families each time; with data they do.
func TestFreshSourcesRerenderOnlyWithData(t *testing.T) {
	for _, c := range []struct {
		name     string
		sc       func(t *testing.T) *sim.Scenario
		rerender bool
	}{
		{"features off", func(t *testing.T) *sim.Scenario { sc, _ := sim.LoadScenario("steady"); return sc }, false},
		{"features on", freshScenario, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startFreshStack(t, c.sc(t), freshConfig)
			s.advance(t, time.Minute, 5*time.Second)
			if _, err := s.p.Render(); err != nil {
				t.Fatal(err)
			}
			s.env.Advance(t, 5*time.Second)
			for _, src := range []collector.Source{s.p.EnhancedMonitoring, s.p.PerformanceInsights} {
				if err := s.p.Runner.RefreshOnce(ctx, src); err != nil {
					t.Fatal(err)
				}
			}
			if did, _ := s.p.Render(); did != c.rerender {
				t.Fatalf("re-rendered %v after the fresh sources refreshed, want %v", did, c.rerender)
			}
		})
	}
}

// TestSilentStreamFallsBack: a stream that stops delivering while the API
// answers (monitoring turned off behind discovery's back, an instance that
// no longer writes) is dropped after the look-back, and the instance
// falls back to its next source instead of serving an old document.
func TestSilentStreamFallsBack(t *testing.T) {
	s := startFreshStack(t, freshScenario(t), freshConfig)
	s.advance(t, time.Minute, 5*time.Second)
	if src := signalSource(t, s.gather(t), "shop-db-writer"); src != "enhanced_monitoring" {
		t.Fatalf("writer starts on %s", src)
	}
	s.env.World.InRegion(sim.CallContext{Account: "123456789012", Region: "us-east-1"}, func(r *sim.Region, _ time.Time) *sim.APIError {
		r.Instances["shop-db-writer"].MonitoringInterval = 0
		return nil
	})
	for range 14 { // 70 s, past the 1 m look-back; discovery not refreshed
		s.env.Advance(t, 5*time.Second)
		for _, src := range []collector.Source{s.p.EnhancedMonitoring, s.p.PerformanceInsights} {
			if err := s.p.Runner.RefreshOnce(ctx, src); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := s.gather(t)
	if src := signalSource(t, got, "shop-db-writer"); src != "performance_insights" {
		t.Fatalf("silent stream: writer's signal from %s, want performance_insights", src)
	}
	if age := one(t, got, "aurora_instance_fresh_signal_age_seconds", "db_instance", "shop-db-writer"); age > 15 {
		t.Fatalf("writer's fresh signal %gs old after falling back", age)
	}
}
