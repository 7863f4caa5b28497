package scaler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

const e2eConfig = `
clusters:
  - name: events-db
    account: "123456789012"
    region: us-east-1
    max_readers: 5
    acu_step: 8
    acu_ceiling: 64
asgs:
  - name: events-web
    account: "123456789012"
    region: us-east-1
  - name: events-api
    account: "123456789012"
    region: us-east-1
`

const testToken = "s3cr3t-t0ken"

type harness struct {
	env  *simtest.Env
	s    *Scaler
	srv  *httptest.Server
	prom *fakeProm // the demand and data age the scaler reads
}

func httptestServer(tb testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

func newHarness(t *testing.T, env *simtest.Env, mod func(*Options)) *harness {
	t.Helper()
	cfg, err := ParseConfig("e2e.yml", []byte(e2eConfig))
	if err != nil {
		t.Fatal(err)
	}
	prom := newFakeProm(t, "30")
	o := Options{
		Config: cfg, Clock: env.World.Clock(), Registerer: prometheus.NewRegistry(), BearerToken: testToken,
		Cloud:   NewAWS(env.Config(t, "us-east-1"), RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond}),
		DataAge: Prometheus{URL: prom.URL()},
	}
	if mod != nil {
		mod(&o)
	}
	s := newScaler(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &harness{env: env, s: s, srv: srv, prom: prom}
}

// payload is an Alertmanager v4 notification as Alertmanager sends it
// (shape from https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
func payload(status string, labels map[string]string, fingerprint string, startsAt time.Time) []byte {
	all := map[string]string{"severity": "warning", "account": "123456789012", "region": "us-east-1"}
	for k, v := range labels {
		all[k] = v
	}
	m := map[string]any{
		"version": "4", "groupKey": `{}/{action!="none"}:{alertname="` + all["alertname"] + `"}`, "truncatedAlerts": 0,
		"status": status, "receiver": "aurora-scaler",
		"groupLabels":       map[string]string{"alertname": all["alertname"]},
		"commonLabels":      all,
		"commonAnnotations": map[string]string{"summary": "test"},
		"externalURL":       "http://alertmanager:9093",
		"alerts": []map[string]any{{
			"status": status, "labels": all,
			"annotations":  map[string]string{"summary": "Reader CPU above 70 %", "runbook_url": "https://example.com/runbook"},
			"startsAt":     startsAt.UTC().Format(time.RFC3339Nano),
			"endsAt":       "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus:9090/graph?g0.expr=cluster%3Aaurora_reader_cpu_utilization%3Aratio+%3E+0.7",
			"fingerprint":  fingerprint,
		}},
	}
	b, _ := json.Marshal(m)
	return b
}

func addReadersAlert(env *simtest.Env, step string) []byte {
	return payload("firing", map[string]string{"alertname": "AuroraReaderCPUStep1", "action": "add_readers", "step": step, "db_cluster": "events-db"},
		"5c0ffee0ddba11ad", env.World.Clock().Now().Add(-15*time.Second))
}

func (h *harness) post(t testing.TB, path string, body []byte, token string) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func (h *harness) deliver(t *testing.T, body []byte) {
	t.Helper()
	if code, out := h.post(t, "/webhook", body, testToken); code != http.StatusOK {
		t.Fatalf("webhook: %d %v", code, out)
	}
	h.s.Drain(context.Background())
}

func (h *harness) cluster(t *testing.T) sim.ClusterTruth {
	t.Helper()
	c, ok := h.env.World.Truth().Cluster("events-db")
	if !ok {
		t.Fatal("events-db missing from truth")
	}
	return c
}

func (h *harness) asg(t *testing.T, name string) sim.ASGTruth {
	t.Helper()
	for _, a := range h.env.World.Truth().Accounts {
		for _, r := range a.Regions {
			for _, g := range r.ASGs {
				if g.Name == name {
					return g
				}
			}
		}
	}
	t.Fatalf("asg %s missing", name)
	return sim.ASGTruth{}
}

func (h *harness) lastDecision(t *testing.T) Decision {
	t.Helper()
	ds := h.s.Decisions()
	if len(ds) == 0 {
		t.Fatal("no decision recorded")
	}
	return ds[0]
}

// readerAnswers asks the reader endpoint repeatedly: it is round robin,
// one reader per answer.
func readerAnswers(t *testing.T, dnsAddr, endpoint string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	for range 12 {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(endpoint), dns.TypeCNAME)
		r, _, err := c.Exchange(m, dnsAddr)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range r.Answer {
			if cn, ok := rr.(*dns.CNAME); ok {
				seen[strings.SplitN(cn.Target, ".", 2)[0]] = true
			}
		}
	}
	return seen
}

