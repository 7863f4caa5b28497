package alerting

import (
	"bytes"
	"encoding/json"
	"regexp"
	"time"

	"github.com/prometheus/common/model"
)

// nflogKey is the notification log's key: one entry per group and
// integration of a receiver.
type nflogKey struct {
	groupKey string
	receiver string
	idx      int
}

// nflogEntry is what the notification log keeps of the last notification.
type nflogEntry struct {
	at       time.Time
	firing   map[model.Fingerprint]struct{}
	resolved map[model.Fingerprint]struct{}
}

// notify is the receiver's pipeline: the inhibitor mutes, then each
// webhook integration dedups against the notification log, sends (without
// resolved alerts unless send_resolved) and logs what it covered.
func (m *Manager) notify(g *group, alerts []*alert, now time.Time) {
	var kept []*alert
	for _, a := range alerts {
		if !m.inhibited(a.labels, now) {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		return
	}
	firing := map[model.Fingerprint]struct{}{}
	resolved := map[model.Fingerprint]struct{}{}
	for _, a := range kept {
		if a.endsAt.IsZero() {
			firing[a.fingerprint()] = struct{}{}
		} else {
			resolved[a.fingerprint()] = struct{}{}
		}
	}
	receiver := g.opts.Receiver
	for _, w := range m.webhooks[receiver] {
		key := nflogKey{groupKey: g.key, receiver: receiver, idx: w.idx}
		entry, ok := m.nflog[key]
		var last *nflogEntry
		if ok {
			last = &entry
		}
		if !needsUpdate(last, firing, resolved, w.sendResolved, g.opts.RepeatInterval, now) {
			continue
		}
		sent := kept
		if !w.sendResolved {
			sent = nil
			for _, a := range kept {
				if a.endsAt.IsZero() {
					sent = append(sent, a)
				}
			}
		}
		// Only resolved alerts and no send_resolved: nothing is posted,
		// but the log records them so they are not reconsidered.
		if len(sent) > 0 {
			m.pending = append(m.pending, Notification{
				At:           now,
				Receiver:     receiver,
				URL:          w.url,
				SendResolved: w.sendResolved,
				Body:         m.body(g, receiver, w.maxAlerts, sent),
			})
		}
		m.nflog[key] = nflogEntry{at: now, firing: firing, resolved: resolved}
	}
}

// needsUpdate is notify.DedupStage.needsUpdate.
func needsUpdate(last *nflogEntry, firing, resolved map[model.Fingerprint]struct{}, sendResolved bool, repeat time.Duration, now time.Time) bool {
	if last == nil {
		return len(firing) > 0
	}
	if !subset(firing, last.firing) {
		return true
	}
	// All resolved: notify (whatever send_resolved says) so the log
	// forgets the firing ones, unless the receiver never saw them fire.
	if len(firing) == 0 {
		return len(last.firing) > 0
	}
	if sendResolved && !subset(resolved, last.resolved) {
		return true
	}
	// Strictly more than repeat_interval since the last notification:
	// with a repeat_interval that is a multiple of group_interval the
	// re-send comes one group_interval later, as in Alertmanager, whose
	// log timestamp is taken after the send.
	return last.at.Before(now.Add(-repeat))
}

func subset(sub, set map[model.Fingerprint]struct{}) bool {
	for k := range sub {
		if _, ok := set[k]; !ok {
			return false
		}
	}
	return true
}

// inhibited is inhibit.Inhibitor.Mutes: a target-matching alert is muted
// by any unresolved source-matching alert with the same `equal` labels
// (a label missing on both sides counts as equal); an alert matching both
// sides is not muted by alerts that also match both.
func (m *Manager) inhibited(ls model.LabelSet, now time.Time) bool {
	for _, r := range m.inhibit {
		if !r.target.Matches(ls) {
			continue
		}
		twoSided := r.source.Matches(ls)
	sources:
		for _, s := range m.alerts {
			if s.resolvedAt(now) || !r.source.Matches(s.labels) {
				continue
			}
			for _, ln := range r.equal {
				if s.labels[ln] != ls[ln] {
					continue sources
				}
			}
			if twoSided && r.target.Matches(s.labels) {
				continue
			}
			return true
		}
	}
	return false
}

// webhookMessage is notify/webhook.Message of Alertmanager 0.25, field
// for field and in its order (the embedded template data first).
type webhookMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []webhookAlert    `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// webhookAlert is template.Alert.
type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// body encodes the webhook JSON as notify/webhook.Notifier does: truncate
// to max_alerts, then template.Data over what is left (status and common
// labels of the truncated list), encoded with json.Encoder.
func (m *Manager) body(g *group, receiver string, maxAlerts uint64, alerts []*alert) []byte {
	var truncated uint64
	if maxAlerts != 0 && uint64(len(alerts)) > maxAlerts {
		truncated = uint64(len(alerts)) - maxAlerts
		alerts = alerts[:maxAlerts]
	}
	msg := webhookMessage{
		Receiver:          regexp.QuoteMeta(receiver),
		Status:            string(model.AlertResolved),
		Alerts:            make([]webhookAlert, 0, len(alerts)),
		GroupLabels:       stringMap(g.labels),
		CommonLabels:      map[string]string{},
		CommonAnnotations: map[string]string{},
		ExternalURL:       m.externalURL,
		Version:           "4",
		GroupKey:          g.key,
		TruncatedAlerts:   truncated,
	}
	for _, a := range alerts {
		status := model.AlertResolved
		if a.endsAt.IsZero() {
			status = model.AlertFiring
			msg.Status = string(model.AlertFiring)
		}
		msg.Alerts = append(msg.Alerts, webhookAlert{
			Status:       string(status),
			Labels:       stringMap(a.labels),
			Annotations:  stringMap(a.annotations),
			StartsAt:     a.startsAt,
			EndsAt:       a.endsAt,
			GeneratorURL: a.generatorURL,
			Fingerprint:  a.fingerprint().String(),
		})
	}
	if len(alerts) > 0 {
		common, commonAnn := alerts[0].labels.Clone(), alerts[0].annotations.Clone()
		for _, a := range alerts[1:] {
			for ln, lv := range common {
				if a.labels[ln] != lv {
					delete(common, ln)
				}
			}
			for an, av := range commonAnn {
				if a.annotations[an] != av {
					delete(commonAnn, an)
				}
			}
		}
		msg.CommonLabels, msg.CommonAnnotations = stringMap(common), stringMap(commonAnn)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(msg); err != nil {
		// Unreachable: maps of strings and times always encode, and Put
		// refuses times outside the years JSON can carry.
		panic("alerting: encoding webhook body: " + err.Error())
	}
	return buf.Bytes()
}

func stringMap(ls model.LabelSet) map[string]string {
	out := make(map[string]string, len(ls))
	for k, v := range ls {
		out[string(k)] = string(v)
	}
	return out
}
