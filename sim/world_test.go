package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func newTestWorld(t *testing.T, scenario string) (*World, *VirtualClock) {
	t.Helper()
	sc, err := LoadScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	clock := NewVirtualClock(time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC))
	w, err := New(sc, clock)
	if err != nil {
		t.Fatal(err)
	}
	return w, clock
}

func cluster(w *World, id string) *Cluster {
	for _, a := range w.accounts {
		for _, r := range a.Regions {
			if c := r.Clusters[id]; c != nil {
				return c
			}
		}
	}
	return nil
}

func TestTrafficCurve(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tr := &Traffic{T0: t0, Def: TrafficDef{Keyframes: []Keyframe{
		{At: -5 * time.Minute, Users: 200}, {At: 0, Users: 800}, {At: 50 * time.Second, Users: 8000}, {At: time.Hour, Users: 8000},
	}}}
	cases := []struct {
		at   time.Duration
		want float64
	}{
		{-time.Hour, 200}, {-5 * time.Minute, 200}, {-150 * time.Second, 500}, {0, 800},
		{25 * time.Second, 4400}, {50 * time.Second, 8000}, {2 * time.Hour, 8000},
	}
	for _, c := range cases {
		if got := tr.UsersAt(t0.Add(c.at)); got != c.want {
			t.Errorf("users at %v = %v, want %v", c.at, got, c.want)
		}
	}
	over := 42.0
	tr.Override = &over
	if got := tr.UsersAt(t0); got != 42 {
		t.Errorf("override: got %v", got)
	}
}

func TestTrafficRepeat(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tr := &Traffic{T0: t0, Def: TrafficDef{Repeat: time.Hour, Keyframes: []Keyframe{
		{At: 0, Users: 0}, {At: 10 * time.Minute, Users: 100}, {At: 20 * time.Minute, Users: 0},
	}}}
	if a, b := tr.UsersAt(t0.Add(5*time.Minute)), tr.UsersAt(t0.Add(65*time.Minute)); a != b || a != 50 {
		t.Errorf("repeat: %v vs %v, want 50", a, b)
	}
}

