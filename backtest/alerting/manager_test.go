package alerting

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// post is one POST /api/v2/alerts.
type post struct {
	at     float64
	alerts []Alert
}

// series is a Prometheus alerting rule's output for one alert: from `from`
// to `to` it is re-sent every `every` seconds with EndsAt 4 intervals
// ahead; from `to` on it is sent resolved (EndsAt=to) `resolvedPosts`
// times. to < 0 means it never resolves before the end.
func series(lbls map[string]string, from, to, every float64, resolvedPosts int) []post {
	var out []post
	for t := from; to < 0 || t < to; t += every {
		if to < 0 && t > 3600 {
			break
		}
		out = append(out, post{t, []Alert{{Labels: lbls, Annotations: map[string]string{"summary": "s"},
			StartsAt: sec(from), EndsAt: sec(t + 4*every), GeneratorURL: "http://prometheus/graph"}}})
	}
	for i := 0; to >= 0 && i < resolvedPosts; i++ {
		out = append(out, post{to + float64(i)*every, []Alert{{Labels: lbls, Annotations: map[string]string{"summary": "s"},
			StartsAt: sec(from), EndsAt: sec(to), GeneratorURL: "http://prometheus/graph"}}})
	}
	return out
}

// play merges the posts by time, puts them in order (advancing to each
// first) and advances to end; it returns the notifications.
func play(t *testing.T, m *Manager, end float64, posts ...[]post) []Notification {
	t.Helper()
	byTime := map[float64][]Alert{}
	for _, ps := range posts {
		for _, p := range ps {
			if p.at <= end {
				byTime[p.at] = append(byTime[p.at], p.alerts...)
			}
		}
	}
	times := slices.Sorted(maps.Keys(byTime))
	var out []Notification
	for _, at := range times {
		out = append(out, m.Advance(sec(at))...)
		if err := m.Put(sec(at), byTime[at]); err != nil {
			t.Fatal(err)
		}
	}
	return append(out, m.Advance(sec(end))...)
}

// summary renders a notification as "35s scaler firing s1+ d1-": the time
// from t0, the receiver, the status and each alert's id label with + for
// firing and - for resolved.
func summary(t *testing.T, n Notification) string {
	t.Helper()
	var msg webhookMessage
	if err := json.Unmarshal(n.Body, &msg); err != nil {
		t.Fatalf("body %s: %v", n.Body, err)
	}
	var ids []string
	for _, a := range msg.Alerts {
		mark := "+"
		if a.Status == "resolved" {
			mark = "-"
		}
		ids = append(ids, a.Labels["id"]+mark)
	}
	if msg.Receiver != n.Receiver {
		t.Errorf("body receiver %q, notification %q", msg.Receiver, n.Receiver)
	}
	return fmt.Sprintf("%v %s %s %s", n.At.Sub(t0), n.Receiver, msg.Status, strings.Join(ids, " "))
}

func summaries(t *testing.T, ns []Notification) []string {
	t.Helper()
	var out []string
	for i, n := range ns {
		if i > 0 && n.At.Before(ns[i-1].At) {
			t.Errorf("notification %d at %s before the previous one at %s", i, n.At, ns[i-1].At)
		}
		out = append(out, summary(t, n))
	}
	return out
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notifications:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func load(t *testing.T, path string) *Manager {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const shipped = "../../deploy/alertmanager/alertmanager.yml"

// scaling labels an alert as the rules bundle does.
func scaling(id, alertname, severity, cluster string) map[string]string {
	return map[string]string{"id": id, "alertname": alertname, "action": "add_readers", "severity": severity,
		"account": "111111111111", "region": "eu-west-1", "cluster": cluster}
}

// The shipped scaler route: group_wait 5s, group_interval 30s,
// repeat_interval 5m. The first notification comes group_wait after the
// first alert; an unchanged group is re-sent at the first group_interval
// tick strictly more than repeat_interval after the last notification
// (5s+5m lands on a tick, so 5m30s later); the resolution goes out at the
// next tick.
func TestGroupWaitRepeatAndResolve(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 700,
		series(scaling("s1", "AuroraReaderCPUStep1", "warning", "c1"), 0, 400, 15, 4)))
	expect(t, got,
		"5s scaler firing s1+",
		"5m35s scaler firing s1+",
		"7m5s scaler resolved s1-")
}

