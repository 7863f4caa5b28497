package alerting

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
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

// scaling labels an alert as the rules bundle does (the DB cluster is
// db_cluster, as in the shipped group_by and inhibit_rules).
func scaling(id, alertname, severity, dbCluster string) map[string]string {
	return map[string]string{"id": id, "alertname": alertname, "action": "add_readers", "severity": severity,
		"account": "111111111111", "region": "eu-west-1", "db_cluster": dbCluster}
}

// step1 is a warning AuroraReaderCPUStep1 on dbCluster, the alert most
// tests play.
func step1(id, dbCluster string) map[string]string {
	return scaling(id, "AuroraReaderCPUStep1", "warning", dbCluster)
}

// withNotifyWebhook gives the shipped notify receiver, a null receiver
// (deploy/README.md, "Alerts for people"), one webhook with send_resolved
// at url, so a test of continue sees the notifications of both receivers.
// The rest of the shipped file is unchanged.
func withNotifyWebhook(t *testing.T, cfg, url string) string {
	t.Helper()
	const name = "  - name: notify\n"
	if n := strings.Count(cfg, name); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want 1", shipped, name, n)
	}
	return strings.Replace(cfg, name, name+"    webhook_configs:\n      - url: "+url+"\n        send_resolved: true\n", 1)
}

// shippedWithNotifyWebhook writes withNotifyWebhook of the shipped file to
// a temporary file and returns its path.
func shippedWithNotifyWebhook(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(shipped)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(path, []byte(withNotifyWebhook(t, string(b), "http://people.example/alerts")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The shipped scaler route: group_wait 0s, group_interval 30s,
// repeat_interval 1m. The first notification comes at the instant of the
// first alert; an unchanged group is re-sent at the first group_interval
// tick strictly more than repeat_interval after the last notification
// (1m after a tick lands on a tick, so every 1m30s); the resolution goes
// out at the next tick.
func TestGroupWaitRepeatAndResolve(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 700,
		series(step1("s1", "c1"), 0, 400, 15, 4)))
	expect(t, got,
		"0s scaler firing s1+",
		"1m30s scaler firing s1+",
		"3m0s scaler firing s1+",
		"4m30s scaler firing s1+",
		"6m0s scaler firing s1+",
		"7m0s scaler resolved s1-")
}

// An alert joining a group that has flushed waits for the group's next
// tick, not group_wait; the notification carries both.
func TestNewAlertJoinsGroup(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 100,
		series(step1("s1", "c1"), 0, -1, 15, 0),
		series(step1("s2", "c1"), 12, -1, 15, 0)))
	expect(t, got,
		"0s scaler firing s1+",
		"30s scaler firing s1+ s2+")
}

// A second alert arriving within group_wait is in the first notification
// (testdata/timing.yml's batch route: group_wait 10s).
func TestGroupWaitCollects(t *testing.T) {
	m := load(t, "testdata/timing.yml")
	got := withPath(t, play(t, m, 20,
		series(batch("b1"), 0, -1, 15, 0),
		series(batch("b2"), 3, -1, 15, 0)))
	expect(t, got, "/hook 10s batch firing b1+ b2+", "/second 10s batch firing b1+ b2+")
}

// The shipped scaler route's group_wait 0s: a new group flushes at the
// instant of the Put that made it, with every alert of that Put, and the
// inhibition rules see every alert of that Put. Alertmanager flushes as
// soon as the first alert is in the group, racing the rest of the POST
// and its inhibitor; the model is the outcome where the POST wins
// (README.md, where the model departs).
func TestGroupWaitZeroFlushesWithThePut(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 10,
		series(step1("s1", "c1"), 0, -1, 15, 0),
		series(step1("s2", "c1"), 0, -1, 15, 0),
		series(scaling("x2", "AuroraReaderCPUStep2", "critical", "c2"), 0, -1, 15, 0),
		series(step1("x1", "c2"), 0, -1, 15, 0)))
	expect(t, got, "0s scaler firing s1+ s2+", "0s scaler firing x2+")
}

// One of two alerts resolving is a change: notified at the next tick,
// with send_resolved the resolved one is in the body; then it leaves the
// group and the next notification is the repeat.
func TestOneAlertResolves(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 400,
		series(step1("s1", "c1"), 0, -1, 15, 0),
		series(step1("s2", "c1"), 0, 50, 15, 3)))
	expect(t, got,
		"0s scaler firing s1+ s2+",
		"1m0s scaler firing s1+ s2-",
		"2m30s scaler firing s1+",
		"4m0s scaler firing s1+",
		"5m30s scaler firing s1+")
}

