// Package events is the scheduled pre-event scale-up
// (docs/field.md#asg-scaling-layers): an event registered ahead of time
// (start, end, expected peak capacity) gets its Auto Scaling capacity
// scheduled in AWS 15-30 minutes before the start, its readers created early enough for their ~8 minute
// provisioning, its Serverless v2 range raised, and everything returned to
// the baseline after the end. Scheduled actions ignore cooldowns.
package events

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Event is one registered event and the capacity it needs at its peak.
type Event struct {
	ID      string    `json:"id"`
	Cluster string    `json:"cluster"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// PeakUsers is informational (the expected peak from the business).
	PeakUsers int `json:"peak_users,omitempty"`
	// Readers is how many readers the cluster should have at the start.
	Readers int `json:"readers,omitempty"`
	// MinACU and MaxACU are the Serverless v2 range for the event.
	MinACU float64 `json:"min_acu,omitempty"`
	MaxACU float64 `json:"max_acu,omitempty"`
	// ASGDesired is each group's capacity from the scale-up time to the end.
	ASGDesired map[string]int32 `json:"asg_desired,omitempty"`

	// Baseline is the capacity read from AWS at registration, restored
	// after the end.
	Baseline Baseline `json:"baseline"`
}

// Baseline is the fleet's capacity before the event.
type Baseline struct {
	Readers    int              `json:"readers"`
	MinACU     float64          `json:"min_acu,omitempty"`
	MaxACU     float64          `json:"max_acu,omitempty"`
	ASGDesired map[string]int32 `json:"asg_desired,omitempty"`
	ASGMin     map[string]int32 `json:"asg_min,omitempty"`
}

// Leads are how far ahead of the start each change is made.
type Leads struct {
	// ASG: scheduled capacity before the start (field: 15-30 min).
	ASG time.Duration
	// Readers: a new reader needs ~8 min; created this long before.
	Readers time.Duration
	// ACU: the range is raised this long before.
	ACU time.Duration
	// Revert: after the end, capacity returns to the baseline once this
	// much time has passed (load declines gradually, docs/field.md#traffic-shape).
	Revert time.Duration
}

// DefaultLeads are the field's timings.
func DefaultLeads() Leads {
	return Leads{ASG: 20 * time.Minute, Readers: 15 * time.Minute, ACU: 15 * time.Minute, Revert: 15 * time.Minute}
}

var eventID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Limits are a cluster's bounds from the scaler's configuration; an
// event may not cross them any more than an alert may.
type Limits struct {
	MaxReaders int
	ACUCeiling float64
	// ASG says whether a group is among the scaler's asgs (in the
	// cluster's account and region).
	ASG func(name string) bool
}

// Validate checks an event as registered (before the baseline is read)
// against the cluster's configured limits.
func (e *Event) Validate(now time.Time, lim Limits) error {
	half := func(v float64) bool { return v*2 == math.Trunc(v*2) }
	switch {
	case !eventID.MatchString(e.ID):
		return fmt.Errorf("id %q: 1-40 lower-case letters, digits and dashes", e.ID)
	case e.Cluster == "":
		return fmt.Errorf("event %s: cluster is required", e.ID)
	case e.Start.IsZero() || e.End.IsZero() || !e.End.After(e.Start):
		return fmt.Errorf("event %s: start and end are required, end after start", e.ID)
	case !e.Start.After(now):
		return fmt.Errorf("event %s: start %s is not in the future", e.ID, e.Start.Format(time.RFC3339))
	case e.Readers < 0:
		return fmt.Errorf("event %s: readers %d below 0", e.ID, e.Readers)
	case e.Readers > lim.MaxReaders:
		return fmt.Errorf("event %s: readers %d above the cluster's max_readers %d", e.ID, e.Readers, lim.MaxReaders)
	case e.MinACU < 0 || e.MaxACU < 0 || !half(e.MinACU) || !half(e.MaxACU):
		return fmt.Errorf("event %s: min_acu %g and max_acu %g must be non-negative multiples of 0.5", e.ID, e.MinACU, e.MaxACU)
	case e.MinACU > 0 && e.MaxACU == 0:
		return fmt.Errorf("event %s: min_acu %g without max_acu", e.ID, e.MinACU)
	case e.MaxACU > lim.ACUCeiling:
		return fmt.Errorf("event %s: max_acu %g above the cluster's acu_ceiling %g", e.ID, e.MaxACU, lim.ACUCeiling)
	case e.MinACU > e.MaxACU:
		return fmt.Errorf("event %s: min_acu %g above max_acu %g", e.ID, e.MinACU, e.MaxACU)
	}
	for _, g := range e.groups() {
		if lim.ASG == nil || !lim.ASG(g) {
			return fmt.Errorf("event %s: asg %s is not in the scaler's asgs (for the cluster's account and region)", e.ID, g)
		}
		if n := e.ASGDesired[g]; n < 0 {
			return fmt.Errorf("event %s: asg %s desired %d < 0", e.ID, g, n)
		}
	}
	return nil
}

// groups are the event's Auto Scaling groups, sorted (errors and
// answers name them in a stable order).
func (e *Event) groups() []string { return slices.Sorted(maps.Keys(e.ASGDesired)) }

// scheduledActions names the event's up and down scheduled actions.
func (e *Event) scheduledActions() (up, down string) {
	return "aurora-surge-" + e.ID + "-up", "aurora-surge-" + e.ID + "-down"
}

// Phase is where an event stands at a time.
type Phase string

const (
	PhaseScheduled Phase = "scheduled" // before the first change
	PhaseScaledUp  Phase = "scaled_up" // capacity raised (or being raised)
	PhaseReverting Phase = "reverting" // after end + revert delay
	PhaseCancelled Phase = "cancelled" // deleted: its changes undone
)

// Step is one change of the plan and when it is due.
type Step struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // asg_schedule, add_readers, raise_acu, revert_acu, remove_readers
}

// Plan lists the event's changes in time order. ASG capacity is handed to
// AWS at registration as scheduled actions (AWS runs them even if the
// scaler is down); the other steps are run by Reconcile when due.
func Plan(e Event, l Leads) []Step {
	steps := []Step{}
	if len(e.ASGDesired) > 0 {
		steps = append(steps, Step{At: e.Start.Add(-l.ASG), Kind: "asg_schedule"})
	}
	if e.Readers > e.Baseline.Readers {
		steps = append(steps, Step{At: e.Start.Add(-l.Readers), Kind: "add_readers"})
		steps = append(steps, Step{At: e.End.Add(l.Revert), Kind: "remove_readers"})
	}
	if e.MaxACU > 0 {
		steps = append(steps, Step{At: e.Start.Add(-l.ACU), Kind: "raise_acu"})
		steps = append(steps, Step{At: e.End.Add(l.Revert), Kind: "revert_acu"})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At.Before(steps[j].At) })
	return steps
}

// PhaseAt says where the event stands at now.
func PhaseAt(e Event, l Leads, now time.Time) Phase {
	first := e.Start
	for _, s := range Plan(e, l) {
		if s.At.Before(first) {
			first = s.At
		}
	}
	switch {
	case now.Before(first):
		return PhaseScheduled
	case now.Before(e.End.Add(l.Revert)):
		return PhaseScaledUp
	default:
		return PhaseReverting
	}
}
