package events_test

import (
	"context"
	"path/filepath"
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

var ctx = context.Background()

func TestPlanTimings(t *testing.T) {
	start := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	e := events.Event{ID: "gala", Cluster: "c", Start: start, End: start.Add(2 * time.Hour), Readers: 3, MaxACU: 64, MinACU: 4,
		ASGDesired: map[string]int32{"web": 12}, Baseline: events.Baseline{Readers: 1}}
	l := events.DefaultLeads()
	want := map[string]time.Time{
		"asg_schedule": start.Add(-20 * time.Minute), "add_readers": start.Add(-15 * time.Minute), "raise_acu": start.Add(-15 * time.Minute),
		"remove_readers": start.Add(2*time.Hour + 15*time.Minute), "revert_acu": start.Add(2*time.Hour + 15*time.Minute),
	}
	plan := events.Plan(e, l)
	if len(plan) != len(want) {
		t.Fatalf("plan %v", plan)
	}
	for i, s := range plan {
		if !s.At.Equal(want[s.Kind]) {
			t.Errorf("%s at %s, want %s", s.Kind, s.At, want[s.Kind])
		}
		if i > 0 && s.At.Before(plan[i-1].At) {
			t.Errorf("plan not in time order: %v", plan)
		}
	}
	// A reader created at the add_readers step must be available before
	// the start: 8 min of provisioning inside a 15 min lead.
	if l.Readers < 8*time.Minute {
		t.Fatalf("reader lead %s shorter than provisioning", l.Readers)
	}
	for _, c := range []struct {
		at    time.Time
		phase events.Phase
	}{{start.Add(-time.Hour), events.PhaseScheduled}, {start.Add(-19 * time.Minute), events.PhaseScaledUp}, {start.Add(3 * time.Hour), events.PhaseReverting}} {
		if got := events.PhaseAt(e, l, c.at); got != c.phase {
			t.Errorf("phase at %s: %s, want %s", c.at, got, c.phase)
		}
	}
	lim := events.Limits{MaxReaders: 15, ACUCeiling: 64, ASG: func(g string) bool { return g == "web" }}
	if err := e.Validate(start.Add(-time.Hour), lim); err != nil {
		t.Fatal(err)
	}
	bad := e
	bad.ID = "Bad ID"
	if err := bad.Validate(start.Add(-time.Hour), lim); err == nil {
		t.Fatal("invalid id accepted")
	}
	if err := e.Validate(start.Add(time.Minute), lim); err == nil {
		t.Fatal("event in the past accepted")
	}
	e.Readers = 16
	if err := e.Validate(start.Add(-time.Hour), lim); err == nil {
		t.Fatal("more readers than allowed accepted")
	}
}

// TestEventScalesBeforeStartAndRevertsAfter registers an event on the
// field fleet and plays its timeline on the virtual clock: capacity is in
// place before T-0 (readers available, ACU raised, ASGs scaled) and back
// at the baseline after the end, readers removed through the safe scale-in.
func TestEventScalesBeforeStartAndRevertsAfter(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	cfg := env.Config(t, "us-east-1")
	rdsc, r53 := rds.NewFromConfig(cfg), route53.NewFromConfig(cfg)
	zones, err := r53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil }
	deps := procedure.Deps{RDS: rdsc, Route53: r53, DNS: procedure.DNSResolver{Server: env.StartDNS(t)}, Wait: wait, Poll: 5 * time.Second}
	rec := &events.Reconciler{RDS: rdsc, ASG: autoscaling.NewFromConfig(cfg), Clock: env.World.Clock(), Leads: events.DefaultLeads(),
		ScaleIn: func(ctx context.Context, cluster string, readers int) error {
			_, err := procedure.RunScaleIn(ctx, deps, procedure.ScaleIn{Cluster: cluster, ZoneID: aws.ToString(zones.HostedZones[0].Id), Record: "db-read.app.internal", Readers: readers})
			return err
		}}
	store, err := events.OpenStore(filepath.Join(t.TempDir(), "events.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &events.Service{Store: store, Reconciler: rec, Limits: func(c string) (events.Limits, bool) {
		return events.Limits{MaxReaders: 15, ACUCeiling: 64, ASG: func(string) bool { return true }}, c == "events-db"
	}}
	start := env.World.Now().Add(time.Hour).Truncate(time.Minute)
	if _, err := svc.Add(ctx, events.Event{ID: "gala", Cluster: "events-db", Start: start, End: start.Add(30 * time.Minute),
		Readers: 3, MinACU: 4, MaxACU: 64, ASGDesired: map[string]int32{"events-web": 12, "events-api": 10}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Add(ctx, events.Event{ID: "other", Cluster: "not-mine", Start: start, End: start.Add(time.Hour)}); err == nil {
		t.Fatal("event on an unconfigured cluster accepted")
	}
	state := func() (sim.ClusterTruth, map[string]sim.ASGTruth) {
		tr := env.World.Truth()
		c, _ := tr.Cluster("events-db")
		g := map[string]sim.ASGTruth{}
		for _, a := range tr.Accounts[0].Regions[0].ASGs {
			g[a.Name] = a
		}
		return c, g
	}
	available := func(c sim.ClusterTruth) (readers int) {
		for _, in := range c.Instances {
			if in.Role == "reader" && in.Status == "available" {
				readers++
			}
		}
		return readers
	}
	// A restart in the middle: the store reopens from its file.
	restartAt := start.Add(-10 * time.Minute)
	checkedT0, restarted := false, false
	for now := env.World.Now(); now.Before(start.Add(time.Hour)); now = env.World.Now() {
		if now.Equal(restartAt) {
			if svc.Store, err = events.OpenStore(store.Path()); err != nil {
				t.Fatal(err)
			}
			restarted = true
		}
		if err := svc.ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
		c, g := state()
		switch {
		case now.Equal(start):
			checkedT0 = true
			if n := available(c); n != 3 {
				t.Fatalf("at T-0: %d readers available, want 3", n)
			}
			if c.MaxACU != 64 || c.MinACU != 4 {
				t.Fatalf("at T-0: ACU %g-%g", c.MinACU, c.MaxACU)
			}
			if g["events-web"].Desired != 12 || g["events-api"].Desired != 10 {
				t.Fatalf("at T-0: ASG desired %d/%d", g["events-web"].Desired, g["events-api"].Desired)
			}
		case now.Before(start.Add(-21 * time.Minute)):
			if g["events-web"].Desired != 4 || c.MaxACU != 32 || len(c.Instances) != 2 {
				t.Fatalf("%s before the plan's first step: capacity already changed", now)
			}
		}
		env.Advance(t, time.Minute)
	}
	if !checkedT0 || !restarted {
		t.Fatalf("timeline missed T-0 (%v) or the restart (%v)", checkedT0, restarted)
	}
	c, g := state()
	if available(c) != 1 || len(c.Instances) != 2 || c.MaxACU != 32 || c.MinACU != 0.5 {
		t.Fatalf("after the event: %d readers, %d instances, ACU %g-%g", available(c), len(c.Instances), c.MinACU, c.MaxACU)
	}
	if g["events-web"].Desired != 4 || g["events-api"].Desired != 4 {
		t.Fatalf("after the event: ASG desired %d/%d", g["events-web"].Desired, g["events-api"].Desired)
	}
	recs := svc.Store.List()
	if len(recs) != 1 || !recs[0].Done {
		t.Fatalf("event record after the end: %+v", recs)
	}
}