// inhibitionTimeline: a critical Step2 on c1 (resolving at 100s), a
// Step1 and an AboveTarget on c1, and a Step1 on c2, all from 0s.
func inhibitionTimeline() [][]post {
	return [][]post{
		series(scaling("s2", "AuroraReaderCPUStep2", "critical", "c1"), 0, 100, 15, 3),
		series(step1("s1", "c1"), 0, -1, 15, 0),
		series(scaling("t1", "AuroraReaderCPUAboveTarget", "warning", "c1"), 0, -1, 15, 0),
		series(step1("o1", "c2"), 0, -1, 15, 0),
	}
}

// With the shipped file: Step2 inhibits Step1 and AboveTarget of the same
// db_cluster (not of another db_cluster) while it fires; once it resolves
// (at 100s), Step1 is notified at its group's next tick (120s) while
// Step1 keeps AboveTarget muted. The critical Step2 also reaches the
// notify receiver (continue), which ships as a null receiver: no
// notification for it.
func TestInhibition(t *testing.T) {
	m := load(t, shipped)
	got := summaries(t, play(t, m, 400, inhibitionTimeline()...))
	expect(t, got,
		"0s scaler firing s2+",
		"0s scaler firing o1+",
		"1m30s scaler firing s2+",
		"1m30s scaler firing o1+",
		"2m0s scaler resolved s2-",
		"2m0s scaler firing s1+",
		"3m0s scaler firing o1+",
		"3m30s scaler firing s1+",
		"4m30s scaler firing o1+",
		"5m0s scaler firing s1+",
		"6m0s scaler firing o1+",
		"6m30s scaler firing s1+")
}

// continue: the same timeline with a webhook on the notify receiver. The
// critical step goes to the scaler and to people, each in its own group
// with its own timings (the root route's group_wait 30s and
// group_interval 5m for people); the inhibited alerts reach neither.
func TestContinue(t *testing.T) {
	m := load(t, shippedWithNotifyWebhook(t))
	got := summaries(t, play(t, m, 400, inhibitionTimeline()...))
	expect(t, got,
		"0s scaler firing s2+",
		"0s scaler firing o1+",
		"30s notify firing s2+",
		"1m30s scaler firing s2+",
		"1m30s scaler firing o1+",
		"2m0s scaler resolved s2-",
		"2m0s scaler firing s1+",
		"3m0s scaler firing o1+",
		"3m30s scaler firing s1+",
		"4m30s scaler firing o1+",
		"5m0s scaler firing s1+",
		"5m30s notify resolved s2-",
		"6m0s scaler firing o1+",
		"6m30s scaler firing s1+")
}

// An alert that stops being re-sent resolves resolve_timeout after it was
// received when it came without EndsAt.
func TestResolveTimeout(t *testing.T) {
	m := load(t, shipped)
	a := step1("s1", "c1")
	got := summaries(t, play(t, m, 400, []post{{0, []Alert{{Labels: a, StartsAt: sec(0)}}}}))
	expect(t, got,
		"0s scaler firing s1+",
		"1m30s scaler firing s1+",
		"3m0s scaler firing s1+",
		"4m30s scaler firing s1+",
		"5m0s scaler resolved s1-")
}

// An alert whose StartsAt is older than group_wait flushes a new group at
// once (testdata/timing.yml's batch route: group_wait 10s), not 10 s later.
func TestOldAlertFlushesAtOnce(t *testing.T) {
	m := load(t, "testdata/timing.yml")
	a := batch("b1")
	got := withPath(t, play(t, m, 40, []post{{15, []Alert{{Labels: a, StartsAt: sec(0), EndsAt: sec(70)}}}}))
	expect(t, got, "/hook 15s batch firing b1+", "/second 15s batch firing b1+")
}

// withPath prefixes summaries with the webhook URL's path, for receivers
// with two integrations.
func withPath(t *testing.T, ns []Notification) []string {
	t.Helper()
	var out []string
	for _, n := range ns {
		out = append(out, n.URL[strings.LastIndex(n.URL, "/"):]+" "+summary(t, n))
	}
	return out
}

func batch(id string) map[string]string {
	return map[string]string{"id": id, "alertname": "Batch" + id, "team": "batch"}
}