func TestAddReadersEndToEnd(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	dnsAddr := env.StartDNS(t)
	h := newHarness(t, env, nil)
	body := addReadersAlert(env, "1")
	h.deliver(t, body)

	d := h.lastDecision(t)
	if d.Outcome != OutcomeAct || d.Result != "success" || len(d.Instances) != 1 {
		t.Fatalf("decision %+v", d)
	}
	id := d.Instances[0]
	if want := "events-db-surge-01"; id != want {
		t.Errorf("reader %s, want the first free reader slot %s", id, want)
	}
	c := h.cluster(t)
	var got *sim.InstanceTruth
	for i := range c.Instances {
		if c.Instances[i].ID == id {
			got = &c.Instances[i]
		}
	}
	if got == nil {
		t.Fatalf("reader %s not in the cluster: %+v", id, c.Instances)
	}
	if got.Tier != ManagedTier || got.Class != "db.serverless" || got.Role != "reader" || got.Status == "available" {
		t.Errorf("new reader %+v: want a tier-15 db.serverless reader still creating", *got)
	}
	tags := map[string]string{}
	for _, tg := range got.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags[rdsfleet.TagManaged] != "true" || tags[TagDecisionID] != d.ID {
		t.Errorf("tags %v", tags)
	}
	if seen := readerAnswers(t, dnsAddr, c.ReaderEndpoint); seen[id] || !seen["events-db-reader-1"] {
		t.Errorf("before it is available the reader endpoint answers %v", seen)
	}

	// A repeat of the notification while the reader provisions changes
	// nothing.
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop {
		t.Errorf("repeat: %s %s", d.Outcome, d.Reason)
	}
	env.Advance(t, 7*time.Minute)
	if seen := readerAnswers(t, dnsAddr, c.ReaderEndpoint); seen[id] {
		t.Errorf("after 7m the reader endpoint already answers with %s: %v", id, seen)
	}
	env.Advance(t, 90*time.Second)
	c = h.cluster(t)
	for _, in := range c.Instances {
		if in.ID == id && in.Status != "available" {
			t.Fatalf("after 8.5m %s is %s", id, in.Status)
		}
	}
	if seen := readerAnswers(t, dnsAddr, c.ReaderEndpoint); !seen[id] || !seen["events-db-reader-1"] {
		t.Errorf("after it is available the reader endpoint answers %v, want both readers", seen)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 1 {
		t.Errorf("%d CreateDBInstance calls, want 1", n)
	}
	if v := metricValue(h.s.m.actions.WithLabelValues(ActionAddReaders, "success")); v != 1 {
		t.Errorf("actions_total{add_readers,success} = %g", v)
	}
}

func TestRaiseMaxACUEndToEnd(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	before := h.cluster(t)
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraACUNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"acu0000000000001", env.World.Clock().Now()))
	c := h.cluster(t)
	if before.MaxACU != 32 || c.MaxACU != 40 || c.MinACU != before.MinACU {
		t.Fatalf("ACU %g-%g -> %g-%g, want max 32 -> 40 with min kept", before.MinACU, before.MaxACU, c.MinACU, c.MaxACU)
	}
	// Another alert 10s later on the same demand: the first raise
	// already covers it.
	env.Advance(t, 10*time.Second)
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraACUAtMaxWhileReaderProvisioning", "action": "raise_max_acu", "db_cluster": "events-db"},
		"acu0000000000002", env.World.Clock().Now()))
	if c := h.cluster(t); c.MaxACU != 40 {
		t.Errorf("on the same demand max ACU went to %g", c.MaxACU)
	}
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "in force") {
		t.Errorf("second decision %s %q", d.Outcome, d.Reason)
	}
	// Demand for 96 ACU (32 ACU at 90 %): inside the cooldown of a raise
	// the busiest instance has not used yet, wait; after it, to the
	// ceiling in one action, and no further.
	h.prom.set("events-db", SigACUDemand, 32*0.9)
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraACUNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"acu0000000000003", env.World.Clock().Now()))
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "cooldown") {
		t.Errorf("inside the cooldown: %s %q", d.Outcome, d.Reason)
	}
	for i := range 3 {
		env.Advance(t, 31*time.Second)
		h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraACUNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
			fmt.Sprintf("acu10000000000%02d", i), env.World.Clock().Now()))
	}
	if c := h.cluster(t); c.MaxACU != 64 {
		t.Errorf("max ACU %g, want the ceiling 64", c.MaxACU)
	}
	if n := env.World.Calls.Count("rds", "ModifyDBCluster", ""); n != 2 {
		t.Errorf("%d ModifyDBCluster calls, want 2 (32 -> 40, 40 -> 64)", n)
	}
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "ceiling") {
		t.Errorf("last decision %s %q", d.Outcome, d.Reason)
	}
}

