package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/aurora-surge/aurora-surge/scaler/events"
	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// apiEnv is the events API served over HTTP in front of the emulator,
// configured as the scaler would be: events-db with 5 readers at most and
// an ACU ceiling of 64, and only events-web among the scaler's asgs.
type apiEnv struct {
	// behind: the scaler's clock runs this much behind AWS's.
	behind time.Duration
	env    *simtest.Env
	svc    *events.Service
	url    string
}

func eventLimits(cluster string) (events.Limits, bool) {
	if cluster != "events-db" {
		return events.Limits{}, false
	}
	return events.Limits{MaxReaders: 5, ACUCeiling: 64, ASG: func(name string) bool { return name == "events-web" }}, true
}

func newAPIEnv(t *testing.T, storePath string) *apiEnv {
	t.Helper()
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	a := &apiEnv{env: env}
	a.open(t, storePath)
	return a
}

// open (re)starts the Service on the store file, as a scaler restart does.
func (a *apiEnv) open(t *testing.T, storePath string) {
	t.Helper()
	cfg := a.env.Config(t, "us-east-1")
	rdsc, r53 := rds.NewFromConfig(cfg), route53.NewFromConfig(cfg)
	zones, err := r53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(_ context.Context, d time.Duration) error { a.env.Advance(t, d); return nil }
	deps := procedure.Deps{RDS: rdsc, Route53: r53, DNS: procedure.DNSResolver{Server: a.env.StartDNS(t)}, Wait: wait, Poll: 5 * time.Second}
	rec := &events.Reconciler{RDS: rdsc, ASG: autoscaling.NewFromConfig(cfg), Clock: behindClock{a.env.World.Clock(), a.behind}, Leads: events.DefaultLeads(),
		ScaleIn: func(ctx context.Context, cluster string, readers int) error {
			_, err := procedure.RunScaleIn(ctx, deps, procedure.ScaleIn{Cluster: cluster, ZoneID: aws.ToString(zones.HostedZones[0].Id), Record: "db-read.app.internal", Readers: readers})
			return err
		}}
	store, err := events.OpenStore(storePath)
	if err != nil {
		t.Fatal(err)
	}
	a.svc = &events.Service{Store: store, Reconciler: rec, Limits: eventLimits}
	srv := httptest.NewServer(a.svc.Handler())
	t.Cleanup(srv.Close)
	a.url = srv.URL
}

func (a *apiEnv) do(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *apiEnv) truth() (sim.ClusterTruth, map[string]sim.ASGTruth) {
	tr := a.env.World.Truth()
	c, _ := tr.Cluster("events-db")
	g := map[string]sim.ASGTruth{}
	for _, x := range tr.Accounts[0].Regions[0].ASGs {
		g[x.Name] = x
	}
	return c, g
}

func availableReaders(c sim.ClusterTruth) (n int) {
	for _, in := range c.Instances {
		if in.Role == "reader" && in.Status == "available" {
			n++
		}
	}
	return n
}

func gala(start time.Time) map[string]any {
	return map[string]any{"id": "gala", "cluster": "events-db", "start": start, "end": start.Add(30 * time.Minute),
		"readers": 3, "min_acu": 4, "max_acu": 64, "asg_desired": map[string]int{"events-web": 12}}
}