// testdata/timing.yml's batch route: group_wait 10s, group_interval 1m;
// the group is created at 5s, so it ticks at 15s, 1m15s, 2m15s. The
// resolution reaches the send_resolved integration only. The emptied
// group lingers until the dispatcher's 30 s clean-up (at 1m30s): an
// alert arriving before that joins it and waits for its tick; one
// arriving after starts a new group and waits group_wait.
func TestEmptyGroupLingersUntilCleanUp(t *testing.T) {
	first := series(batch("b1"), 5, 50, 10, 2)
	for _, tc := range []struct {
		name string
		at   float64
		want []string
	}{
		{"before clean-up", 80, []string{"/hook 2m15s batch firing b2+", "/second 2m15s batch firing b2+"}},
		{"after clean-up", 95, []string{"/hook 1m45s batch firing b2+", "/second 1m45s batch firing b2+"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := load(t, "testdata/timing.yml")
			m.Advance(sec(0)) // housekeeping ticks from here
			got := withPath(t, play(t, m, 170, first, series(batch("b2"), tc.at, -1, 10, 0)))
			expect(t, got, append([]string{
				"/hook 15s batch firing b1+",
				"/second 15s batch firing b1+",
				"/hook 1m15s batch resolved b1-",
			}, tc.want...)...)
		})
	}
}

// max_alerts truncates the body (status and common labels are of what is
// left); the other integration of the receiver gets everything.
func TestMaxAlerts(t *testing.T) {
	m := load(t, "testdata/timing.yml")
	ns := play(t, m, 20, series(batch("b1"), 0, -1, 10, 0), series(batch("b2"), 0, -1, 10, 0), series(batch("b3"), 0, -1, 10, 0))
	expect(t, withPath(t, ns), "/hook 10s batch firing b1+ b2+", "/second 10s batch firing b1+ b2+ b3+")
	var msg webhookMessage
	if err := json.Unmarshal(ns[0].Body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.TruncatedAlerts != 1 || msg.CommonLabels["team"] != "batch" || len(msg.CommonLabels) != 1 {
		t.Errorf("truncated %d, common labels %v; want 1 and team=batch only", msg.TruncatedAlerts, msg.CommonLabels)
	}
	if ns[0].SendResolved != true || ns[1].SendResolved != false {
		t.Errorf("send_resolved %v/%v, want true/false", ns[0].SendResolved, ns[1].SendResolved)
	}
}

// Without send_resolved a resolution in a group that still fires is no
// change; the resolved alert is never in a body.
func TestSendResolvedFalseMixedGroup(t *testing.T) {
	m := load(t, "testdata/timing.yml")
	ns := play(t, m, 140, series(batch("b1"), 0, -1, 10, 0), series(batch("b2"), 0, 30, 10, 2))
	expect(t, withPath(t, ns),
		"/hook 10s batch firing b1+ b2+",
		"/second 10s batch firing b1+ b2+",
		"/hook 1m10s batch firing b1+ b2-")
}

// Without send_resolved the resolution is logged, not posted, and an
// alert that fires again (group_by '...': its own group, cleaned up in
// between) is notified again.
func TestSendResolvedFalseRefire(t *testing.T) {
	m := load(t, "testdata/timing.yml")
	q := map[string]string{"id": "q1", "alertname": "Quiet", "team": "quiet"}
	got := summaries(t, play(t, m, 300, series(q, 0, 30, 10, 2), series(q, 200, -1, 10, 0)))
	expect(t, got, "10s quiet firing q1+", "3m30s quiet firing q1+")
}

// group_by '...': every label set is its own group and its labels are
// the group labels.
func TestGroupByAll(t *testing.T) {
	m := load(t, "testdata/timing.yml")
	ns := play(t, m, 20,
		series(map[string]string{"id": "q1", "alertname": "Quiet", "team": "quiet"}, 0, -1, 10, 0),
		series(map[string]string{"id": "q2", "alertname": "Quiet", "team": "quiet"}, 0, -1, 10, 0))
	expect(t, summaries(t, ns), "10s quiet firing q1+", "10s quiet firing q2+")
	var msg webhookMessage
	if err := json.Unmarshal(ns[0].Body, &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.GroupLabels) != 3 {
		t.Errorf("group labels %v, want all three labels", msg.GroupLabels)
	}
}

// A flush due at the instant of a Put sees the Put's alerts when the Put
// comes first (the harness puts an evaluation's alerts, then advances to
// the same instant); advancing first flushes without them.
func TestFlushAtPutInstant(t *testing.T) {
	for _, putFirst := range []bool{true, false} {
		m := load(t, shipped)
		s1 := step1("s1", "c1")
		s2 := step1("s2", "c1")
		if err := m.Put(sec(0), []Alert{{Labels: s1, StartsAt: sec(0), EndsAt: sec(100)}}); err != nil {
			t.Fatal(err)
		}
		var ns []Notification
		if !putFirst {
			ns = m.Advance(sec(30))
		}
		if err := m.Put(sec(30), []Alert{{Labels: s2, StartsAt: sec(30), EndsAt: sec(100)}}); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, m.Advance(sec(60))...)
		if putFirst {
			expect(t, summaries(t, ns), "0s scaler firing s1+", "30s scaler firing s1+ s2+")
		} else {
			expect(t, summaries(t, ns), "0s scaler firing s1+", "1m0s scaler firing s1+ s2+")
		}
	}
}

