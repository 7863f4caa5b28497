package sim

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// addReader adds a reader that is available at once (it joins the reader
// endpoint's answers now).
func addReader(t *testing.T, w *World, c *Cluster, id string) *Instance {
	t.Helper()
	var in *Instance
	w.Do(func(now time.Time) {
		in = w.NewInstance(c.Region, c, id, ServerlessClass, "", 1, nil, now)
		in.Status, in.AvailableAt = StatusAvailable, now
		w.refreshDNS(now)
	})
	return in
}

// repoint changes a Route 53 CNAME as ChangeResourceRecordSets does: the
// API view at once, DNS after the propagation delay.
func repoint(t *testing.T, w *World, name, value string, ttl int64) {
	t.Helper()
	found := false
	w.Do(func(now time.Time) {
		for _, a := range w.accounts {
			for _, z := range a.HostedZones {
				for i, rs := range z.Records {
					if rs.Name == name && rs.Type == "CNAME" {
						cp := *rs
						cp.Values, cp.TTL = []string{value}, ttl
						z.Records[i] = &cp
						w.SubmitChange(a, z, "test", now)
						found = true
					}
				}
			}
		}
	})
	if !found {
		t.Fatalf("no CNAME %s", name)
	}
}

func advance(t *testing.T, w *World, d time.Duration) {
	t.Helper()
	if err := w.Advance(d); err != nil {
		t.Fatal(err)
	}
}

func readClients(c *Cluster) map[string]int  { return c.App.clientsByInstance(false) }
func writeClients(c *Cluster) map[string]int { return c.App.clientsByInstance(true) }

// The default application reads through the reader endpoint and writes
// through the cluster endpoint: reads spread evenly over the readers, as
// the model did before clients had DNS caches.
func TestAppDefaultSpreadsReadsOverTheReaderEndpoint(t *testing.T) {
	w, _ := newTestWorld(t, "steady")
	c := cluster(w, "shop-db")
	r := c.Region
	if c.App.ReadName != r.ReaderEndpoint("shop-db")+"." || c.App.WriteName != r.ClusterEndpoint("shop-db")+"." || len(c.App.clients) != DefaultAppClients {
		t.Fatalf("defaults: read %s write %s clients %d", c.App.ReadName, c.App.WriteName, len(c.App.clients))
	}
	advance(t, w, time.Minute)
	rc := readClients(c)
	if rc["shop-db-reader-1"] != 50 || rc["shop-db-reader-2"] != 50 || len(rc) != 2 {
		t.Errorf("read clients %v, want 50/50 over the two readers", rc)
	}
	if wc := writeClients(c); wc["shop-db-writer"] != 100 {
		t.Errorf("write clients %v, want all on the writer", wc)
	}
	reads := c.Traffic.Users * c.Traffic.Def.ReadsPerUserSecond
	for _, id := range []string{"shop-db-reader-1", "shop-db-reader-2"} {
		if got := r.Instances[id].ReadQPS; math.Abs(got-reads/2) > 1e-9 {
			t.Errorf("%s read QPS %v, want %v", id, got, reads/2)
		}
	}
	st, ok := w.AppStats(r.Account, r.Name, "shop-db")
	if !ok {
		t.Fatal("no app stats")
	}
	writes := c.Traffic.Users * c.Traffic.Def.WritesPerUserSecond
	if math.Abs(st.ReadsTotal-reads*60) > 1e-6 || math.Abs(st.WritesTotal-writes*60) > 1e-6 || st.ReadsFailedTotal != 0 || st.WritesFailedTotal != 0 {
		t.Errorf("a quiet minute: %+v, want %v reads and %v writes, none failed", st, reads*60, writes*60)
	}
	if got := st.ReadLatency.Total(); math.Abs(got-st.ReadsTotal) > 1e-6 {
		t.Errorf("latency histogram holds %v reads, want all %v", got, st.ReadsTotal)
	}
	// The admin API serves the truth as JSON: the totals must survive it.
	raw, err := json.Marshal(w.Truth())
	if err != nil {
		t.Fatal(err)
	}
	var back Truth
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	ct, _ := back.Cluster("shop-db")
	if ct.App.ReadsTotal != st.ReadsTotal || ct.FailedReads != 0 || ct.App.ReadClients["shop-db-reader-1"] != 50 ||
		len(ct.App.ReadLatency.Counts) != len(ct.App.ReadLatency.Bounds)+1 || ct.App.ReadEndpoint != c.App.ReadName {
		t.Errorf("truth's app: %+v", ct.App)
	}
	if _, ok := w.AppStats(r.Account, r.Name, "no-such-db"); ok {
		t.Error("stats for a missing cluster")
	}
}