func TestScaleASGEndToEnd(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraASGRequestsPerInstanceHigh", "action": "scale_asg", "step": "2", "asg": "events-web"},
		"asg0000000000001", env.World.Clock().Now()))
	if g := h.asg(t, "events-web"); g.Desired != 6 {
		t.Fatalf("events-web desired %d, want 4 + 2 = 6", g.Desired)
	}
	if g := h.asg(t, "events-api"); g.Desired != 4 {
		t.Errorf("events-api changed: %d", g.Desired)
	}
	// Replayed notification: absolute target already reached.
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraASGRequestsPerInstanceHigh", "action": "scale_asg", "step": "2", "asg": "events-web"},
		"asg0000000000001", env.World.Clock().Now()))
	if g := h.asg(t, "events-web"); g.Desired != 6 {
		t.Errorf("replay moved desired to %d", g.Desired)
	}
	if n := env.World.Calls.Count("autoscaling", "SetDesiredCapacity", ""); n != 1 {
		t.Errorf("%d SetDesiredCapacity calls, want 1", n)
	}
}

func TestConcurrentDuplicatesCreateOneReader(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	body := addReadersAlert(env, "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The worker runs while the copies arrive, so some copies are
	// processed after the first one's reader exists.
	go h.s.Run(ctx)
	var wg sync.WaitGroup
	codes := make(chan int, 1000)
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := h.post(t, "/webhook", body, testToken)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a copy got HTTP %d", c)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.s.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(h.cluster(t).Instances); n != 3 {
		t.Errorf("%d instances, want writer, reader-1 and one new reader", n)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", sim.OutcomeSuccess); n != 1 {
		t.Errorf("%d successful CreateDBInstance calls, want 1", n)
	}
	accepted := metricValue(h.s.m.webhooks.WithLabelValues("accepted"))
	dup := metricValue(h.s.m.webhooks.WithLabelValues("duplicate"))
	if accepted+dup != 1000 || accepted < 1 {
		t.Errorf("accepted %g + duplicate %g, want 1000", accepted, dup)
	}
}

func TestTwoReplicasCreateOneReader(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	a, b := newHarness(t, env, nil), newHarness(t, env, nil)
	body := addReadersAlert(env, "2")
	for _, h := range []*harness{a, b} {
		h.prom.set("events-db", SigReaderCPU, 0.85) // 1 reader at 85 %: 3 at 30 %
	}
	var wg sync.WaitGroup
	for _, h := range []*harness{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, out := h.post(t, "/webhook", body, testToken); code != http.StatusOK {
				t.Errorf("webhook: %d %v", code, out)
			}
			h.s.Drain(context.Background())
		}()
	}
	wg.Wait()
	// Alertmanager's second peer delivers the same alert a bit later.
	b.deliver(t, body)
	a.deliver(t, body)
	c := a.cluster(t)
	if n := len(c.Instances); n != 4 {
		t.Errorf("%d instances, want writer, reader-1 and the two readers of step 2: %+v", n, c.Instances)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", sim.OutcomeSuccess); n != 2 {
		t.Errorf("%d successful CreateDBInstance calls, want 2 (one per new reader)", n)
	}
	for _, h := range []*harness{a, b} {
		for _, d := range h.s.Decisions() {
			if d.Result == "error" {
				t.Errorf("a replica recorded a failure: %+v", d)
			}
		}
	}
}

