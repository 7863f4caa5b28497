package alerting

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/common/model"
)

// Housekeeping periods Alertmanager 0.25 hard-codes or defaults: the
// dispatcher drops empty aggregation groups every 30 s, the alert
// provider drops resolved alerts every --alerts.gc-interval (30 min).
// Both tick from the start, which for a Manager is its first call.
const (
	groupGCInterval = 30 * time.Second
	alertGCInterval = 30 * time.Minute
)

// Notification is one webhook POST Alertmanager would make.
type Notification struct {
	At           time.Time
	Receiver     string
	URL          string // the webhook_config url
	SendResolved bool
	// Body is the webhook v4 JSON exactly as Alertmanager 0.25 encodes it.
	Body []byte
}

// Manager is Alertmanager's dispatcher, inhibitor, notification log and
// webhook notifier on a virtual clock: time moves only through the
// arguments of Put and Advance, and nothing runs in the background.
type Manager struct {
	route          *dispatch.Route
	resolveTimeout time.Duration
	webhooks       map[string][]webhook
	inhibit        []inhibitRule
	externalURL    string

	alerts     map[model.Fingerprint]*alert // the provider's store
	groups     []*group                     // creation order: ties flush in it
	groupIndex map[groupID]*group
	nflog      map[nflogKey]nflogEntry
	seq        uint64

	started   bool
	now       time.Time // everything due before it has run
	nextGroup time.Time // next dispatcher clean-up
	nextAlert time.Time // next provider clean-up
	pending   []Notification
}

// SetExternalURL sets the externalURL of the webhook bodies (Alertmanager's
// --web.external-url).
func (m *Manager) SetExternalURL(u string) { m.externalURL = u }

// Put receives alerts as POST /api/v2/alerts does at time now. Invalid
// alerts are skipped and reported in the error (Alertmanager answers 400
// but keeps the valid ones); now before an earlier call is an error and
// changes nothing.
func (m *Manager) Put(now time.Time, alerts []Alert) error {
	if err := m.moveTo(now, false); err != nil {
		return err
	}
	var errs []error
	for _, in := range alerts {
		a, err := received(in, now, m.resolveTimeout)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fp := a.fingerprint()
		a = mergeStored(m.alerts[fp], a, now)
		m.alerts[fp] = a
		for _, r := range m.route.Match(a.labels) {
			m.insert(r, a, now)
		}
	}
	return errors.Join(errs...)
}

// Advance runs every flush and clean-up due up to and including now and
// returns the notifications made since the previous Advance, in time
// order. Put(t) runs only what is due before t, so a flush due at t sees
// the alerts of a Put(t) made before Advance(t).
func (m *Manager) Advance(now time.Time) []Notification {
	if err := m.moveTo(now, true); err != nil {
		// The clock never runs backwards: the past has been played.
		return nil
	}
	out := m.pending
	m.pending = nil
	return out
}

// moveTo runs the events due before now (and at now when inclusive).
func (m *Manager) moveTo(now time.Time, inclusive bool) error {
	if !m.started {
		m.started = true
		m.now = now
		m.nextGroup = now.Add(groupGCInterval)
		m.nextAlert = now.Add(alertGCInterval)
	}
	if now.Before(m.now) {
		return fmt.Errorf("alerting: time %s is before %s, already played", now.Format(time.RFC3339Nano), m.now.Format(time.RFC3339Nano))
	}
	due := func(t time.Time) bool { return t.Before(now) || (inclusive && t.Equal(now)) }
	for {
		var next *group
		for _, g := range m.groups {
			if due(g.next) && (next == nil || g.next.Before(next.next)) {
				next = g
			}
		}
		// Flushes before clean-ups at the same instant.
		switch {
		case next != nil && !next.next.After(m.nextGroup) && !next.next.After(m.nextAlert):
			m.flush(next, next.next)
		case due(m.nextGroup) && !m.nextGroup.After(m.nextAlert):
			m.dropEmptyGroups()
			m.nextGroup = m.nextGroup.Add(groupGCInterval)
		case due(m.nextAlert):
			m.dropResolvedAlerts(m.nextAlert)
			m.nextAlert = m.nextAlert.Add(alertGCInterval)
		default:
			m.now = now
			return nil
		}
	}
}

// dropEmptyGroups is the dispatcher's clean-up: a group whose alerts have
// all been notified as resolved disappears, so the next alert with its
// labels starts a new group and waits group_wait again.
func (m *Manager) dropEmptyGroups() {
	kept := m.groups[:0]
	for _, g := range m.groups {
		if len(g.alerts) == 0 {
			delete(m.groupIndex, g.id)
			continue
		}
		kept = append(kept, g)
	}
	m.groups = kept
}

// dropResolvedAlerts is the provider's garbage collection.
func (m *Manager) dropResolvedAlerts(now time.Time) {
	for fp, a := range m.alerts {
		if a.resolvedAt(now) {
			delete(m.alerts, fp)
		}
	}
}