// The body, byte for byte, as Alertmanager 0.25 posted it for this alert
// in TestMatchesRealAlertmanager (fingerprint included).
func TestWebhookBody(t *testing.T) {
	m := load(t, shipped)
	ns := play(t, m, 5, series(step1("s1", "c1"), 0, -1, 15, 0))
	want := `{"receiver":"scaler","status":"firing","alerts":[{"status":"firing","labels":{"account":"111111111111","action":"add_readers","alertname":"AuroraReaderCPUStep1","db_cluster":"c1","id":"s1","region":"eu-west-1","severity":"warning"},"annotations":{"summary":"s"},"startsAt":"2025-03-01T12:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus/graph","fingerprint":"f72c51abc2168228"}],"groupLabels":{"account":"111111111111","action":"add_readers","alertname":"AuroraReaderCPUStep1","db_cluster":"c1","region":"eu-west-1"},"commonLabels":{"account":"111111111111","action":"add_readers","alertname":"AuroraReaderCPUStep1","db_cluster":"c1","id":"s1","region":"eu-west-1","severity":"warning"},"commonAnnotations":{"summary":"s"},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}/{action=~\".+\",action!=\"none\"}:{account=\"111111111111\", action=\"add_readers\", alertname=\"AuroraReaderCPUStep1\", db_cluster=\"c1\", region=\"eu-west-1\"}","truncatedAlerts":0}` + "\n"
	if len(ns) != 1 {
		t.Fatalf("got %d notifications, want 1", len(ns))
	}
	if string(ns[0].Body) != want {
		t.Fatalf("body:\n%s\nwant\n%s", ns[0].Body, want)
	}
	if ns[0].URL != "http://aurora_scaler:9854/webhook" || !ns[0].At.Equal(sec(0)) {
		t.Errorf("url %s at %s", ns[0].URL, ns[0].At)
	}
}

// The same input gives the same output, bodies included.
func TestDeterministic(t *testing.T) {
	run := func() []Notification {
		m := load(t, shipped)
		return play(t, m, 600,
			series(scaling("s2", "AuroraReaderCPUStep2", "critical", "c1"), 0, 100, 15, 3),
			series(step1("s1", "c1"), 0, -1, 15, 0),
			series(step1("o1", "c2"), 10, 300, 15, 0),
			series(step1("o2", "c2"), 20, -1, 15, 0))
	}
	a, b := run(), run()
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("two runs differ or are empty:\n%v\n%v", a, b)
	}
}

func TestPutRejectsBadAlerts(t *testing.T) {
	m := load(t, shipped)
	good := step1("s1", "c1")
	for _, tc := range []struct {
		name  string
		alert Alert
		want  string
	}{
		{"no labels", Alert{Labels: map[string]string{"empty": ""}}, "at least one label pair"},
		{"bad label name", Alert{Labels: map[string]string{"a-b": "x"}}, `invalid name "a-b"`},
		{"ends before it starts", Alert{Labels: good, StartsAt: sec(10), EndsAt: sec(5)}, "start time must be before end time"},
		{"bad annotation value", Alert{Labels: good, Annotations: map[string]string{"summary": "\xff"}}, "invalid annotations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Put(sec(0), []Alert{tc.alert, {Labels: good, StartsAt: sec(0), EndsAt: sec(60)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// The valid alert of each POST was kept, as Alertmanager keeps it.
	expect(t, summaries(t, m.Advance(sec(5))), "0s scaler firing s1+")
	if err := m.Put(sec(1), nil); err == nil || !strings.Contains(err.Error(), "already played") {
		t.Errorf("a Put in the past: %v", err)
	}
	if ns := m.Advance(sec(2)); ns != nil {
		t.Errorf("an Advance into the past returned %v", ns)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yml, want string }{
		{"missing file", "", "no such file"},
		{"unknown receiver", "route: {receiver: nope}\nreceivers: [{name: a}]\n", "undefined receiver"},
		{"time intervals", `route:
  receiver: a
  routes: [{receiver: a, mute_time_intervals: [night]}]
receivers: [{name: a}]
time_intervals: [{name: night, time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]}]
`, "not modelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yml")
			if tc.yml != "" {
				if err := os.WriteFile(path, []byte(tc.yml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