func TestWebhookRefusals(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	good := addReadersAlert(env, "1")
	for _, tc := range []struct {
		name, token string
		body        []byte
		code        int
		outcome     string
		msg         string
	}{
		{"no token", "", good, 401, "unauthorized", "bearer token"},
		{"wrong token", "s3cr3t-t0kem", good, 401, "unauthorized", "bearer token"},
		{"not JSON", testToken, []byte("{"), 400, "malformed", "invalid JSON"},
		{"version 3", testToken, bytes.Replace(good, []byte(`"version":"4"`), []byte(`"version":"3"`), 1), 400, "malformed", "version"},
		{"no fingerprint", testToken, bytes.Replace(good, []byte(`"fingerprint":"5c0ffee0ddba11ad"`), []byte(`"fingerprint":""`), 1), 400, "malformed", "fingerprint"},
		{"too large", testToken, bytes.Repeat([]byte(" "), MaxWebhookBytes+10), 413, "too_large", "1 MiB"},
		{"unknown cluster", testToken, payload("firing", map[string]string{"alertname": "X", "action": "add_readers", "db_cluster": "payments-db"}, "f1", env.World.Clock().Now()),
			422, "unknown_target", "not a configured target"},
		{"other account", testToken, payload("firing", map[string]string{"alertname": "X", "action": "add_readers", "db_cluster": "events-db", "account": "999999999999"}, "f2", env.World.Clock().Now()),
			422, "unknown_target", "not a configured target"},
		{"unknown action", testToken, payload("firing", map[string]string{"alertname": "X", "action": "delete_everything", "db_cluster": "events-db"}, "f3", env.World.Clock().Now()),
			422, "unknown_target", "unknown action"},
		{"bad step", testToken, payload("firing", map[string]string{"alertname": "X", "action": "add_readers", "db_cluster": "events-db", "step": "-1"}, "f4", env.World.Clock().Now()),
			422, "unknown_target", "step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := metricValue(h.s.m.webhooks.WithLabelValues(tc.outcome))
			code, out := h.post(t, "/webhook", tc.body, tc.token)
			if code != tc.code || out["status"] != "error" || !strings.Contains(fmt.Sprint(out["error"]), tc.msg) {
				t.Errorf("got %d %v, want %d with an error about %q", code, out, tc.code, tc.msg)
			}
			if after := metricValue(h.s.m.webhooks.WithLabelValues(tc.outcome)); after != before+1 {
				t.Errorf("webhooks_total{outcome=%q} %g -> %g", tc.outcome, before, after)
			}
		})
	}
	if h.s.Drain(context.Background()) != 0 {
		t.Error("a refused notification was queued")
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 0 {
		t.Errorf("%d CreateDBInstance calls after refusals", n)
	}
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/webhook", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook: %d", resp.StatusCode)
	}
}

func TestResolvedAlertsInAFiringGroupDoNothing(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	var m map[string]any
	_ = json.Unmarshal(addReadersAlert(env, "1"), &m)
	m["truncatedAlerts"] = 3
	m["alerts"].([]any)[0].(map[string]any)["status"] = "resolved"
	body, _ := json.Marshal(m)
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "resolved") {
		t.Errorf("decision %s %q", d.Outcome, d.Reason)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 0 {
		t.Errorf("%d CreateDBInstance calls for a resolved alert", n)
	}
	if v := metricValue(h.s.m.degraded); v != 1 {
		t.Errorf("degraded_notifications_total %g, want 1", v)
	}
}