// A new reader receives clients only as their cached answers expire: a
// fifth of the pool per second with the 5 s TTL, half of them to it.
func TestAppClientsKeepTheirAnswerForTheTTL(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	advance(t, w, 30*time.Second)
	addReader(t, w, c, "events-db-reader-2")
	advance(t, w, time.Second)
	if n := readClients(c)["events-db-reader-2"]; n == 0 || n > 20 {
		t.Fatalf("one second after joining DNS: %d clients on the new reader, want 1-20 (one TTL step)", n)
	}
	if q := c.Region.Instances["events-db-reader-2"].ReadQPS; q == 0 || q >= c.Region.Instances["events-db-reader-1"].ReadQPS {
		t.Errorf("new reader read QPS %v should be a small share", q)
	}
	advance(t, w, w.P.DNSTTL)
	if rc := readClients(c); rc["events-db-reader-2"] != 50 || rc["events-db-reader-1"] != 50 {
		t.Errorf("after one TTL: %v, want 50/50", rc)
	}
}

// A client caches each hop of a chain for that hop's TTL, as a caching
// resolver does: with a 60 s record in front of the 5 s reader endpoint,
// a repointed record reaches the pool over 60 s, not 5 s.
func TestAppCachesEachHopForItsOwnTTL(t *testing.T) {
	sc, err := LoadScenario("field-avalanche")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range sc.Accounts[0].HostedZones[0].Records {
		if r.Name == "db-read.app.internal." {
			sc.Accounts[0].HostedZones[0].Records[i].TTL = 60
		}
	}
	w, err := New(sc, NewVirtualClock(time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	c := cluster(w, "events-db")
	advance(t, w, 2*time.Minute)
	repoint(t, w, "db-read.app.internal.", c.Region.ClusterEndpoint("events-db")+".", 60)
	advance(t, w, w.P.Route53Propagation+30*time.Second)
	n := readClients(c)["events-db-writer"]
	if n < 35 || n > 65 {
		t.Errorf("30 s after the change propagated: %d clients read from the writer, want about half", n)
	}
	advance(t, w, 31*time.Second)
	if n := readClients(c)["events-db-writer"]; n != 100 {
		t.Errorf("after the record's 60 s TTL: %d clients on the writer, want 100", n)
	}
}

// Safe drains (the record or the custom endpoint moved off the reader,
// one TTL waited, then the delete) fail no read; deleting a reader the
// pool still resolves fails the reads of the clients that hold it.
func TestAppDrainSafeVsUnsafe(t *testing.T) {
	cases := []struct {
		name  string
		read  string
		drain func(t *testing.T, w *World, c *Cluster)
		safe  bool
	}{
		{"record repointed", "", func(t *testing.T, w *World, c *Cluster) {
			repoint(t, w, "db-read.app.internal.", c.Region.InstanceEndpoint("events-db-reader-1")+".", 5)
			advance(t, w, w.P.Route53Propagation+5*time.Second+time.Second)
		}, true},
		{"custom endpoint excludes it", "${custom_endpoint:events-reporting}", func(t *testing.T, w *World, c *Cluster) {
			w.Do(func(time.Time) { c.CustomEndpoints["events-reporting"].Excluded = []string{"events-db-reader-2"} })
			advance(t, w, w.P.DNSTTL+time.Second)
		}, true},
		{"deleted while resolved", "", func(*testing.T, *World, *Cluster) {}, false},
		{"record repointed, no wait", "", func(t *testing.T, w *World, c *Cluster) {
			repoint(t, w, "db-read.app.internal.", c.Region.InstanceEndpoint("events-db-reader-1")+".", 5)
			advance(t, w, w.P.Route53Propagation+time.Second)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := LoadScenario("field-avalanche")
			if err != nil {
				t.Fatal(err)
			}
			if tc.read != "" {
				sc.Fleets[0].Traffic.ReadEndpoint = tc.read
			}
			w, err := New(sc, NewVirtualClock(time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)))
			if err != nil {
				t.Fatal(err)
			}
			c := cluster(w, "events-db")
			victim := addReader(t, w, c, "events-db-reader-2")
			advance(t, w, time.Minute)
			if n := readClients(c)[victim.ID]; n == 0 {
				t.Fatalf("the victim has no clients before the drain: %v", readClients(c))
			}
			r := c.Region
			before, _ := w.AppStats(r.Account, r.Name, c.ID)
			tc.drain(t, w, c)
			w.Do(func(now time.Time) { w.BeginDelete(victim, now) })
			advance(t, w, w.P.ReaderDNSLinger+w.P.DNSTTL+time.Second)
			after, _ := w.AppStats(r.Account, r.Name, c.ID)
			d := after.Sub(before)
			if d.ReadsTotal <= 0 {
				t.Fatal("no reads counted")
			}
			if tc.safe && d.ReadsFailedTotal != 0 {
				t.Errorf("safe drain failed %.1f of %.0f reads", d.ReadsFailedTotal, d.ReadsTotal)
			}
			if !tc.safe && d.ReadsFailedTotal <= 0 {
				t.Errorf("unsafe drain failed no reads (clients %v)", readClients(c))
			}
			if d.WritesFailedTotal != 0 {
				t.Errorf("a reader's drain failed %.1f writes", d.WritesFailedTotal)
			}
			// Once the victim is out of every cache, nothing fails.
			settled, _ := w.AppStats(r.Account, r.Name, c.ID)
			advance(t, w, time.Minute)
			now, _ := w.AppStats(r.Account, r.Name, c.ID)
			if f := now.Sub(settled).ReadsFailedTotal; f != 0 {
				t.Errorf("%.1f reads still failing after linger and TTL", f)
			}
		})
	}
}

// A failover fails the writes of every client for the DNS window (the
// cluster endpoint still names the old writer, which reboots), then of
// each client until its cached answer expires: at most one TTL more.
func TestAppFailoverWindowFailsWritesOfClientsOnTheOldWriter(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	r := c.Region
	advance(t, w, time.Minute)
	before, _ := w.AppStats(r.Account, r.Name, c.ID)
	var window time.Duration
	w.Do(func(now time.Time) {
		if err := w.StartFailover(c, nil, now); err != nil {
			t.Fatal(err)
		}
		window = c.dnsWriterSwitch.Sub(now)
	})
	writes := c.Traffic.Users * c.Traffic.Def.WritesPerUserSecond
	advance(t, w, window-time.Second)
	if wc := writeClients(c); wc["events-db-writer"] != 100 {
		t.Fatalf("inside the window every client resolves the old writer: %v", wc)
	}
	mid, _ := w.AppStats(r.Account, r.Name, c.ID)
	if got, want := mid.Sub(before).WritesFailedTotal, writes*(window-time.Second).Seconds(); math.Abs(got-want) > 1e-6 {
		t.Errorf("inside the window: %.2f failed writes, want every write (%.2f)", got, want)
	}
	advance(t, w, w.P.DNSTTL+2*time.Second)
	if wc := writeClients(c); wc["events-db-reader-1"] != 100 {
		t.Fatalf("one TTL after the window every client resolves the new writer: %v", wc)
	}
	after, _ := w.AppStats(r.Account, r.Name, c.ID)
	failed := after.Sub(before).WritesFailedTotal
	lo, hi := writes*window.Seconds(), writes*(window+w.P.DNSTTL+w.P.Tick).Seconds()
	t.Logf("DNS window %v, %.0f writes/s: %.1f failed writes (%.1f-%.1f allowed)", window, writes, failed, lo, hi)
	if failed < lo || failed > hi {
		t.Errorf("failover failed %.1f writes, want %.1f-%.1f (window %v plus at most one TTL)", failed, lo, hi, window)
	}
	advance(t, w, time.Minute)
	later, _ := w.AppStats(r.Account, r.Name, c.ID)
	if f := later.Sub(after).WritesFailedTotal; f != 0 {
		t.Errorf("%.1f writes failed after every cache moved", f)
	}
}

// The latency histogram weights each instance's latency by the reads it
// served: with one saturated reader, the interval's quantiles sit in the
// bucket of that reader's latency.
func TestAppReadLatencyHistogram(t *testing.T) {
	w, _ := newTestWorld(t, "field-avalanche")
	c := cluster(w, "events-db")
	r := c.Region
	advance(t, w, 12*time.Minute) // past the avalanche's ramp
	before, _ := w.AppStats(r.Account, r.Name, c.ID)
	advance(t, w, 10*time.Second)
	after, _ := w.AppStats(r.Account, r.Name, c.ID)
	d := after.Sub(before)
	lat := r.Instances["events-db-reader-1"].ReadLatency
	if lat < 3e-3 {
		t.Fatalf("reader latency %v: the avalanche should saturate it", lat)
	}
	h := d.ReadLatency
	i := 0
	for i < len(h.Bounds) && h.Bounds[i] < lat {
		i++
	}
	lo, hi := 0.0, math.Inf(1)
	if i > 0 {
		lo = h.Bounds[i-1]
	}
	if i < len(h.Bounds) {
		hi = h.Bounds[i]
	}
	if p99 := h.Quantile(0.99); p99 < lo || p99 > hi {
		t.Errorf("p99 %v outside the bucket (%v, %v] of the reader's latency %v", p99, lo, hi, lat)
	}
	if math.Abs(h.Total()-(d.ReadsTotal-d.ReadsFailedTotal)) > 1e-6 {
		t.Errorf("histogram holds %v reads, want the %v that succeeded", h.Total(), d.ReadsTotal-d.ReadsFailedTotal)
	}
	if mean := h.Sum / h.Total(); math.Abs(mean-lat) > 1e-9 {
		t.Errorf("mean %v, want the reader's %v", mean, lat)
	}
	if !math.IsNaN((LatencyHistogram{}).Quantile(0.99)) {
		t.Error("an empty histogram has no quantile")
	}
}

func TestAppEndpointValidation(t *testing.T) {
	base := "name: x\nfleets:\n- name: f\n  cluster:\n    id: c\n    instances:\n    - {id: a, class: db.r6g.large, writer: true}\n    - {id: b, class: db.r6g.large}\n    custom_endpoints: [{id: ce, type: READER}]\n  traffic:\n"
	bad := map[string]string{
		"other cluster":     "    read_endpoint: ${reader_endpoint:other}\n",
		"no such custom":    "    read_endpoint: ${custom_endpoint:nope}\n",
		"unknown form":      "    read_endpoint: ${proxy_endpoint:p}\n",
		"not a name":        "    read_endpoint: localhost\n",
		"negative clients":  "    app_clients: -1\n",
		"too many clients":  "    app_clients: 1000000\n",
		"record with count": "    read_endpoint: db.app.internal.\n  count: 2\n",
	}
	for name, y := range bad {
		if _, err := ParseScenario([]byte(base + y)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := "    read_endpoint: ${custom_endpoint:ce}\n    write_endpoint: ${cluster_endpoint:c}\n    app_clients: 7\n  count: 3\n"
	sc, err := ParseScenario([]byte(base + ok))
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cluster(w, "c-002")
	if c.App.ReadName != c.Region.CustomEndpointName("ce-002")+"." || len(c.App.clients) != 7 {
		t.Errorf("copy 2 reads through %s with %d clients", c.App.ReadName, len(c.App.clients))
	}
	// Where a name leads is checked when the world starts.
	for name, y := range map[string]string{
		"unknown record":       "    read_endpoint: db.nowhere.internal.\n",
		"writes to the reader": "    write_endpoint: ${reader_endpoint:c}\n",
	} {
		sc, err := ParseScenario([]byte(base + y))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := New(sc, nil); err == nil {
			t.Errorf("%s: the world started", name)
		}
	}
}
