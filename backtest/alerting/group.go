package alerting

import (
	"sort"
	"time"

	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/common/model"
)

// groupID is the dispatcher's key: a route node and the fingerprint of
// the group labels.
type groupID struct {
	route *dispatch.Route
	fp    model.Fingerprint
}

// group is Alertmanager's aggrGroup.
type group struct {
	id         groupID
	seq        uint64
	labels     model.LabelSet
	key        string // route key + group labels, the webhook's groupKey
	opts       *dispatch.RouteOpts
	alerts     map[model.Fingerprint]*alert
	next       time.Time // the group's timer
	hasFlushed bool
}

// groupLabels keeps the alert's labels named in group_by (all with `...`).
func groupLabels(a *alert, r *dispatch.Route) model.LabelSet {
	ls := model.LabelSet{}
	for ln, lv := range a.labels {
		if _, ok := r.RouteOpts.GroupBy[ln]; ok || r.RouteOpts.GroupByAll {
			ls[ln] = lv
		}
	}
	return ls
}

// insert is the dispatcher's processAlert and aggrGroup.insert: a new
// group first flushes group_wait after its first alert arrived; an
// alert whose StartsAt is already more than group_wait old makes a group
// that has not flushed yet flush at once.
func (m *Manager) insert(r *dispatch.Route, a *alert, now time.Time) {
	ls := groupLabels(a, r)
	id := groupID{route: r, fp: ls.Fingerprint()}
	g, ok := m.groupIndex[id]
	if !ok {
		m.seq++
		g = &group{
			id:     id,
			seq:    m.seq,
			labels: ls,
			key:    r.Key() + ":" + ls.String(),
			opts:   &r.RouteOpts,
			alerts: map[model.Fingerprint]*alert{},
			next:   now.Add(r.RouteOpts.GroupWait),
		}
		m.groupIndex[id] = g
		m.groups = append(m.groups, g)
	}
	g.alerts[a.fingerprint()] = a
	if !g.hasFlushed && a.startsAt.Add(g.opts.GroupWait).Before(now) {
		g.next = now
	}
}

// flush is aggrGroup.run's tick and aggrGroup.flush: the timer is re-armed
// for group_interval, the alerts are frozen as of now (an alert not yet
// resolved is sent without EndsAt), the pipeline runs, and alerts that
// were resolved in this flush leave the group.
func (m *Manager) flush(g *group, now time.Time) {
	g.next = now.Add(g.opts.GroupInterval)
	g.hasFlushed = true
	if len(g.alerts) == 0 {
		return
	}
	alerts := make([]*alert, 0, len(g.alerts))
	for _, a := range g.alerts {
		c := *a
		if !c.resolvedAt(now) {
			c.endsAt = time.Time{}
		}
		alerts = append(alerts, &c)
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alertLess(alerts[i], alerts[j]) })

	m.notify(g, alerts, now)

	// Webhook deliveries are taken to succeed, so every alert resolved
	// in this flush was notified and is removed.
	for _, a := range alerts {
		if !a.endsAt.IsZero() {
			delete(g.alerts, a.fingerprint())
		}
	}
}
