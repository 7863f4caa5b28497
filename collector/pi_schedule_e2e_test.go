package collector_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aurora-surge/aurora-surge/sim"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// piCall is one GetResourceMetrics as it went over the wire.
type piCall struct {
	at         time.Time // the emulator's clock when sent
	identifier string
	metrics    []string
	period     int64
	start, end time.Time
	datapoints int // in the answer, over all metrics; -1 when it failed
}

// piRecorder is an HTTP client that records the Performance Insights
// requests and answers passing through it.
type piRecorder struct {
	inner aws.HTTPClient
	now   func() time.Time
	mu    sync.Mutex
	calls []piCall
}

func (r *piRecorder) Do(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.Header.Get("X-Amz-Target"), "PerformanceInsightsv20180227.") {
		return r.inner.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		Identifier      string
		MetricQueries   []struct{ Metric string }
		PeriodInSeconds int64
		StartTime       float64
		EndTime         float64
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	c := piCall{at: r.now(), identifier: in.Identifier, period: in.PeriodInSeconds, datapoints: -1,
		start: time.UnixMilli(int64(in.StartTime * 1000)), end: time.UnixMilli(int64(in.EndTime * 1000))}
	for _, q := range in.MetricQueries {
		c.metrics = append(c.metrics, q.Metric)
	}
	resp, err := r.inner.Do(req)
	if err == nil && resp.StatusCode == http.StatusOK {
		rb, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(rb))
		var out struct {
			MetricList []struct{ DataPoints []json.RawMessage }
		}
		if json.Unmarshal(rb, &out) == nil {
			c.datapoints = 0
			for _, m := range out.MetricList {
				c.datapoints += len(m.DataPoints)
			}
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return resp, err
}

func (r *piRecorder) take() []piCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func startRecordedStack(t *testing.T, sc *sim.Scenario, configYAML string) (*stack, *piRecorder) {
	t.Helper()
	env := simtest.StartScenario(t, sc, awsapi.Services...)
	rec := &piRecorder{now: env.World.Now}
	s := startStackWith(t, env, configYAML, func(c *aws.Config) {
		rec.inner = c.HTTPClient
		c.HTTPClient = rec
	})
	return s, rec
}

// resourceIDs maps each discovered instance's DbiResourceId to its name.
func resourceIDs(t *testing.T, s *stack) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range s.p.Discovery.Inventory().Clusters {
		for _, in := range c.Instances {
			out[in.ResourceID] = in.ID
		}
	}
	return out
}

// refreshDueEvery moves the clock in steps, running the sources due as
// the background runner would (Performance Insights every 10 s).
func (s *stack) refreshDueEvery(t *testing.T, d, step time.Duration, failing bool) {
	t.Helper()
	for done := time.Duration(0); done < d; done += step {
		s.env.Advance(t, step)
		if err := s.p.RefreshDue(ctx); err != nil && !failing {
			t.Fatal(err)
		}
	}
}