// The events API answers 422 naming the configured bound an event would
// cross, and nothing reaches AWS.
func TestEventsAPIRefusesWhatTheConfigForbids(t *testing.T) {
	a := newAPIEnv(t, filepath.Join(t.TempDir(), "events.json"))
	start := a.env.World.Now().Add(time.Hour).Truncate(time.Minute)
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"acu above ceiling", func(e map[string]any) { e["max_acu"] = 200 }, "max_acu 200 above the cluster's acu_ceiling 64"},
		{"asg not configured", func(e map[string]any) { e["asg_desired"] = map[string]int{"events-api": 10} }, "asg events-api is not in the scaler's asgs"},
		{"readers above max", func(e map[string]any) { e["readers"] = 6 }, "readers 6 above the cluster's max_readers 5"},
		{"min above max", func(e map[string]any) { e["min_acu"], e["max_acu"] = 16, 8 }, "min_acu 16 above max_acu 8"},
		{"cluster not configured", func(e map[string]any) { e["cluster"] = "other-db" }, `cluster "other-db" is not in the scaler's clusters`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := gala(start)
			c.edit(e)
			code, body := a.do(t, "POST", "/api/v1/events", e)
			var ans struct{ Error string }
			_ = json.Unmarshal([]byte(body), &ans)
			if code != http.StatusUnprocessableEntity || !strings.Contains(ans.Error, c.want) {
				t.Fatalf("POST: %d %s, want 422 naming %q", code, body, c.want)
			}
		})
	}
	// Past the event's scale-up time and start.
	a.env.Advance(t, time.Hour)
	if err := a.svc.ReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	cl, g := a.truth()
	for name, x := range g {
		if len(x.ScheduledActions) != 0 || x.Desired != 4 {
			t.Errorf("asg %s changed by a refused event: desired %d, scheduled %v", name, x.Desired, x.ScheduledActions)
		}
	}
	if cl.MaxACU != 32 || len(cl.Instances) != 2 {
		t.Errorf("cluster changed by a refused event: max ACU %g, %d instances", cl.MaxACU, len(cl.Instances))
	}
	if code, body := a.do(t, "GET", "/api/v1/events", nil); code != 200 || strings.Contains(body, "gala") {
		t.Errorf("refused event stored: %d %s", code, body)
	}
}

