package collector

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// scriptedResolver answers each name from a list in rotation, like
// Aurora's reader endpoint.
type scriptedResolver struct {
	answers map[string][]string
	next    map[string]int
	err     error
	mu      sync.Mutex
}

func (r *scriptedResolver) Resolve(_ context.Context, name string) ([]string, []string, error) {
	// The source resolves its endpoints concurrently.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, nil, r.err
	}
	list := r.answers[name]
	if len(list) == 0 {
		return nil, nil, nil
	}
	i := r.next[name] % len(list)
	r.next[name]++
	return []string{list[i]}, []string{"127.0.0.1"}, nil
}

const hash = ".abc123.us-east-1.rds.amazonaws.com."

func dnsFixture() (*Discovery, *ClusterInfo) {
	sc := Scope{Account: "123456789012", Region: "us-east-1"}
	c := &ClusterInfo{Scope: sc, ID: "db", Writer: "w", Endpoint: "db.cluster-abc123.us-east-1.rds.amazonaws.com",
		ReaderEndpoint: "db.cluster-ro-abc123.us-east-1.rds.amazonaws.com",
		Instances: []*InstanceInfo{
			{ID: "w", Role: RoleWriter, Status: "available", Address: "w.abc123.us-east-1.rds.amazonaws.com"},
			{ID: "r1", Role: RoleReader, Status: "available", Address: "r1.abc123.us-east-1.rds.amazonaws.com"},
			{ID: "r2", Role: RoleReader, Status: "available", Address: "r2.abc123.us-east-1.rds.amazonaws.com"},
		}}
	d := &Discovery{}
	d.inv.Store(&Inventory{Clusters: []*ClusterInfo{c}})
	return d, c
}

func endpoint(st *DNSState, kind string) EndpointState {
	for _, e := range st.Endpoints {
		if e.Kind == kind {
			return e
		}
	}
	return EndpointState{}
}

func TestDNSAgreementAndDisagreementDuration(t *testing.T) {
	d, c := dnsFixture()
	r := &scriptedResolver{next: map[string]int{}, answers: map[string][]string{
		c.Endpoint:       {"w" + hash},
		c.ReaderEndpoint: {"r1" + hash, "r2" + hash},
	}}
	clock := &fixedClock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := NewDNSSource(d, r, 4, clock)
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := endpoint(src.State(), EndpointWriter); !e.Agrees || len(e.Answered) != 1 {
		t.Fatalf("writer: %+v", e)
	}
	if e := endpoint(src.State(), EndpointReader); !e.Agrees || len(e.Answered) != 2 {
		t.Fatalf("reader: %+v", e)
	}

	// Failover: the API names r1 the writer, DNS still answers w.
	c.Writer = "r1"
	c.Instances[0].Role, c.Instances[1].Role = RoleReader, RoleWriter
	src.clock = fixedClock{clock.t.Add(5 * time.Second)}
	_ = src.Refresh(context.Background())
	src.clock = fixedClock{clock.t.Add(12 * time.Second)}
	_ = src.Refresh(context.Background())
	e := endpoint(src.State(), EndpointWriter)
	if e.Agrees || len(e.Unexpected) != 1 || e.Unexpected[0] != "w" {
		t.Fatalf("writer during the DNS window: %+v", e)
	}
	if got := clock.t.Add(12 * time.Second).Sub(e.DisagreeingSince); got != 7*time.Second {
		t.Errorf("disagreement lasted %v, want 7s", got)
	}

	// A deleted reader still in round robin.
	d2, c2 := dnsFixture()
	c2.Instances = c2.Instances[:2] // r2 removed from the API
	r2 := &scriptedResolver{next: map[string]int{}, answers: map[string][]string{
		c2.Endpoint: {"w" + hash}, c2.ReaderEndpoint: {"r1" + hash, "r2" + hash},
	}}
	src2 := NewDNSSource(d2, r2, 4, clock)
	_ = src2.Refresh(context.Background())
	if e := endpoint(src2.State(), EndpointReader); e.Agrees || len(e.Unexpected) != 1 || e.Unexpected[0] != "r2" {
		t.Fatalf("lingering reader: %+v", e)
	}
}

func TestDNSOutageKeepsLastState(t *testing.T) {
	d, c := dnsFixture()
	r := &scriptedResolver{next: map[string]int{}, answers: map[string][]string{
		c.Endpoint: {"w" + hash}, c.ReaderEndpoint: {"r1" + hash, "r2" + hash},
	}}
	src := NewDNSSource(d, r, 2, fixedClock{time.Unix(0, 0)})
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := src.State()
	r.err = errors.New("i/o timeout")
	if err := src.Refresh(context.Background()); err == nil {
		t.Fatal("outage not reported")
	}
	if src.State() != before {
		t.Fatal("a failed refresh replaced the last good state")
	}
}

func TestInstanceOf(t *testing.T) {
	cases := map[string]string{
		"events-db-reader-1.abc.us-east-1.rds.amazonaws.com.":  "events-db-reader-1",
		"events-db.cluster-abc.us-east-1.rds.amazonaws.com.":   "",
		"events-db.cluster-ro-abc.us-east-1.rds.amazonaws.com": "",
		"example.com.": "",
	}
	for host, want := range cases {
		got, ok := instanceOf(host)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q %v", host, got, ok)
		}
	}
}

func TestSnapshotDropsStaleSources(t *testing.T) {
	d, _ := dnsFixture()
	runner := NewRunner(fixedClock{time.Unix(1000, 0)}, discardLogger(), time.Second)
	_ = runner.RefreshOnce(context.Background(), okSource{"discovery"})
	cw := NewCloudWatchSource(&ClientSet{}, d, nil, DefaultConfig().CloudWatch, fixedClock{time.Unix(1000, 0)})
	exp := NewExporter(ExporterOptions{Runner: runner, Discovery: d, CloudWatch: cw, StaleAfter: time.Minute, Clock: fixedClock{time.Unix(1030, 0)}})
	if exp.Snapshot().Inventory == nil {
		t.Fatal("fresh inventory not served")
	}
	exp.clock = fixedClock{time.Unix(1061, 0)}
	if exp.Snapshot().Inventory != nil {
		t.Fatal("inventory past stale_after still served")
	}
	if exp.Snapshot().CloudWatch != nil {
		t.Fatal("CloudWatch values served though the source never succeeded")
	}
}

type okSource struct{ name string }

func (s okSource) Name() string                  { return s.name }
func (s okSource) Refresh(context.Context) error { return nil }