func TestKillSwitchAndDryRun(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	if code, _ := h.post(t, "/api/v1/pause", nil, ""); code != http.StatusUnauthorized {
		t.Errorf("pause without a token: %d", code)
	}
	if code, _ := h.post(t, "/api/v1/pause", nil, testToken); code != http.StatusOK {
		t.Fatalf("pause: %d", code)
	}
	if metricValue(h.s.m.paused) != 1 {
		t.Error("aurora_scaler_paused is not 1")
	}
	h.deliver(t, addReadersAlert(env, "1"))
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "paused") {
		t.Errorf("paused decision %s %q", d.Outcome, d.Reason)
	}
	if code, _ := h.post(t, "/api/v1/resume", nil, testToken); code != http.StatusOK || h.s.Paused() {
		t.Fatalf("resume: %d", code)
	}
	resp, err := http.Get(h.srv.URL + "/api/v1/decisions")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Paused    bool       `json:"paused"`
		Decisions []Decision `json:"decisions"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Paused || len(got.Decisions) != 1 || got.Decisions[0].Reason == "" {
		t.Errorf("/api/v1/decisions: %+v", got)
	}

	dry := newHarness(t, env, func(o *Options) { o.DryRun = true })
	if metricValue(dry.s.m.dryRun) != 1 {
		t.Error("aurora_scaler_dry_run is not 1")
	}
	dry.deliver(t, addReadersAlert(env, "1"))
	if d := dry.lastDecision(t); d.Outcome != OutcomeDryRun || len(d.Instances) != 1 {
		t.Errorf("dry-run decision %+v", d)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 0 {
		t.Errorf("%d CreateDBInstance calls while paused or in dry run", n)
	}
}

func TestThrottledCreateIsRetriedBoundedThenSucceedsOnRedelivery(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	if _, err := env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: "rds", Operations: []string{"CreateDBInstance"}, Rate: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	body := addReadersAlert(env, "1")
	h.deliver(t, body)
	d := h.lastDecision(t)
	if d.Result != "error" || !strings.Contains(d.Error, "Throttling") {
		t.Fatalf("decision %+v, want a recorded throttling failure", d)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", sim.OutcomeThrottle); n != 3 {
		t.Errorf("%d throttled attempts, want exactly the 3 the retry policy allows", n)
	}
	if v := metricValue(h.s.m.actions.WithLabelValues(ActionAddReaders, "error")); v != 1 {
		t.Errorf("actions_total{error} %g", v)
	}
	// Alertmanager repeats the notification after the throttling ends;
	// the failed attempt left nothing behind, so this one acts.
	env.Advance(t, 2*time.Minute)
	h.deliver(t, body)
	if d := h.lastDecision(t); d.Result != "success" {
		t.Fatalf("redelivery: %+v", d)
	}
	if n := len(h.cluster(t).Instances); n != 3 {
		t.Errorf("%d instances", n)
	}
}

func TestDescribeFailureKeepsTheFleet(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	if _, err := env.World.InjectFault(sim.Fault{Kind: sim.FaultServerError, Service: "rds", Operations: []string{"DescribeDBClusters"}, Rate: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, addReadersAlert(env, "1"))
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "live state unavailable") {
		t.Errorf("decision %s %q", d.Outcome, d.Reason)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 0 {
		t.Errorf("%d CreateDBInstance calls without live state", n)
	}
}

// A restarted scaler (empty memory) still sees the readers' cooldown and
// the alert's readers through the tags AWS keeps.
func TestRestartRecoversFromTags(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	first := newHarness(t, env, nil)
	body := addReadersAlert(env, "1")
	first.deliver(t, body)
	env.Advance(t, 2*time.Minute)
	second := newHarness(t, env, func(o *Options) { o.Config.Cooldowns.ScaleOut = time.Hour })
	second.deliver(t, body)
	if d := second.lastDecision(t); d.Outcome != OutcomeNoop || !strings.Contains(d.Reason, "cover it") {
		t.Errorf("replay after restart: %s %q", d.Outcome, d.Reason)
	}
	// More demand while the reader is still creating, inside the
	// (hour-long) cooldown recovered from its tags: wait for it.
	second.prom.set("events-db", SigReaderCPU, 0.95)
	second.deliver(t, payload("firing", map[string]string{"alertname": "AuroraReaderCPUAboveTarget", "action": "add_readers", "step": "1", "db_cluster": "events-db"},
		"0123456789abcdef", env.World.Clock().Now()))
	if d := second.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "cooldown") {
		t.Errorf("new alert inside the recovered cooldown: %s %q", d.Outcome, d.Reason)
	}
	if n := env.World.Calls.Count("rds", "CreateDBInstance", ""); n != 1 {
		t.Errorf("%d CreateDBInstance calls", n)
	}
}

func TestCommandConfigFileShapes(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBearerToken(tok)
	if err != nil || got != testToken {
		t.Errorf("token %q %v", got, err)
	}
	_ = os.WriteFile(tok, []byte("\n"), 0o600)
	if _, err := ReadBearerToken(tok); err == nil {
		t.Error("an empty token file was accepted")
	}
}

// metricValue reads one counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return -1
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}

// fakePrometheus is a Prometheus answering the data age and the
// harness's default demand.
func fakePrometheus(t *testing.T, age string) string { return newFakeProm(t, age).URL() }

// Scale-in is decided with every guardrail over the wire, and not
// executed until the safe drain is wired in.
func TestRemoveReadersGuardrailsEndToEnd(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	fresh := newHarness(t, env, func(o *Options) { o.DataAge = Prometheus{URL: fakePrometheus(t, "42.5")} })
	add := addReadersAlert(env, "1")
	fresh.deliver(t, add)
	remove := func(fp string) []byte {
		return payload("firing", map[string]string{"alertname": "AuroraReaderCPUBelowTarget", "action": "remove_readers", "step": "1", "db_cluster": "events-db"},
			fp, env.World.Clock().Now().Add(-16*time.Minute))
	}
	// The new reader is still creating: no scale-in.
	fresh.deliver(t, remove("rm00000000000001"))
	if d := fresh.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "is creating") {
		t.Errorf("while creating: %s %q", d.Outcome, d.Reason)
	}
	env.Advance(t, 9*time.Minute)
	// Unknown data age (no Prometheus): no scale-in.
	blind := newHarness(t, env, func(o *Options) { o.DataAge = nil })
	blind.deliver(t, remove("rm00000000000002"))
	if d := blind.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "data age unknown") {
		t.Errorf("no prometheus: %s %q", d.Outcome, d.Reason)
	}
	stale := newHarness(t, env, func(o *Options) { o.DataAge = Prometheus{URL: fakePrometheus(t, "600")} })
	stale.deliver(t, remove("rm00000000000003"))
	if d := stale.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "stale data") {
		t.Errorf("stale: %s %q", d.Outcome, d.Reason)
	}
	// Fresh data, settled fleet, signal held: the scaler-made reader is
	// the one chosen, and nothing is deleted yet.
	fresh.deliver(t, remove("rm00000000000004"))
	d := fresh.lastDecision(t)
	created := fresh.s.Decisions()[len(fresh.s.Decisions())-1].Instances[0]
	if d.Outcome != OutcomeAct || len(d.Instances) != 1 || d.Instances[0] != created || d.Result != "not_implemented" {
		t.Errorf("fresh: %+v, want %s chosen and not_implemented", d, created)
	}
	if n := env.World.Calls.Count("rds", "DeleteDBInstance", ""); n != 0 {
		t.Errorf("%d DeleteDBInstance calls", n)
	}
}

func TestBreakerOpensAndIsVisible(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, func(o *Options) { o.Config.MaxActionsPerHour = 2 })
	// Each time, demand for one instance more than the group has.
	more := func() {
		n := float64(h.asg(t, "events-api").Desired)
		h.prom.set("events-api", SigInService, n)
		h.prom.set("events-api", SigRequestsPerInstance, (n+1)*1000/n)
	}
	for i := range 3 {
		env.Advance(t, time.Minute)
		more()
		h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraASGCPUAboveTarget", "action": "scale_asg", "asg": "events-api"},
			fmt.Sprintf("brk%013d", i), env.World.Clock().Now()))
	}
	if g := h.asg(t, "events-api"); g.Desired != 6 {
		t.Errorf("desired %d, want 4 + 2 actions = 6", g.Desired)
	}
	if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "breaker open") {
		t.Errorf("third action: %s %q", d.Outcome, d.Reason)
	}
	if v := metricValue(h.s.m.breaker.WithLabelValues("asg/events-api")); v != 1 {
		t.Errorf("breaker_open %g", v)
	}
	env.Advance(t, time.Hour)
	more()
	h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraASGCPUAboveTarget", "action": "scale_asg", "asg": "events-api"},
		"brk9999999999999", env.World.Clock().Now()))
	if g := h.asg(t, "events-api"); g.Desired != 7 {
		t.Errorf("an hour later desired %d, want 7", g.Desired)
	}
	if v := metricValue(h.s.m.breaker.WithLabelValues("asg/events-api")); v != 0 {
		t.Errorf("breaker_open %g after an hour", v)
	}
}