// The avalanche saturates the lone reader at max ACU within seconds: the
// scaling problem the product exists for.
func TestAvalancheSaturatesReaderWithinSeconds(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	reader := c.Region.Instances["events-db-reader-1"]
	if err := w.Advance(9 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if reader.CPU > 30 {
		t.Fatalf("before the event reader CPU %.0f%% should sit under the 30%% target", reader.CPU)
	}
	if err := w.Advance(70 * time.Second); err != nil { // T0 + 10 s: ~2,200 users
		t.Fatal(err)
	}
	if err := w.Advance(60 * time.Second); err != nil { // past the ramp
		t.Fatal(err)
	}
	if reader.ACU != 32 {
		t.Errorf("reader ACU %.1f, want max 32 within seconds of the avalanche", reader.ACU)
	}
	if reader.CPU != 100 {
		t.Errorf("reader CPU %.0f%%, want saturated", reader.CPU)
	}
	if reader.ReadLatency < 3e-3 {
		t.Errorf("read latency %.4fs should be past the 3 ms early-warning threshold", reader.ReadLatency)
	}
}

func TestCreateBecomesAvailableAfterProvisioningAndJoinsDNS(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	var in *Instance
	w.Do(func(now time.Time) {
		in = w.NewInstance(c.Region, c, "events-db-reader-2", ServerlessClass, "", 15, nil, now)
		in.AvailableAt = now.Add(w.P.ProvisioningDelay)
	})
	_ = w.Advance(w.P.ProvisioningDelay - time.Second)
	if in.Status != StatusCreating || contains(c.DNSReaders, in.ID) {
		t.Fatalf("one second early: status %s, DNS %v", in.Status, c.DNSReaders)
	}
	_ = w.Advance(time.Second)
	if in.Status != StatusAvailable || !contains(c.DNSReaders, in.ID) {
		t.Fatalf("on time: status %s, DNS %v", in.Status, c.DNSReaders)
	}
}

func TestFailoverDNSWindow(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	var err *APIError
	w.Do(func(now time.Time) { err = w.StartFailover(c, nil, now) })
	if err != nil {
		t.Fatal(err)
	}
	if c.Writer != "events-db-reader-1" || c.DNSWriter != "events-db-writer" {
		t.Fatalf("at once: API writer %s, DNS writer %s", c.Writer, c.DNSWriter)
	}
	w.Do(func(now time.Time) { err = w.StartFailover(c, nil, now) })
	if err == nil || err.Code != "InvalidDBClusterStateFault" {
		t.Fatalf("second failover during the first: %v", err)
	}
	_ = w.Advance(w.P.FailoverDNSWindowMin - time.Second)
	if c.DNSWriter != "events-db-writer" || c.App.stats.WritesFailedTotal == 0 {
		t.Fatalf("inside the window: DNS writer %s, failed writes %.0f", c.DNSWriter, c.App.stats.WritesFailedTotal)
	}
	_ = w.Advance(w.P.FailoverDNSWindowMax)
	if c.DNSWriter != "events-db-reader-1" || c.Status != StatusAvailable {
		t.Fatalf("after the window: DNS writer %s status %s", c.DNSWriter, c.Status)
	}
	failed := c.App.stats.WritesFailedTotal
	_ = w.Advance(10 * time.Second)
	if c.App.stats.WritesFailedTotal != failed {
		t.Errorf("writes still failing after the window")
	}
	old := c.Region.Instances["events-db-writer"]
	if old.Status != StatusAvailable || !contains(c.DNSReaders, old.ID) {
		t.Errorf("old writer should be back as a reader: %s %v", old.Status, c.DNSReaders)
	}
}

func TestDeletedReaderLingersInRoundRobin(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	in := c.Region.Instances["events-db-reader-1"]
	w.Do(func(now time.Time) { w.BeginDelete(in, now) })
	_ = w.Advance(w.P.ReaderDNSLinger - time.Second)
	if !contains(c.DNSReaders, in.ID) || c.App.stats.ReadsFailedTotal == 0 {
		t.Fatalf("during linger: DNS %v failed reads %.0f", c.DNSReaders, c.App.stats.ReadsFailedTotal)
	}
	_ = w.Advance(time.Second)
	if contains(c.DNSReaders, in.ID) {
		t.Fatalf("after linger: still in DNS %v", c.DNSReaders)
	}
	_ = w.Advance(w.P.DeletionDelay)
	if _, ok := c.Region.Instances[in.ID]; ok {
		t.Fatal("instance not removed after the deletion delay")
	}
}

func TestMetricStoreAggregatesLikeCloudWatch(t *testing.T) {
	m := NewMetricStore(time.Minute, time.Hour)
	k, _ := NewSeriesKey("AWS/RDS", "DatabaseConnections", []Dim{{"DBClusterIdentifier", "c"}})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Two instances (10 and 30 connections) for two minutes.
	for s := 1; s <= 120; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		m.rollover(now.Add(-time.Second).Truncate(time.Minute))
		m.sample(k, UnitCount, Gauge, now, time.Second, 10)
		m.sample(k, UnitCount, Gauge, now, time.Second, 30)
	}
	m.rollover(t0.Add(2 * time.Minute))
	pts := m.Lookup(k).Points(t0, t0.Add(time.Hour), t0.Add(time.Hour), time.Minute)
	if len(pts) != 2 {
		t.Fatalf("want 2 closed minutes, got %d", len(pts))
	}
	for stat, want := range map[string]float64{"Average": 20, "Sum": 40, "SampleCount": 2, "Minimum": 10, "Maximum": 30} {
		if got, _ := pts[0].Stat(stat); got != want {
			t.Errorf("%s = %v, want %v", stat, got, want)
		}
	}
	five := Aggregate(pts, 5*time.Minute)
	if len(five) != 1 || five[0].SampleCount != 4 || five[0].Sum != 80 {
		t.Errorf("5-minute aggregate: %+v", five)
	}
	// Publication lag: the second minute is not visible until it has ended.
	if got := m.Lookup(k).Points(t0, t0.Add(time.Hour), t0.Add(90*time.Second), time.Minute); len(got) != 1 {
		t.Errorf("visible before 90s: %d points, want 1", len(got))
	}
}

func TestCounterSumsPerMinute(t *testing.T) {
	m := NewMetricStore(time.Minute, time.Hour)
	k, _ := NewSeriesKey("AWS/ApplicationELB", "RequestCountPerTarget", []Dim{{"TargetGroup", "tg"}})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for s := 1; s <= 60; s++ {
		m.sample(k, UnitCount, Counter, t0.Add(time.Duration(s)*time.Second), time.Second, 25) // 25 req/s
	}
	m.rollover(t0.Add(time.Minute))
	pts := m.Lookup(k).Points(t0, t0.Add(time.Hour), t0.Add(time.Hour), time.Minute)
	if len(pts) != 1 || pts[0].Sum != 1500 {
		t.Fatalf("want 1,500 requests in the minute, got %+v", pts)
	}
}