// An alert joining a group that has flushed waits for the group's next
// tick, not group_wait; the notification carries both.
func TestNewAlertJoinsGroup(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 100,
		series(scaling("s1", "AuroraReaderCPUStep1", "warning", "c1"), 0, -1, 15, 0),
		series(scaling("s2", "AuroraReaderCPUStep1", "warning", "c1"), 12, -1, 15, 0)))
	expect(t, got,
		"5s scaler firing s1+",
		"35s scaler firing s1+ s2+")
}

// A second alert arriving within group_wait is in the first notification.
func TestGroupWaitCollects(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 20,
		series(scaling("s1", "AuroraReaderCPUStep1", "warning", "c1"), 0, -1, 15, 0),
		series(scaling("s2", "AuroraReaderCPUStep1", "warning", "c1"), 3, -1, 15, 0)))
	expect(t, got, "5s scaler firing s1+ s2+")
}

// One of two alerts resolving is a change: notified at the next tick,
// with send_resolved the resolved one is in the body; then it leaves the
// group and the next notification is the repeat.
func TestOneAlertResolves(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 400,
		series(scaling("s1", "AuroraReaderCPUStep1", "warning", "c1"), 0, -1, 15, 0),
		series(scaling("s2", "AuroraReaderCPUStep1", "warning", "c1"), 0, 50, 15, 3)))
	expect(t, got,
		"5s scaler firing s1+ s2+",
		"1m5s scaler firing s1+ s2-",
		"6m35s scaler firing s1+")
}

// continue: a critical step goes to the scaler and to people, each in its
// own group; Step2 inhibits Step1 and AboveTarget of the same cluster
// (not of another cluster) while it fires; once it resolves (at 100s),
// Step1 is notified at its group's next tick (125s) while Step1 keeps
// AboveTarget muted.
func TestInhibitionAndContinue(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 400,
		series(scaling("s2", "AuroraReaderCPUStep2", "critical", "c1"), 0, 100, 15, 3),
		series(scaling("s1", "AuroraReaderCPUStep1", "warning", "c1"), 0, -1, 15, 0),
		series(scaling("t1", "AuroraReaderCPUAboveTarget", "warning", "c1"), 0, -1, 15, 0),
		series(scaling("o1", "AuroraReaderCPUStep1", "warning", "c2"), 0, -1, 15, 0)))
	expect(t, got,
		"5s scaler firing s2+",
		"5s scaler firing o1+",
		"30s notify firing s2+",
		"2m5s scaler resolved s2-",
		"2m5s scaler firing s1+",
		"5m30s notify resolved s2-",
		"5m35s scaler firing o1+")
}

// An alert that stops being re-sent resolves resolve_timeout after it was
// received when it came without EndsAt.
func TestResolveTimeout(t *testing.T) {
	m := load(t, shipped)
	a := scaling("s1", "AuroraReaderCPUStep1", "warning", "c1")
	got := summaries(t, play(t, m, 400, []post{{0, []Alert{{Labels: a, StartsAt: sec(0)}}}}))
	expect(t, got,
		"5s scaler firing s1+",
		"5m5s scaler resolved s1-")
}

// An alert whose StartsAt is older than group_wait flushes a new group at
// once.
func TestOldAlertFlushesAtOnce(t *testing.T) {
	m := load(t, shipped)
	a := scaling("s1", "AuroraReaderCPUStep1", "warning", "c1")
	got := summaries(t, play(t, m, 40, []post{{10, []Alert{{Labels: a, StartsAt: sec(0), EndsAt: sec(70)}}}}))
	expect(t, got, "10s scaler firing s1+")
}
