// Package iam_test checks the IAM policies in deploy/iam against what the
// exporter and the scaler really call: each runs end to end against its
// own emulator, which counts every AWS call, and the set of IAM actions
// those calls need must equal the set each policy grants.
package iam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/collector"
	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
	"github.com/aurora-surge/aurora-surge/scaler"
	"github.com/aurora-surge/aurora-surge/scaler/events"
	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

var ctx = context.Background()

// iamPrefix maps the SigV4 signing name the emulator records to the IAM
// service prefix; the two differ only for CloudWatch.
var iamPrefix = map[string]string{
	"rds": "rds", "monitoring": "cloudwatch", "autoscaling": "autoscaling",
	"elasticloadbalancing": "elasticloadbalancing", "route53": "route53", "sts": "sts",
	"logs": "logs", "pi": "pi",
}

// actionsCalled turns the emulator's call counts into IAM actions. Every
// operation these services expose is authorised by the action of the same
// name, so the mapping is the prefix alone.
func actionsCalled(t *testing.T, calls []sim.CallCount) []string {
	t.Helper()
	set := map[string]bool{}
	for _, c := range calls {
		p, ok := iamPrefix[c.Service]
		if !ok {
			t.Fatalf("call to service %q (%s): no IAM prefix known; add it to iamPrefix", c.Service, c.Operation)
		}
		set[p+":"+c.Operation] = true
	}
	return sorted(set)
}

type statement struct {
	Sid       string
	Effect    string
	Action    stringOrList
	NotAction stringOrList
	Resource  stringOrList
	Condition map[string]map[string]stringOrList
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

type policy struct {
	Version   string
	Statement []statement
}

// readPolicy decodes a policy strictly and checks its shape: only Allow
// statements, named actions (no wildcards, no NotAction), a Sid each, and
// a condition on every write granted on all resources.
func readPolicy(t *testing.T, name string) policy {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: Version %q, want 2012-10-17", name, p.Version)
	}
	for i, s := range p.Statement {
		where := fmt.Sprintf("%s: statement %d (%s)", name, i, s.Sid)
		if s.Sid == "" || s.Effect != "Allow" || len(s.NotAction) > 0 || len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("%s: want a Sid, Effect Allow, Action and Resource, no NotAction", where)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q", where, a)
			}
			if !knownPrefix(strings.SplitN(a, ":", 2)[0]) {
				t.Errorf("%s: action %q of an unexpected service", where, a)
			}
			if !readOnly(a) && slices.Contains(s.Resource, "*") && len(s.Condition) == 0 {
				t.Errorf("%s: %s granted on every resource without a condition", where, a)
			}
		}
	}
	return p
}

func knownPrefix(p string) bool {
	for _, v := range iamPrefix {
		if v == p {
			return true
		}
	}
	return false
}

// readOnly: the verbs that change nothing.
func readOnly(action string) bool {
	op := strings.SplitN(action, ":", 2)[1]
	for _, v := range []string{"Describe", "List", "Get", "Filter"} { // FilterLogEvents reads
		if strings.HasPrefix(op, v) {
			return true
		}
	}
	return false
}

func (p policy) actions() []string {
	set := map[string]bool{}
	for _, s := range p.Statement {
		for _, a := range s.Action {
			set[a] = true
		}
	}
	return sorted(set)
}

