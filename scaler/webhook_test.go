package scaler

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seeds(t testing.TB) [][]byte {
	files, err := filepath.Glob("testdata/alertmanager-v4-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed payloads: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestDecodeRealPayloads(t *testing.T) {
	cfg, err := ParseConfig("t.yml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("testdata/alertmanager-v4-firing.json")
	m, err := DecodeWebhook(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Alerts) != 2 || m.Alerts[1].Status != StatusResolved || m.Status != StatusFiring {
		t.Fatalf("decoded %+v", m)
	}
	r, ok, err := Route(cfg, m.Alerts[0])
	if err != nil || !ok || r.Action != ActionAddReaders || r.Step != 2 || r.Name != "events-db" || r.Fingerprint != "d1f1a0c5e2b3a4c9" {
		t.Fatalf("routed %+v ok=%v err=%v", r, ok, err)
	}
	// A firing group can carry resolved alerts; each keeps its status.
	if r, _, _ := Route(cfg, m.Alerts[1]); r.Status != StatusResolved {
		t.Errorf("second alert status %s", r.Status)
	}
	b, _ = os.ReadFile("testdata/alertmanager-v4-resolved.json")
	m, err = DecodeWebhook(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("a payload with an unknown new field was refused: %v", err)
	}
	if m.TruncatedAlerts != 2 {
		t.Errorf("truncatedAlerts %d", m.TruncatedAlerts)
	}
	if _, ok, _ := Route(cfg, Alert{Labels: map[string]string{"action": "none"}}); ok {
		t.Error("action none was routed")
	}
}

// The DB cluster is db_cluster: Kubernetes setups attach cluster to every
// series, so an alert naming only cluster is refused, never read as the DB.
func TestRouteReadsDBClusterOnly(t *testing.T) {
	cfg, err := ParseConfig("t.yml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := Route(cfg, Alert{Fingerprint: "f", Labels: map[string]string{"action": "add_readers", "db_cluster": "events-db", "cluster": "k8s-prod"}})
	if err != nil || !ok || r.Name != "events-db" {
		t.Fatalf("db_cluster beside a Kubernetes cluster label: %+v ok=%v err=%v", r, ok, err)
	}
	_, ok, err = Route(cfg, Alert{Fingerprint: "f", Labels: map[string]string{"action": "add_readers", "cluster": "events-db"}})
	var re *RouteError
	if !ok || !errors.As(err, &re) || !strings.Contains(err.Error(), "needs a db_cluster label") || !strings.Contains(err.Error(), "regenerate the rules") {
		t.Fatalf("an alert with cluster only: ok=%v err=%v", ok, err)
	}
}

// The direction label: scale_asg either way (out when absent); the reader
// and ACU actions have theirs, and a contradicting label is a 422.
func TestRouteReadsDirection(t *testing.T) {
	cfg, err := ParseConfig("t.yml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		labels map[string]string
		want   string
		err    string
	}{
		{map[string]string{"action": "scale_asg", "asg": "events-web"}, DirOut, ""},
		{map[string]string{"action": "scale_asg", "asg": "events-web", "direction": "in"}, DirIn, ""},
		{map[string]string{"action": "scale_asg", "asg": "events-web", "direction": "down"}, "", "must be out or in"},
		{map[string]string{"action": "add_readers", "db_cluster": "events-db"}, DirOut, ""},
		{map[string]string{"action": "remove_readers", "db_cluster": "events-db"}, DirIn, ""},
		{map[string]string{"action": "remove_readers", "db_cluster": "events-db", "direction": "out"}, "", "scales in"},
		{map[string]string{"action": "raise_max_acu", "db_cluster": "events-db", "direction": "in"}, "", "scales out"},
	} {
		r, ok, err := Route(cfg, Alert{Fingerprint: "f", Labels: tc.labels})
		var re *RouteError
		switch {
		case tc.err != "" && (!ok || !errors.As(err, &re) || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: ok=%v err=%v, want a RouteError naming %q", tc.labels, ok, err, tc.err)
		case tc.err == "" && (err != nil || r.Direction != tc.want):
			t.Errorf("%v: direction %q err=%v, want %q", tc.labels, r.Direction, err, tc.want)
		}
	}
}

// FuzzDecodeWebhook: the decoder never panics, and whatever it accepts
// satisfies the invariants the scaler relies on and survives a round trip.
func FuzzDecodeWebhook(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"version":"4"}`))
	f.Add([]byte(`{"version":"4","groupKey":"k","status":"firing","receiver":"r","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z","fingerprint":"f"}]} {}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"version":"4","alerts":[null]}`))
	cfg, err := ParseConfig("t.yml", []byte(goodConfig))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeWebhook(bytes.NewReader(data))
		if err != nil {
			if m != nil {
				t.Fatal("a message returned with an error")
			}
			return
		}
		if m.Version != "4" || len(m.Alerts) == 0 || m.GroupKey == "" || m.Receiver == "" || m.TruncatedAlerts < 0 {
			t.Fatalf("accepted an invalid message: %+v", m)
		}
		for _, a := range m.Alerts {
			if a.Fingerprint == "" || len(a.Labels) == 0 || a.StartsAt.IsZero() || (a.Status != StatusFiring && a.Status != StatusResolved) {
				t.Fatalf("accepted an invalid alert: %+v", a)
			}
			r, ok, err := Route(cfg, a)
			if ok && err == nil {
				if r.Step < 1 || r.Step > 100 || r.Name == "" || r.Account == "" {
					t.Fatalf("routed a bad request %+v", r)
				}
				if r.Action == ActionAddReaders {
					for _, id := range ReaderIDs(&ClusterState{ID: r.Name}, r.Step) {
						if len(id) > 63 || strings.Contains(id, "--") {
							t.Fatalf("invalid reader identifier %q", id)
						}
					}
				}
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeWebhook(bytes.NewReader(again)); err != nil {
			t.Fatalf("round trip refused: %v\n%s", err, again)
		}
	})
}
