package alerting

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// Alert is what Prometheus's notifier sends to POST /api/v2/alerts.
type Alert struct {
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
}

// alert is Alertmanager's types.Alert: the posted alert plus the time it
// was received (the authority when two versions merge) and whether its
// EndsAt is Alertmanager's own resolve_timeout guess.
type alert struct {
	labels       model.LabelSet
	annotations  model.LabelSet
	startsAt     time.Time
	endsAt       time.Time
	generatorURL string
	updatedAt    time.Time
	timeout      bool
}

func (a *alert) fingerprint() model.Fingerprint { return a.labels.Fingerprint() }

// resolvedAt is model.Alert.ResolvedAt: resolved once EndsAt is not after t.
func (a *alert) resolvedAt(t time.Time) bool {
	return !a.endsAt.IsZero() && !a.endsAt.After(t)
}

// received turns a posted alert into a stored one as the v2 API handler
// does: empty labels dropped, StartsAt defaulted, EndsAt defaulted to
// now+resolve_timeout (marked as a timeout), then validated.
func received(in Alert, now time.Time, resolveTimeout time.Duration) (*alert, error) {
	a := &alert{
		labels:       model.LabelSet{},
		annotations:  model.LabelSet{},
		startsAt:     in.StartsAt,
		endsAt:       in.EndsAt,
		generatorURL: in.GeneratorURL,
		updatedAt:    now,
	}
	for k, v := range in.Labels {
		if v != "" {
			a.labels[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	for k, v := range in.Annotations {
		a.annotations[model.LabelName(k)] = model.LabelValue(v)
	}
	if a.startsAt.IsZero() {
		if a.endsAt.IsZero() {
			a.startsAt = now
		} else {
			a.startsAt = a.endsAt
		}
	}
	if a.endsAt.IsZero() {
		a.timeout = true
		a.endsAt = now.Add(resolveTimeout)
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.labels, err)
	}
	return a, nil
}

// validate is model.Alert.Validate with Alertmanager 0.25's label name
// rule (the classic [a-zA-Z_][a-zA-Z0-9_]*).
func (a *alert) validate() error {
	for _, t := range []time.Time{a.startsAt, a.endsAt} {
		if t.Year() < 0 || t.Year() > 9999 {
			return fmt.Errorf("time %s outside years 0-9999 (JSON cannot carry it)", t)
		}
	}
	if !a.endsAt.IsZero() && a.endsAt.Before(a.startsAt) {
		return errors.New("start time must be before end time")
	}
	if len(a.labels) == 0 {
		return errors.New("at least one label pair required")
	}
	if err := validLabelSet(a.labels); err != nil {
		return fmt.Errorf("invalid label set: %w", err)
	}
	if err := validLabelSet(a.annotations); err != nil {
		return fmt.Errorf("invalid annotations: %w", err)
	}
	return nil
}

func validLabelSet(ls model.LabelSet) error {
	for ln, lv := range ls {
		if !ln.IsValidLegacy() {
			return fmt.Errorf("invalid name %q", ln)
		}
		if !utf8.ValidString(string(lv)) {
			return fmt.Errorf("invalid value %q", lv)
		}
	}
	return nil
}

// mergeStored is the provider's Put: a re-sent alert whose activity range
// overlaps the stored one is merged with it (types.Alert.Merge); otherwise
// it replaces it.
func mergeStored(old, a *alert, now time.Time) *alert {
	if old == nil {
		return a
	}
	if (a.endsAt.After(old.startsAt) && a.endsAt.Before(old.endsAt)) ||
		(a.startsAt.After(old.startsAt) && a.startsAt.Before(old.endsAt)) {
		return merge(old, a, now)
	}
	return a
}

// merge is types.Alert.Merge: the younger alert wins, with the earliest
// StartsAt, and a later EndsAt of the older one kept unless that was a
// resolve_timeout guess (or both are resolved).
func merge(a, o *alert, now time.Time) *alert {
	if o.updatedAt.Before(a.updatedAt) {
		return merge(o, a, now)
	}
	res := *o
	if a.startsAt.Before(o.startsAt) {
		res.startsAt = a.startsAt
	}
	if o.resolvedAt(now) {
		if a.resolvedAt(now) && a.endsAt.After(o.endsAt) {
			res.endsAt = a.endsAt
		}
	} else if a.endsAt.After(o.endsAt) && !a.timeout {
		res.endsAt = a.endsAt
	}
	return &res
}

// alertLess is types.AlertSlice.Less: job, then instance, then the label
// sets; a flush sorts its alerts with it.
func alertLess(a, b *alert) bool {
	for _, k := range [...]model.LabelName{"job", "instance"} {
		av, aok := a.labels[k]
		bv, bok := b.labels[k]
		if !aok && !bok {
			continue
		}
		if !aok {
			return false
		}
		if !bok {
			return true
		}
		if av != bv {
			return av < bv
		}
	}
	return a.labels.Before(b.labels)
}