// TestPerformanceInsightsSchedules: an instance whose Enhanced Monitoring
// gives its fresh CPU is asked for db.load.avg alone, at 60 s periods,
// once a minute; one without Enhanced Monitoring is asked for DB load and
// CPU at 1 s periods every refresh; every call starts at the newest
// datapoint held, so answers are a handful of datapoints; calls per
// minute follow N_fresh x 60/10 + N_db_load x 60/60.
func TestPerformanceInsightsSchedules(t *testing.T) {
	s, rec := startRecordedStack(t, freshScenario(t), freshConfig)
	s.refreshDueEvery(t, 3*time.Minute, 5*time.Second, false)
	got := s.gather(t)
	nFresh := one(t, got, "aurora_exporter_performance_insights_instances", "schedule", "fresh")
	nDBLoad := one(t, got, "aurora_exporter_performance_insights_instances", "schedule", "db_load")
	if nFresh != 1 || nDBLoad != 3 {
		t.Fatalf("schedules: fresh %g db_load %g; want 1 (shop-db-reader-1, no Enhanced Monitoring) and 3 (shop-db-writer at 1 s, blog-db's two at 5 s)", nFresh, nDBLoad)
	}
	// The instances on db_load keep Enhanced Monitoring as their source
	// and serve a DB load.
	for id, want := range map[string]string{"shop-db-writer": "enhanced_monitoring", "blog-db-writer": "enhanced_monitoring", "shop-db-reader-1": "performance_insights"} {
		if src := signalSource(t, got, id); src != want {
			t.Errorf("%s: fresh signal from %s, want %s", id, src, want)
		}
		one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", id)
	}

	callsBefore := one(t, got, "aurora_exporter_aws_calls_total", "service", "PI", "operation", "GetResourceMetrics", "outcome", "success")
	rec.take()
	s.refreshDueEvery(t, time.Minute, 5*time.Second, false)
	calls := rec.take()
	names := resourceIDs(t, s)
	per := map[string][]piCall{}
	for _, c := range calls {
		per[names[c.identifier]] = append(per[names[c.identifier]], c)
	}
	for name, cs := range per {
		fresh := name == "shop-db-reader-1"
		want := 1
		if fresh {
			want = 6
		}
		if len(cs) != want {
			t.Errorf("%s: %d calls in a minute, want %d", name, len(cs), want)
		}
		for _, c := range cs {
			switch {
			case fresh && (c.period != 1 || strings.Join(c.metrics, ",") != "db.load.avg,os.cpuUtilization.total.avg"):
				t.Errorf("%s (fresh): asked %v at %d s periods", name, c.metrics, c.period)
			case !fresh && (c.period != 60 || strings.Join(c.metrics, ",") != "db.load.avg"):
				t.Errorf("%s (db_load): asked %v at %d s periods", name, c.metrics, c.period)
			}
			// From the newest held: a fresh call looks back about one
			// refresh plus the publication delay, a db_load call about
			// two periods at most; the answers stay small.
			back := c.at.Sub(c.start)
			if fresh && (back > 20*time.Second || c.datapoints > 2*20) {
				t.Errorf("%s: a fresh call looked back %v and got %d datapoints", name, back, c.datapoints)
			}
			if !fresh && (back > 2*time.Minute+10*time.Second || c.datapoints > 3) {
				t.Errorf("%s: a db_load call looked back %v and got %d datapoints", name, back, c.datapoints)
			}
		}
	}
	if len(per) != 4 {
		t.Errorf("calls went to %d instances, want 4: %v", len(per), keys(per))
	}
	// The spread: the db_load calls do not all land on one refresh.
	when := map[time.Time]int{}
	for name, cs := range per {
		if name != "shop-db-reader-1" {
			when[cs[0].at]++
		}
	}
	if len(when) < 2 {
		t.Errorf("the three db_load calls all landed on one refresh: %v", when)
	}

	got = s.gather(t)
	perMinute := one(t, got, "aurora_exporter_aws_calls_total", "service", "PI", "operation", "GetResourceMetrics", "outcome", "success") - callsBefore
	if want := nFresh*60/10 + nDBLoad*60/60; perMinute != want {
		t.Errorf("GetResourceMetrics per minute %g, want N_fresh x 6 + N_db_load x 1 = %g", perMinute, want)
	}

	// The DB load of a db_load instance is a minute's average; steady
	// traffic keeps it near the model's load (CPU x 4 vCPUs).
	truth, _ := s.env.World.Truth().Cluster("shop-db")
	for _, in := range truth.Instances {
		if in.ID == "shop-db-writer" {
			near(t, "writer db load (60 s period)", one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", in.ID), in.CPU/100*4, 0.05)
		}
	}
}

// TestPerformanceInsightsDBLoadKeepsLastSample: a db_load instance whose
// call fails keeps its last DB load (static stability), is asked again
// at every refresh until a call succeeds, then returns to its minute.
func TestPerformanceInsightsDBLoadKeepsLastSample(t *testing.T) {
	s, rec := startRecordedStack(t, freshScenario(t), freshConfig)
	s.refreshDueEvery(t, 3*time.Minute, 5*time.Second, false)
	got := s.gather(t)
	load := one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-writer")
	writer := ""
	for id, name := range resourceIDs(t, s) {
		if name == "shop-db-writer" {
			writer = id
		}
	}
	fault, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: "pi", Rate: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	s.refreshDueEvery(t, 90*time.Second, 5*time.Second, true)
	var failed int
	for _, c := range rec.take() {
		if c.identifier == writer {
			failed++
		}
	}
	// Its slot falls within the first minute; from there every 10 s
	// refresh asks again: at least 3 tries in the last 30 s.
	if failed < 3 {
		t.Fatalf("the writer was asked %d times in 90 s of failures, want a retry at every refresh after its slot", failed)
	}
	got = s.gather(t)
	if v := one(t, got, "aurora_instance_db_load_average_active_sessions", "db_instance", "shop-db-writer"); v != load {
		t.Fatalf("writer's DB load %g while the calls fail, want the last good %g", v, load)
	}
	if one(t, got, "aurora_exporter_aws_calls_total", "service", "PI", "operation", "GetResourceMetrics", "outcome", "throttle") < float64(failed) {
		t.Fatal("the failed calls are not counted")
	}
	s.env.World.Faults.Remove(fault)
	s.refreshDueEvery(t, 10*time.Second, 5*time.Second, false)
	rec.take()
	s.refreshDueEvery(t, time.Minute, 5*time.Second, false)
	n := 0
	for _, c := range rec.take() {
		if c.identifier == writer {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("after recovering, the writer was asked %d times in a minute, want 1", n)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPerformanceInsightsSlowEMAndDBLoadIntervalZero: Enhanced Monitoring
// at 60 s is older than what Performance Insights brings every 10 s, so
// those instances stay on the fresh schedule with Performance Insights as
// their CPU source; and db_load_interval 0 reads the DB load of the
// instances on db_load at 1 s periods on every refresh, still without
// the CPU.
func TestPerformanceInsightsSlowEMAndDBLoadIntervalZero(t *testing.T) {
	sc := freshScenario(t)
	for i := range sc.Fleets {
		if c := &sc.Fleets[i].Cluster; c.ID == "blog-db" {
			c.MonitoringInterval = 60
		}
	}
	s, rec := startRecordedStack(t, sc, freshConfig+"performance_insights:\n  db_load_interval: 0s\n")
	s.refreshDueEvery(t, 3*time.Minute, 5*time.Second, false)
	got := s.gather(t)
	if f, d := one(t, got, "aurora_exporter_performance_insights_instances", "schedule", "fresh"),
		one(t, got, "aurora_exporter_performance_insights_instances", "schedule", "db_load"); f != 3 || d != 1 {
		t.Fatalf("schedules: fresh %g db_load %g; want 3 (reader-1, blog-db's two at 60 s) and 1 (shop-db-writer at 1 s)", f, d)
	}
	for _, id := range []string{"blog-db-writer", "blog-db-reader-1"} {
		if src := signalSource(t, got, id); src != "performance_insights" {
			t.Errorf("%s (Enhanced Monitoring at 60 s): fresh signal from %s, want performance_insights", id, src)
		}
		if age := one(t, got, "aurora_instance_fresh_signal_age_seconds", "db_instance", id); age > 20 {
			t.Errorf("%s: fresh signal %gs old", id, age)
		}
	}
	if src := signalSource(t, got, "shop-db-writer"); src != "enhanced_monitoring" {
		t.Errorf("shop-db-writer: fresh signal from %s, want enhanced_monitoring", src)
	}
	rec.take()
	s.refreshDueEvery(t, time.Minute, 5*time.Second, false)
	names := resourceIDs(t, s)
	n := 0
	for _, c := range rec.take() {
		if names[c.identifier] != "shop-db-writer" {
			continue
		}
		n++
		if c.period != 1 || strings.Join(c.metrics, ",") != "db.load.avg" {
			t.Errorf("shop-db-writer with db_load_interval 0: asked %v at %d s periods", c.metrics, c.period)
		}
	}
	if n != 6 {
		t.Errorf("shop-db-writer with db_load_interval 0: %d calls a minute, want 6 (every refresh)", n)
	}
}