// An event is stored before anything is done in AWS: a store that cannot
// be written answers 5xx and schedules nothing; a stored event survives a
// restart.
func TestEventIsPersistedBeforeActing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.json")
	a := newAPIEnv(t, path)
	// A directory where the file goes: the atomic rename onto it fails
	// whoever runs the test (root ignores permission bits).
	if err := os.MkdirAll(filepath.Join(path, "blocker"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := a.env.World.Now().Add(time.Hour).Truncate(time.Minute)
	code, body := a.do(t, "POST", "/api/v1/events", gala(start))
	if code < 500 || !strings.Contains(body, "events file") {
		t.Fatalf("POST with an unwritable store: %d %s, want 5xx naming the events file", code, body)
	}
	if _, g := a.truth(); len(g["events-web"].ScheduledActions) != 0 {
		t.Fatalf("unsaved event scheduled capacity: %v", g["events-web"].ScheduledActions)
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if code, body := a.do(t, "POST", "/api/v1/events", gala(start)); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	if _, g := a.truth(); len(g["events-web"].ScheduledActions) != 2 {
		t.Fatalf("scheduled actions %v, want up and down", g["events-web"].ScheduledActions)
	}
	a.open(t, path)
	code, body = a.do(t, "GET", "/api/v1/events", nil)
	if code != 200 || !strings.Contains(body, `"id":"gala"`) {
		t.Fatalf("after a restart: %d %s", code, body)
	}
}

type cancelAnswer struct {
	ID       string   `json:"id"`
	Reverted []string `json:"reverted"`
	Pending  []string `json:"pending"`
	Stays    []string `json:"stays"`
}

// DELETE before the scale-up: the scheduled actions are removed, so at
// the event's time nothing changes.
func TestDeleteBeforeScaleUpCancelsTheSchedule(t *testing.T) {
	a := newAPIEnv(t, filepath.Join(t.TempDir(), "events.json"))
	start := a.env.World.Now().Add(time.Hour).Truncate(time.Minute)
	if code, body := a.do(t, "POST", "/api/v1/events", gala(start)); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	code, body := a.do(t, "DELETE", "/api/v1/events/gala", nil)
	var ans cancelAnswer
	if code != http.StatusOK || json.Unmarshal([]byte(body), &ans) != nil || len(ans.Reverted) == 0 || len(ans.Stays) != 0 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if _, g := a.truth(); len(g["events-web"].ScheduledActions) != 0 {
		t.Fatalf("scheduled actions left: %v", g["events-web"].ScheduledActions)
	}
	// Past every step of the plan: the scale-up time, T-0, the revert.
	for now := a.env.World.Now(); now.Before(start.Add(time.Hour)); now = a.env.World.Now() {
		if err := a.svc.ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
		c, g := a.truth()
		if g["events-web"].Desired != 4 || c.MaxACU != 32 || len(c.Instances) != 2 {
			t.Fatalf("%s: cancelled event changed capacity: desired %d, max ACU %g, %d instances", now, g["events-web"].Desired, c.MaxACU, len(c.Instances))
		}
		a.env.Advance(t, 10*time.Minute)
	}
}

// DELETE after the scale-up: ASG desired and min, the ACU range and the
// readers all return to the baseline.
func TestDeleteAfterScaleUpReverts(t *testing.T) {
	a := newAPIEnv(t, filepath.Join(t.TempDir(), "events.json"))
	start := a.env.World.Now().Add(time.Hour).Truncate(time.Minute)
	if code, body := a.do(t, "POST", "/api/v1/events", gala(start)); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	for a.env.World.Now().Before(start.Add(-2 * time.Minute)) {
		if err := a.svc.ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
		a.env.Advance(t, time.Minute)
	}
	c, g := a.truth()
	if availableReaders(c) != 3 || c.MaxACU != 64 || g["events-web"].Desired != 12 || g["events-web"].Min != 12 {
		t.Fatalf("before the cancel: %d readers, max ACU %g, desired %d min %d", availableReaders(c), c.MaxACU, g["events-web"].Desired, g["events-web"].Min)
	}
	code, body := a.do(t, "DELETE", "/api/v1/events/gala", nil)
	t.Logf("DELETE after the scale-up: %d %s", code, body)
	var ans cancelAnswer
	if code != http.StatusAccepted || json.Unmarshal([]byte(body), &ans) != nil || len(ans.Pending) == 0 {
		t.Fatalf("DELETE: %d %s, want 202 with the readers' removal pending", code, body)
	}
	if code, body := a.do(t, "GET", "/api/v1/events", nil); code != 200 || !strings.Contains(body, `"phase":"cancelled"`) {
		t.Fatalf("GET while the readers drain: %d %s", code, body)
	}
	for i := 0; i < 10; i++ {
		if err := a.svc.ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
		a.env.Advance(t, time.Minute)
	}
	c, g = a.truth()
	if availableReaders(c) != 1 || len(c.Instances) != 2 || c.MaxACU != 32 || c.MinACU != 0.5 {
		t.Fatalf("after the cancel: %d readers, %d instances, ACU %g-%g", availableReaders(c), len(c.Instances), c.MinACU, c.MaxACU)
	}
	if w := g["events-web"]; w.Desired != 4 || w.Min != 2 || len(w.ScheduledActions) != 0 {
		t.Fatalf("after the cancel: events-web desired %d min %d scheduled %v", w.Desired, w.Min, w.ScheduledActions)
	}
	code, body = a.do(t, "GET", "/api/v1/events", nil)
	if code != 200 || strings.Contains(body, "gala") {
		t.Fatalf("GET after the revert: %d %s", code, body)
	}
}

type behindClock struct {
	events.Clock
	by time.Duration
}

func (c behindClock) Now() time.Time { return c.Clock.Now().Add(-c.by) }

// Clock skew: AWS ran the scale-up at its time while the scaler's clock,
// 5 s behind, still reads before it. The cancel decides from what AWS
// reports pending, not from the clock, and the groups come back.
func TestDeleteRightAfterScaleUpWithAWSClockAhead(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	a := &apiEnv{env: env, behind: 5 * time.Second}
	a.open(t, filepath.Join(t.TempDir(), "events.json"))
	start := env.World.Now().Add(time.Hour).Truncate(time.Minute)
	if code, body := a.do(t, "POST", "/api/v1/events", gala(start)); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	env.Advance(t, start.Add(-20*time.Minute+2*time.Second).Sub(env.World.Now()))
	if _, g := a.truth(); g["events-web"].Desired != 12 {
		t.Fatalf("scale-up not run by AWS: desired %d", g["events-web"].Desired)
	}
	code, body := a.do(t, "DELETE", "/api/v1/events/gala", nil)
	if code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	env.Advance(t, 2*time.Minute)
	if _, g := a.truth(); g["events-web"].Desired != 4 || g["events-web"].Min != 2 || len(g["events-web"].ScheduledActions) != 0 {
		t.Fatalf("after the cancel: desired %d min %d scheduled %v", g["events-web"].Desired, g["events-web"].Min, g["events-web"].ScheduledActions)
	}
}
