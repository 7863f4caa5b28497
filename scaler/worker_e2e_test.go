package scaler

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// TestSlowAutoScalingDoesNotDelayAClusterRaise: Auto Scaling answers
// after 1 s; two ASG steps queued before a cluster's max ACU raise must
// not hold the raise, and the queue length shows the ASG work meanwhile.
func TestSlowAutoScalingDoesNotDelayAClusterRaise(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	if _, err := env.World.InjectFault(sim.Fault{Kind: sim.FaultLatency, Service: "autoscaling", Rate: 1, Latency: 600 * time.Millisecond}, time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.s.Run(ctx)
	now := env.World.Clock().Now()
	for _, body := range [][]byte{
		payload("firing", map[string]string{"alertname": "AuroraASGRequestsPerInstanceHigh", "action": "scale_asg", "asg": "events-web"}, "slow000000000001", now),
		payload("firing", map[string]string{"alertname": "AuroraASGRequestsPerInstanceHigh", "action": "scale_asg", "asg": "events-api"}, "slow000000000002", now),
	} {
		if code, out := h.post(t, "/webhook", body, testToken); code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, out)
		}
	}
	start := time.Now()
	if code, out := h.post(t, "/webhook", payload("firing", map[string]string{"alertname": "AuroraACUNearMax", "action": "raise_max_acu", "db_cluster": "events-db"},
		"slow000000000003", now), testToken); code != http.StatusOK {
		t.Fatalf("webhook: %d %v", code, out)
	}
	for h.cluster(t).MaxACU != 40 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("max ACU never raised")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	queued := metricValue(h.s.m.queued)
	if took > 500*time.Millisecond {
		t.Errorf("the max ACU raise took %v behind slow Auto Scaling calls of other targets", took)
	}
	if queued < 1 || h.s.Pending() < 1 {
		t.Errorf("while two ASG steps are under way queue_length = %g, pending %d", queued, h.s.Pending())
	}
	// A copy of an alert being worked on is a duplicate.
	if _, out := h.post(t, "/webhook", payload("firing", map[string]string{"alertname": "AuroraASGRequestsPerInstanceHigh", "action": "scale_asg", "asg": "events-web"},
		"slow000000000001", now), testToken); out["status"] != "duplicate" {
		t.Errorf("copy of an alert in flight: %v", out)
	}
	for h.s.Pending() > 0 {
		if time.Since(start) > 20*time.Second {
			t.Fatal("ASG steps never finished")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := metricValue(h.s.m.queued); v != 0 {
		t.Errorf("queue_length %g when everything is done", v)
	}
	if g, a := h.asg(t, "events-web"), h.asg(t, "events-api"); g.Desired != 6 || a.Desired != 6 {
		t.Errorf("desired %d / %d, want 6 / 6 (4 at 1,500 req/min each at the 1,000 target)", g.Desired, a.Desired)
	}
}

// TestDrainKeepsPerTargetOrder: Drain works everything queued before it
// returns, each target's alerts in the order they arrived.
func TestDrainKeepsPerTargetOrder(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	now := env.World.Clock().Now()
	fps := []string{"ord0000000000001", "ord0000000000002", "ord0000000000003"}
	for i, fp := range fps {
		target := map[string]string{"alertname": "AuroraASGCPUAboveTarget", "action": "scale_asg", "asg": "events-api"}
		if i == 1 {
			target = map[string]string{"alertname": "AuroraACUNearMax", "action": "raise_max_acu", "db_cluster": "events-db"}
		}
		if code, out := h.post(t, "/webhook", payload("firing", target, fp, now), testToken); code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, out)
		}
	}
	if n := h.s.Drain(context.Background()); n != 3 {
		t.Fatalf("Drain worked %d alerts, want 3", n)
	}
	ds := h.s.Decisions()
	if len(ds) != 3 || ds[2].Fingerprint != fps[0] || ds[0].Fingerprint != fps[2] || h.s.Pending() != 0 {
		t.Fatalf("decisions %+v", ds)
	}
	// The second ASG alert came after the first acted: inside its cooldown.
	if ds[0].Outcome != OutcomeNoop || ds[2].Result != "success" {
		t.Errorf("events-api: first %s/%s, second %s %q", ds[2].Outcome, ds[2].Result, ds[0].Outcome, ds[0].Reason)
	}
}

// TestRepeatedNoopsFoldIntoOneDecision: 1,000 deliveries of an alert
// already acted on leave one no-op decision with a count, and the
// decision that acted stays in /api/v1/decisions.
func TestRepeatedNoopsFoldIntoOneDecision(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, nil)
	body := addReadersAlert(env, "1")
	h.deliver(t, body)
	// Copies while the first copy is still queued are duplicates.
	for i, want := range []string{"queued", "duplicate"} {
		if _, out := h.post(t, "/webhook", body, testToken); out["status"] != want {
			t.Fatalf("copy %d: %v, want %s", i, out, want)
		}
	}
	h.s.Drain(context.Background())
	for range 999 {
		env.Advance(t, time.Second)
		h.deliver(t, body)
	}
	resp, err := http.Get(h.srv.URL + "/api/v1/decisions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Decisions []Decision `json:"decisions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Decisions) != 2 {
		t.Fatalf("%d decisions, want the act and one folded no-op", len(got.Decisions))
	}
	noop, act := got.Decisions[0], got.Decisions[1]
	if act.Outcome != OutcomeAct || act.Result != "success" {
		t.Errorf("oldest decision %+v, want the one that acted", act)
	}
	if noop.Outcome != OutcomeNoop || noop.Count != 1000 || !noop.LastAt.Equal(env.World.Clock().Now()) || !noop.LastAt.After(noop.At) {
		t.Errorf("folded no-op: count %d, at %v, last at %v (now %v)", noop.Count, noop.At, noop.LastAt, env.World.Clock().Now())
	}
	if v := metricValue(h.s.m.decisions.WithLabelValues(ActionAddReaders, OutcomeNoop)); v != 1000 {
		t.Errorf("decisions_total{noop} = %g, want every decision counted", v)
	}
}

// TestQueueFullIsRefused: beyond QueueSize unfinished alerts the webhook
// answers 503 and queues nothing of the notification.
func TestQueueFullIsRefused(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	h := newHarness(t, env, func(o *Options) { o.QueueSize = 1 })
	now := env.World.Clock().Now()
	if code, _ := h.post(t, "/webhook", payload("firing", map[string]string{"alertname": "X", "action": "scale_asg", "asg": "events-web"}, "full000000000001", now), testToken); code != http.StatusOK {
		t.Fatalf("first: %d", code)
	}
	code, out := h.post(t, "/webhook", payload("firing", map[string]string{"alertname": "X", "action": "scale_asg", "asg": "events-api"}, "full000000000002", now), testToken)
	if code != http.StatusServiceUnavailable || metricValue(h.s.m.webhooks.WithLabelValues("queue_full")) != 1 {
		t.Fatalf("second: %d %v", code, out)
	}
	if n := h.s.Drain(context.Background()); n != 1 {
		t.Errorf("Drain worked %d alerts, want 1", n)
	}
}