func TestPaginate(t *testing.T) {
	p, err := Paginate(45, "", 20, 100, 20, 100, "MaxRecords")
	if err != nil || p.Start != 0 || p.End != 20 || p.Next == "" {
		t.Fatalf("first page: %+v %v", p, err)
	}
	p, err = Paginate(45, p.Next, 20, 100, 20, 100, "MaxRecords")
	if err != nil || p.Start != 20 || p.End != 40 {
		t.Fatalf("second page: %+v %v", p, err)
	}
	p, _ = Paginate(45, p.Next, 20, 100, 20, 100, "MaxRecords")
	if p.End != 45 || p.Next != "" {
		t.Fatalf("last page: %+v", p)
	}
	if _, err := Paginate(45, "", 5, 100, 20, 100, "MaxRecords"); err == nil || err.Code != "InvalidParameterValue" {
		t.Fatalf("MaxRecords 5: %v", err)
	}
	if _, err := Paginate(45, "garbage", 0, 100, 20, 100, "MaxRecords"); err == nil {
		t.Fatal("garbage marker accepted")
	}
}

func TestScenarioValidation(t *testing.T) {
	for _, name := range EmbeddedScenarios() {
		if _, err := LoadScenario(name); err != nil {
			t.Errorf("embedded %s: %v", name, err)
		}
	}
	bad := map[string]string{
		"unknown key":    "name: x\nfleets: []\nparamz: {}\n",
		"two writers":    "name: x\nfleets:\n- name: f\n  cluster:\n    id: c\n    instances:\n    - {id: a, class: db.r6g.large, writer: true}\n    - {id: b, class: db.r6g.large, writer: true}\n",
		"unknown class":  "name: x\nfleets:\n- name: f\n  cluster:\n    id: c\n    instances:\n    - {id: a, class: db.m1.tiny, writer: true}\n",
		"serverless max": "name: x\nfleets:\n- name: f\n  cluster:\n    id: c\n    serverless_v2: {min_acu: 0.5, max_acu: 300}\n    instances:\n    - {id: a, class: db.serverless, writer: true}\n",
		"bad account":    "name: x\naccounts: [{id: '12'}]\n",
	}
	for name, y := range bad {
		if _, err := ParseScenario([]byte(y)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadScenario("no-such"); err == nil || !strings.Contains(err.Error(), "field-avalanche") {
		t.Errorf("unknown scenario error should list the embedded ones: %v", err)
	}
}

func TestFaultSetScopesAndRates(t *testing.T) {
	s := NewFaultSet(1)
	if _, err := s.Add(Fault{Kind: FaultThrottle, Service: "monitoring", Operations: []string{"GetMetricData"}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.ForCall(CallContext{Service: "monitoring", Operation: "GetMetricData"}, time.Now())
	if err == nil || err.Code != "Throttling" {
		t.Fatalf("matching call: %v", err)
	}
	if _, err := s.ForCall(CallContext{Service: "rds", Operation: "DescribeDBClusters"}, time.Now()); err != nil {
		t.Fatalf("other service throttled: %v", err)
	}
	if _, err := s.Add(Fault{Kind: "meteor"}); err == nil {
		t.Fatal("unknown fault kind accepted")
	}
	id, _ := s.Add(Fault{Kind: FaultServerError, Rate: 0.5})
	hits := 0
	for i := 0; i < 1000; i++ {
		if _, err := s.ForCall(CallContext{Service: "sts", Operation: "GetCallerIdentity"}, time.Now()); err != nil {
			hits++
		}
	}
	if hits < 400 || hits > 600 {
		t.Errorf("rate 0.5 hit %d of 1000", hits)
	}
	s.Remove(id)
}

func TestResolveFollowsChains(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	recs, known := w.Resolve("db-write.app.internal")
	if !known || len(recs) != 3 || recs[2].Type != "A" || !strings.HasPrefix(recs[1].Value, "events-db-writer.") {
		t.Fatalf("db-write chain: %v", recs)
	}
	if _, known := w.Resolve("example.com"); known {
		t.Error("example.com should be unknown")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BenchmarkStep100Clusters is the load model's per-tick cost on a
// 100-cluster x 16-instance fleet at the default 1 s tick: one iteration
// is one simulated minute, which must take well under a minute for the
// emulator to keep real time.
func BenchmarkStep100Clusters(b *testing.B) {
	var inst strings.Builder
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&inst, "      - {id: db-i%02d, class: db.serverless, tier: 1, writer: %v}\n", i, i == 0)
	}
	sc, err := ParseScenario([]byte(`
name: bench
fleets:
  - name: f
    count: 100
    cluster:
      id: db
      serverless_v2: {min_acu: 0.5, max_acu: 64}
      instances:
` + inst.String() + `
    traffic:
      reads_per_user_second: 0.5
      writes_per_user_second: 0.05
      connections_per_user: 0.05
      keyframes: [{at: 0s, users: 5000}]
`))
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(sc, NewVirtualClock(time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Advance(10 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*10)/1000, "ms/tick")
}