// conditioned reports whether action is granted only under a condition
// on the given key (in every statement that grants it).
func (p policy) conditioned(action, key string) bool {
	found := false
	for _, s := range p.Statement {
		if !slices.Contains(s.Action, action) {
			continue
		}
		has := false
		for _, kv := range s.Condition {
			if _, ok := kv[key]; ok {
				has = true
			}
		}
		if !has {
			return false
		}
		found = true
	}
	return found
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func compare(t *testing.T, policyFile string, called []string) {
	t.Helper()
	granted := readPolicy(t, policyFile).actions()
	for _, a := range called {
		if !slices.Contains(granted, a) {
			t.Errorf("%s: %s is called but not granted", policyFile, a)
		}
	}
	for _, a := range granted {
		if !slices.Contains(called, a) {
			t.Errorf("%s: %s is granted but never called", policyFile, a)
		}
	}
	t.Logf("%s: %d actions, called: %s", policyFile, len(called), strings.Join(called, " "))
}

// exporterConfig covers every source: two accounts (one through
// AssumeRole), two regions, clusters by name and by tag, proxies, ASGs
// with their target groups, and the DNS checks.
const exporterConfig = `
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

func TestExporterPolicyMatchesItsCalls(t *testing.T) {
	// Enhanced Monitoring and Performance Insights on, so the fresh
	// sources make their calls.
	sc, err := sim.LoadScenario("steady")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sc.Fleets {
		sc.Fleets[i].Cluster.MonitoringInterval, sc.Fleets[i].Cluster.PerformanceInsights = 5, true
	}
	env := simtest.StartScenario(t, sc, awsapi.Services...)
	dnsAddr := env.StartDNS(t)
	cfg, err := collector.ParseConfig("iam.yml", []byte(strings.ReplaceAll(exporterConfig, "${dns}", dnsAddr)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := collector.NewPipeline(ctx, env.Config(t, "us-east-1"), cfg, collector.PipelineOptions{Clock: env.World.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		env.Advance(t, time.Minute)
		if err := p.RefreshAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !p.Ready() {
		t.Fatal("pipeline not ready: not every source refreshed, so not every call was made")
	}
	calls, _ := env.World.Calls.Snapshot()
	for _, c := range calls {
		if c.Outcome != sim.OutcomeSuccess {
			t.Errorf("call %s %s: %s", c.Service, c.Operation, c.Outcome)
		}
	}
	called := actionsCalled(t, calls)
	for _, a := range called {
		if !readOnly(a) && a != "sts:AssumeRole" {
			t.Errorf("the exporter called %s, which is not read-only", a)
		}
	}
	compare(t, "aurora-exporter-policy.json", called)
}

// The scaler acts in its account through a role, as a deployment that
// keeps the scaler's own identity free of RDS rights would.
const scalerConfig = `
accounts:
  - {id: "123456789012", role_arn: "arn:aws:iam::123456789012:role/aurora-surge"}
clusters:
  - name: events-db
    account: "123456789012"
    region: us-east-1
    max_readers: 5
    acu_step: 8
    acu_ceiling: 64
    acu_baseline: 32
    writer_classes: [db.r6g.4xlarge, db.serverless]
    %s
asgs:
  - {name: events-web, account: "123456789012", region: us-east-1}
  - {name: events-api, account: "123456789012", region: us-east-1}
`

const token = "iam-test-token"

// demandAboveTarget is demand that asks every target for more capacity:
// this test is about which AWS calls the actions make, not about how
// much they change.
type demandAboveTarget struct{}

func (demandAboveTarget) DataAge(context.Context, string, string, string) (time.Duration, error) {
	return 30 * time.Second, nil
}

func (demandAboveTarget) Observe(context.Context, scaler.Request, time.Duration) *scaler.Observation {
	return &scaler.Observation{Values: map[string]float64{
		scaler.SigReaderCPU: 0.6, scaler.SigReadersServing: 1, scaler.SigACUDemand: 32 * 0.35, scaler.SigBusiestACU: 32,
		scaler.SigRequestsPerInstance: 1500, scaler.SigInService: 4,
	}}
}

func TestScalerPolicyMatchesItsCalls(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	awsCfg := env.Config(t, "us-east-1")
	dns := procedure.DNSResolver{Server: env.StartDNS(t)}
	zones, err := route53.NewFromConfig(awsCfg).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	env.World.Calls.Reset() // the test's own look-up is not the scaler's
	initial, _ := env.World.Truth().Cluster("events-db")
	parse := func(drain string) *scaler.Config {
		c, err := scaler.ParseConfig("iam.yml", []byte(fmt.Sprintf(scalerConfig, drain)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cfg := parse(fmt.Sprintf("read_record: {zone_id: %q, name: db-read.app.internal.}", aws.ToString(zones.HostedZones[0].Id)))
	cfgCustom := parse("drain_custom_endpoint: events-reporting")

	wait := func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil }
	parts, err := scaler.New(ctx, cfg, scaler.PartsOptions{AWS: awsCfg, Retry: scaler.RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond},
		Clock: env.World.Clock(), Registerer: prometheus.NewRegistry(), BearerToken: token, EventsFile: filepath.Join(t.TempDir(), "scaler-events.json"),
		Resolver: dns, Wait: wait, Poll: 5 * time.Second, DataAge: demandAboveTarget{}})
	if err != nil {
		t.Fatal(err)
	}
	cloud, procs := parts.AWS, parts.Procedures
	if err := cloud.VerifyAccounts(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	newProcs := func(c *scaler.Config) *scaler.Procedures {
		p, err := scaler.NewProcedures(ctx, scaler.ProcedureOptions{Config: c, AWS: cloud, Resolver: dns, Wait: wait, Poll: 5 * time.Second, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	procs.Resume(ctx) // what a starting scaler does; nothing to resume here
	procs.Wait()

	// Webhook actions.
	s := parts.Scaler
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	deliver := func(labels map[string]string, fingerprint string) {
		t.Helper()
		post(t, srv.URL+"/webhook", alert(env.World.Clock().Now(), labels, fingerprint))
		s.Drain(ctx)
		ds := s.Decisions()
		if len(ds) == 0 || ds[len(ds)-1].Result != "success" {
			t.Fatalf("%s: decision %+v", labels["action"], ds)
		}
	}
	deliver(map[string]string{"alertname": "AuroraReaderCPUStep1", "action": "add_readers", "step": "1", "db_cluster": "events-db"}, "1a0000000000000a")
	deliver(map[string]string{"alertname": "AuroraACUNearMax", "action": "raise_max_acu", "db_cluster": "events-db"}, "2a0000000000000a")
	deliver(map[string]string{"alertname": "AuroraASGRequestsPerInstanceHigh", "action": "scale_asg", "step": "2", "asg": "events-web"}, "3a0000000000000a")
	env.Advance(t, 10*time.Minute)

	// Safe scale-in through the custom endpoint's exclusion list: the
	// reader the webhook added goes.
	if err := newProcs(cfgCustom).ScaleIn(ctx, "events-db", 1); err != nil {
		t.Fatal(err)
	}

	// A registered event: scheduled ASG actions, ACU range and readers
	// before the start, then the safe scale-in through the read record
	// after the end.
	store, err := events.OpenStore(filepath.Join(t.TempDir(), "events.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &events.Service{Store: store,
		Reconciler: &events.Reconciler{Clients: cloud.EventClients(cfg), Clock: env.World.Clock(), Leads: events.DefaultLeads(), ScaleIn: procs.ScaleIn},
		Limits:     cfg.EventLimits,
		Scope:      func(string) (string, string) { return "123456789012", "us-east-1" },
	}
	start := env.World.Now().Add(time.Hour).Truncate(time.Minute)
	// An event registered by mistake and cancelled: its scheduled
	// actions are deleted.
	if _, err := svc.Add(ctx, events.Event{ID: "mistake", Cluster: "events-db", Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour),
		ASGDesired: map[string]int32{"events-web": 8}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Cancel(ctx, "mistake"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Add(ctx, events.Event{ID: "gala", Cluster: "events-db", Start: start, End: start.Add(20 * time.Minute),
		Readers: 3, MinACU: 4, MaxACU: 64, ASGDesired: map[string]int32{"events-web": 12}}); err != nil {
		t.Fatal(err)
	}
	for env.World.Now().Before(start.Add(40 * time.Minute)) {
		if err := svc.ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
		env.Advance(t, time.Minute)
	}

	// Writer resize: a bigger writer, then back to the original one.
	before, _ := env.World.Truth().Cluster("events-db")
	for _, class := range []string{"db.r6g.4xlarge", ""} {
		if class == "" {
			class = before.Instances[0].Class
		}
		if err := procs.StartWriterResize("events-db", class); err != nil {
			t.Fatal(err)
		}
		procs.Wait()
	}

	calls, _ := env.World.Calls.Snapshot()
	called := actionsCalled(t, calls)
	// The steps above must each have happened, or the comparison would
	// pass on a partial run.
	for _, a := range []string{"rds:DeleteDBInstance", "rds:ModifyDBClusterEndpoint", "route53:ChangeResourceRecordSets", "rds:FailoverDBCluster", "autoscaling:PutScheduledUpdateGroupAction"} {
		if !slices.Contains(called, a) {
			t.Errorf("the run never called %s", a)
		}
	}
	compare(t, "aurora-scaler-policy.json", called)

	// What the tag conditions below assume of the scaler, checked on the
	// run: every instance it created carries the managed tag, and every
	// instance it did not create is still there.
	after, _ := env.World.Truth().Cluster("events-db")
	created := 0
	for _, in := range after.Instances {
		if slices.ContainsFunc(initial.Instances, func(i sim.InstanceTruth) bool { return i.ID == in.ID }) {
			continue
		}
		created++
		if !slices.Contains(in.Tags, sim.Tag{Key: rdsfleet.TagManaged, Value: "true"}) {
			t.Errorf("instance %s created without %s=true: %v", in.ID, rdsfleet.TagManaged, in.Tags)
		}
	}
	for _, in := range initial.Instances {
		if !slices.ContainsFunc(after.Instances, func(i sim.InstanceTruth) bool { return i.ID == in.ID }) {
			t.Errorf("instance %s, not the scaler's, was deleted", in.ID)
		}
	}
	if created == 0 {
		t.Error("no instance the scaler created is left to check")
	}
	t.Logf("%d instances before, %d after, %d of them the scaler's", len(initial.Instances), len(after.Instances), created)

	// What may delete or resize an instance is limited to the instances
	// the scaler created (their tag), and what it creates must carry it.
	p := readPolicy(t, "aurora-scaler-policy.json")
	for _, c := range []struct{ action, key string }{
		{"rds:DeleteDBInstance", "aws:ResourceTag/" + rdsfleet.TagManaged},
		{"rds:CreateDBInstance", "aws:RequestTag/" + rdsfleet.TagManaged},
		{"rds:AddTagsToResource", "aws:TagKeys"},
		{"rds:ModifyDBCluster", "aws:ResourceTag/aurora-surge:scaler"},
		{"rds:FailoverDBCluster", "aws:ResourceTag/aurora-surge:scaler"},
		{"rds:ModifyDBClusterEndpoint", "aws:ResourceTag/aurora-surge:scaler"},
		{"autoscaling:SetDesiredCapacity", "aws:ResourceTag/aurora-surge:scaler"},
		{"autoscaling:PutScheduledUpdateGroupAction", "aws:ResourceTag/aurora-surge:scaler"},
	} {
		if !p.conditioned(c.action, c.key) {
			t.Errorf("%s is not granted only under a condition on %s", c.action, c.key)
		}
	}
}

func alert(now time.Time, labels map[string]string, fingerprint string) []byte {
	all := map[string]string{"severity": "warning", "account": "123456789012", "region": "us-east-1"}
	for k, v := range labels {
		all[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}:{alertname="` + all["alertname"] + `"}`, "truncatedAlerts": 0,
		"status": "firing", "receiver": "aurora-scaler", "groupLabels": map[string]string{"alertname": all["alertname"]},
		"commonLabels": all, "commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager:9093",
		"alerts": []map[string]any{{
			"status": "firing", "labels": all, "annotations": map[string]string{"summary": "iam test"},
			"startsAt": now.Add(-15 * time.Second).UTC().Format(time.RFC3339Nano), "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus:9090/graph", "fingerprint": fingerprint,
		}},
	})
	return b
}

func post(t *testing.T, url string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}
