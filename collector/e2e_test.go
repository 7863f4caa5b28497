package collector_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

// stack is the exporter's pipeline running against an in-process
// emulator on the emulator's virtual clock, refreshed by the test.
type stack struct {
	env *simtest.Env
	p   *collector.Pipeline
	reg *prometheus.Registry
}

func startStack(t *testing.T, scenario, configYAML string) *stack {
	t.Helper()
	return startStackOn(t, simtest.Start(t, scenario, awsapi.Services...), configYAML)
}

// startStackOn runs a pipeline against env, configured by configYAML with
// ${dns} replaced by env's DNS server.
func startStackOn(t *testing.T, env *simtest.Env, configYAML string) *stack {
	t.Helper()
	return startStackWith(t, env, configYAML, nil)
}

// startStackWith is startStackOn with a last change to the SDK
// configuration (a recording HTTP client), when edit is not nil.
func startStackWith(t *testing.T, env *simtest.Env, configYAML string, edit func(*aws.Config)) *stack {
	t.Helper()
	dnsAddr := env.StartDNS(t)
	cfg, err := collector.ParseConfig("e2e.yml", []byte(strings.ReplaceAll(configYAML, "${dns}", dnsAddr)))
	if err != nil {
		t.Fatal(err)
	}
	calls := collector.NewCallCounter()
	awsCfg := env.Config(t, "us-east-1")
	awsCfg.APIOptions = append(awsCfg.APIOptions, calls.Middleware)
	if edit != nil {
		edit(&awsCfg)
	}
	p, err := collector.NewPipeline(ctx, awsCfg, cfg, collector.PipelineOptions{Clock: env.World.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(p, calls)
	return &stack{env: env, p: p, reg: reg}
}

// advance moves virtual time in refresh-sized steps, refreshing every
// source after each, as the background runner would.
func (s *stack) advance(t *testing.T, d, step time.Duration) {
	t.Helper()
	for done := time.Duration(0); done < d; done += step {
		s.env.Advance(t, min(step, d-done))
		if err := s.p.RefreshAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// advanceFailing is advance for a fleet under injected faults: refresh
// errors are the point, not a test failure.
func (s *stack) advanceFailing(t *testing.T, d, step time.Duration) {
	t.Helper()
	for done := time.Duration(0); done < d; done += step {
		s.env.Advance(t, min(step, d-done))
		_ = s.p.RefreshAll(ctx)
	}
}

type sample struct {
	labels map[string]string
	value  float64
}

func (s *stack) gather(t *testing.T) map[string][]sample {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]sample{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] = append(out[mf.GetName()], sample{labels: labelMap(m), value: value(m)})
		}
	}
	return out
}

func labelMap(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

// matching returns the samples of name with every given label pair.
func matching(got map[string][]sample, name string, match ...string) []sample {
	var found []sample
	for _, s := range got[name] {
		ok := true
		for i := 0; i+1 < len(match); i += 2 {
			if s.labels[match[i]] != match[i+1] {
				ok = false
			}
		}
		if ok {
			found = append(found, s)
		}
	}
	return found
}

// one returns the single sample of name matching every given label.
func one(t *testing.T, got map[string][]sample, name string, match ...string) float64 {
	t.Helper()
	found := matching(got, name, match...)
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1 (all: %v)", name, match, len(found), got[name])
	}
	return found[0].value
}

func none(t *testing.T, got map[string][]sample, name string, match ...string) {
	t.Helper()
	if found := matching(got, name, match...); len(found) > 0 {
		t.Fatalf("%s%v present: %v", name, match, found)
	}
}

func near(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Max(math.Abs(want), 1e-9) {
		t.Fatalf("%s: exporter %g, emulator truth %g", what, got, want)
	}
}

const steadyConfig = `
targets:
  - regions: [us-east-1]
    clusters: {names: [shop-db]}
    asgs: {names: [shop-web]}
  - name: blog
    role_arn: arn:aws:iam::210987654321:role/aurora-surge-readonly
    regions: [eu-west-1]
    clusters: {tags: {app: blog}}
dns:
  server: ${dns}
`

// TestSteadyValuesMatchTruth checks every family against the emulator's
// ground truth under constant load, across two accounts (one through
// AssumeRole) and two regions.
func TestSteadyValuesMatchTruth(t *testing.T) {
	s := startStack(t, "steady", steadyConfig)
	s.advance(t, 5*time.Minute, time.Minute)
	if !s.p.Ready() {
		t.Fatal("pipeline not ready after refreshing every source")
	}
	got := s.gather(t)
	truth := s.env.World.Truth()
	shop, _ := truth.Cluster("shop-db")
	blog, _ := truth.Cluster("blog-db")
	const acct = "123456789012"

	for _, src := range []string{"discovery", "cloudwatch", "dns"} {
		if one(t, got, "aurora_exporter_source_up", "source", src) != 1 {
			t.Fatalf("source %s down", src)
		}
	}
	// Info and roles from the RDS API.
	if one(t, got, "aurora_cluster_info", "db_cluster", "shop-db", "writer", "shop-db-writer", "account", acct, "region", "us-east-1") != 1 {
		t.Fatal("cluster info")
	}
	one(t, got, "aurora_cluster_info", "db_cluster", "blog-db", "account", "blog", "region", "eu-west-1")
	for _, in := range shop.Instances {
		one(t, got, "aurora_instance_info", "db_instance", in.ID, "role", in.Role, "class", in.Class, "promotion_tier", fmt.Sprint(in.Tier), "status", in.Status)
		// CloudWatch families per instance.
		near(t, in.ID+" cpu", one(t, got, "aurora_instance_cpu_utilization_ratio", "db_instance", in.ID, "role", in.Role), in.CPU/100, 0.02)
		near(t, in.ID+" connections", one(t, got, "aurora_instance_database_connections", "db_instance", in.ID), in.Connections, 0.02)
		near(t, in.ID+" read latency", one(t, got, "aurora_instance_read_latency_seconds", "db_instance", in.ID), in.ReadLatency, 0.02)
		near(t, in.ID+" write latency", one(t, got, "aurora_instance_write_latency_seconds", "db_instance", in.ID), in.WriteLatency, 0.02)
	}
	var readerCPU float64
	var readers int
	for _, in := range shop.Instances {
		if in.Role == "reader" {
			readerCPU += in.CPU
			readers++
		}
	}
	near(t, "reader role cpu", one(t, got, "aurora_role_cpu_utilization_ratio", "db_cluster", "shop-db", "role", "reader"), readerCPU/float64(readers)/100, 0.02)
	none(t, got, "aurora_instance_serverless_capacity_acu", "db_cluster", "shop-db")

	// Serverless v2 in the second account.
	near(t, "blog max ACU", one(t, got, "aurora_cluster_serverless_max_capacity_acu", "db_cluster", "blog-db"), blog.MaxACU, 0)
	near(t, "blog min ACU", one(t, got, "aurora_cluster_serverless_min_capacity_acu", "db_cluster", "blog-db"), blog.MinACU, 0)
	for _, in := range blog.Instances {
		near(t, in.ID+" ACU", one(t, got, "aurora_instance_serverless_capacity_acu", "db_instance", in.ID, "account", "blog"), in.ACU, 0.02)
		near(t, in.ID+" ACU utilisation", one(t, got, "aurora_instance_acu_utilization_ratio", "db_instance", in.ID), in.ACU/blog.MaxACU, 0.02)
	}

	// RDS Proxy, found from the cluster.
	px := shop.Proxy
	near(t, "proxy clients", one(t, got, "aurora_proxy_client_connections", "proxy", "shop-proxy", "db_cluster", "shop-db"), px.ClientConnections, 0.02)
	near(t, "proxy db conns", one(t, got, "aurora_proxy_database_connections", "proxy", "shop-proxy"), px.DatabaseConnections, 0.02)
	near(t, "proxy pinned", one(t, got, "aurora_proxy_pinned_connections", "proxy", "shop-proxy"), px.PinnedConnections, 0.02)
	near(t, "proxy ratio", one(t, got, "aurora_proxy_pinned_connections_ratio", "proxy", "shop-proxy"), px.PinnedConnections/px.DatabaseConnections, 0.02)

	// Auto Scaling group and its ALB target group from the API.
	var web sim.ASGTruth
	for _, r := range truth.Accounts[0].Regions {
		for _, g := range r.ASGs {
			if g.Name == "shop-web" {
				web = g
			}
		}
	}
	near(t, "asg desired", one(t, got, "aurora_asg_desired_instances", "asg", "shop-web"), float64(web.Desired), 0)
	near(t, "asg in service", one(t, got, "aurora_asg_in_service_instances", "asg", "shop-web"), float64(web.InService), 0)
	near(t, "asg requests/s", one(t, got, "aurora_asg_requests_per_instance_per_second", "asg", "shop-web"), web.RequestsPerInstance/60, 0.02)

	// DNS agrees with the API in a quiet fleet.
	for _, typ := range []string{"writer", "reader"} {
		if one(t, got, "aurora_dns_endpoint_agrees", "db_cluster", "shop-db", "endpoint_type", typ) != 1 {
			t.Fatalf("%s endpoint disagrees in a steady fleet", typ)
		}
	}
	one(t, got, "aurora_dns_endpoint_target", "db_cluster", "shop-db", "endpoint_type", "writer", "db_instance", "shop-db-writer")

	// Every label value is set: an empty one means a lost dimension.
	for name, ss := range got {
		for _, smp := range ss {
			for k, v := range smp.labels {
				if v == "" {
					t.Errorf("%s has empty label %s: %v", name, k, smp.labels)
				}
			}
		}
	}
}

// TestFailoverAndReaderChurn follows the field's two DNS hazards: the
// failover window and a removed reader lingering in round robin.
func TestFailoverAndReaderChurn(t *testing.T) {
	s := startStack(t, "field-avalanche", `
targets:
  - regions: [us-east-1]
    clusters: {names: [events-db]}
    route53_records: [db-read.app.internal.]
dns:
  server: ${dns}
`)
	s.advance(t, 2*time.Minute, time.Minute)
	db := rds.NewFromConfig(s.env.Config(t, "us-east-1"))

	// A reader is added: it is not expected in DNS while it provisions,
	// and joins once available.
	if _, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql"), PromotionTier: aws.Int32(15),
	}); err != nil {
		t.Fatal(err)
	}
	s.advance(t, time.Minute, time.Minute)
	got := s.gather(t)
	one(t, got, "aurora_instance_info", "db_instance", "events-db-reader-2", "status", "creating")
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "reader") != 1 {
		t.Fatal("a provisioning reader must not count as missing from the reader endpoint")
	}
	s.advance(t, s.env.World.P.ProvisioningDelay, time.Minute)
	got = s.gather(t)
	one(t, got, "aurora_instance_info", "db_instance", "events-db-reader-2", "status", "available")
	one(t, got, "aurora_dns_endpoint_target", "endpoint_type", "reader", "db_instance", "events-db-reader-2")
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "reader") != 1 {
		t.Fatalf("reader endpoint disagrees once reader-2 is available: %v %v %v", got["aurora_dns_endpoint_target"], got["aurora_dns_endpoint_missing_instances"], got["aurora_dns_endpoint_unexpected_instances"])
	}

	// Failover to reader-2: roles follow within one refresh; DNS keeps
	// the old writer for its window and the exporter says so.
	if _, err := db.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("events-db"), TargetDBInstanceIdentifier: aws.String("events-db-reader-2")}); err != nil {
		t.Fatal(err)
	}
	s.advance(t, 4*time.Second, 2*time.Second)
	got = s.gather(t)
	one(t, got, "aurora_instance_info", "db_instance", "events-db-reader-2", "role", "writer")
	one(t, got, "aurora_instance_info", "db_instance", "events-db-writer", "role", "reader")
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "writer") != 0 {
		t.Fatal("writer endpoint agrees inside the failover DNS window")
	}
	one(t, got, "aurora_dns_endpoint_target", "endpoint_type", "writer", "db_instance", "events-db-writer")
	if one(t, got, "aurora_dns_endpoint_unexpected_instances", "endpoint_type", "writer") != 1 {
		t.Fatal("the old writer is not reported as unexpected")
	}
	if d := one(t, got, "aurora_dns_endpoint_disagreement_seconds", "endpoint_type", "writer"); d <= 0 {
		t.Fatalf("disagreement duration %g inside the window", d)
	}
	s.advance(t, 16*time.Second, 2*time.Second)
	got = s.gather(t)
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "writer") != 1 {
		t.Fatal("writer endpoint still disagrees after the DNS window")
	}
	one(t, got, "aurora_dns_endpoint_target", "endpoint_type", "writer", "db_instance", "events-db-reader-2")
	if one(t, got, "aurora_dns_endpoint_disagreement_seconds", "endpoint_type", "writer") != 0 {
		t.Fatal("disagreement duration not reset")
	}

	// Removing a reader: it lingers in round robin and the exporter flags
	// it, then it leaves.
	if _, err := db.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("events-db-reader-1")}); err != nil {
		t.Fatal(err)
	}
	s.advance(t, 10*time.Second, 5*time.Second)
	got = s.gather(t)
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "reader") != 0 || one(t, got, "aurora_dns_endpoint_unexpected_instances", "endpoint_type", "reader") < 1 {
		t.Fatalf("lingering reader not flagged: %v", got["aurora_dns_endpoint_target"])
	}
	s.advance(t, s.env.World.P.ReaderDNSLinger+10*time.Second, 5*time.Second)
	got = s.gather(t)
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "reader") != 1 {
		t.Fatalf("reader endpoint after the linger: %v", got["aurora_dns_endpoint_target"])
	}
	none(t, got, "aurora_dns_endpoint_target", "endpoint_type", "reader", "db_instance", "events-db-reader-1")
	one(t, got, "aurora_dns_endpoint_target", "endpoint_type", "record", "endpoint", "db-read.app.internal")
}
