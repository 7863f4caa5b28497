package scaler

import (
	"fmt"
	"strings"
	"time"
)

// The guardrails: what may stop a change the demand asks for. Each is a
// pure function of the Input, so every edge case is a table test.

// breakerOpen counts the distinct actions on the target in the last hour.
func breakerOpen(in Input) (bool, int) {
	ids := map[string]bool{}
	for _, e := range in.History {
		if !e.External && since(in.Now, e.At) < time.Hour {
			ids[e.DecisionID] = true
		}
	}
	return len(ids) >= in.Policy.MaxActionsPerHour, len(ids)
}

// breakerReason is breakerOpen as a guard like the others: the reason
// the target's breaker refuses, if it is open.
func breakerReason(in Input, target string) (string, bool) {
	open, n := breakerOpen(in)
	if !open {
		return "", false
	}
	return fmt.Sprintf("breaker open: %d actions on %s in the last hour (max %d)", n, target, in.Policy.MaxActionsPerHour), true
}

// BreakerOpen reports whether the target's breaker is open at now.
func BreakerOpen(now time.Time, history []Event, maxPerHour int) bool {
	open, _ := breakerOpen(Input{Now: now, History: history, Policy: Policy{MaxActionsPerHour: maxPerHour}})
	return open
}

// lastChange is the newest change of the dimension in the direction, if
// any.
func lastChange(in Input, dim, dir string) (Event, bool) {
	var last Event
	found := false
	for _, e := range in.History {
		if e.Dimension == dim && e.Direction == dir && (!found || e.At.After(last.At)) {
			last, found = e, true
		}
	}
	return last, found
}

// notInEffect holds a scale-out while the previous one of the dimension
// has not taken effect yet (pending, described by what) and its
// cooldown has not passed: until then the demand it was for is still
// the demand measured, and acting again would add for it twice. Once
// either holds, the demand decides alone.
func notInEffect(in Input, dim string, pending bool, what string) (string, bool) {
	if !pending {
		return "", false
	}
	last, ok := lastChange(in, dim, DirOut)
	if !ok {
		return "", false
	}
	if ago := since(in.Now, last.At); ago < in.Policy.ScaleOutCooldown {
		return fmt.Sprintf("the scale-out %s %s ago (%g -> %g) has not taken effect (%s) and its cooldown %s has not passed",
			last.DecisionID, ago.Round(time.Second), last.From, last.To, what, in.Policy.ScaleOutCooldown), true
	}
	return "", false
}

// acuApplied reports whether the last max ACU raise shows in the
// observation: the busiest instance uses more than the max before it.
func acuApplied(in Input) bool {
	last, ok := lastChange(in, DimACU, DirOut)
	if !ok {
		return true
	}
	busiest, err := in.Observation.Get(SigBusiestACU)
	return err == nil && busiest > last.From
}

// scaleInAllowed is the scale-in guard common to readers and ASGs: every
// scale-out signal of the target agrees, and the scale-in cooldown of
// the dimension has passed (a scale-out since ends it).
func scaleInAllowed(in Input, dim string) (string, bool) {
	if !in.SignalsKnown {
		return "firing scale-out signals unknown: scale in only when every signal agrees", false
	}
	if len(in.ScaleOutFiring) > 0 {
		return fmt.Sprintf("scale-out signal %s still firing: scale in only when every signal agrees", strings.Join(in.ScaleOutFiring, ", ")), false
	}
	lastIn, okIn := lastChange(in, dim, DirIn)
	lastOut, okOut := lastChange(in, dim, DirOut)
	if okIn && since(in.Now, lastIn.At) < in.Policy.ScaleInCooldown && !(okOut && lastOut.At.After(lastIn.At)) {
		return fmt.Sprintf("inside the scale-in cooldown (%s) of the scale-in at %s", in.Policy.ScaleInCooldown, lastIn.At.Format(time.RFC3339)), false
	}
	return "", true
}

// acuBaselineTooLow holds a reader scale-in that would lower max ACU to
// acu_baseline (the safe scale-in does, after the drain) while the
// busiest instance still needs more than the baseline at the target CPU:
// the ACU alert would raise it again at once, a scale-out after the peak.
func acuBaselineTooLow(in Input, cs *ClusterState, t *ClusterTarget) (string, bool) {
	if t.ACUBaseline <= 0 || !cs.Serverless || cs.MaxACU <= t.ACUBaseline {
		return "", false
	}
	rec, err := RecommendMaxACU(in.Observation, t.ACUBaseline, *t, ReadersAtMaxOf(cs))
	if err != nil {
		return fmt.Sprintf("demand unknown (%v): the scale-in lowers max ACU to the baseline %g, and nothing says that is enough", err, t.ACUBaseline), true
	}
	if rec.Change() {
		return fmt.Sprintf("the scale-in lowers max ACU %g to the baseline %g, but demand needs %g (%s): hold", cs.MaxACU, t.ACUBaseline, rec.Desired, rec.Why), true
	}
	return "", false
}

// staleData says whether the exporter's data is too old, or of unknown
// age, for a scale-in.
func staleData(in Input) (string, bool) {
	if !in.DataAgeKnown {
		return "exporter data age unknown: no scale-in without fresh data", true
	}
	// Whatever the source, a negative or absurd age is a broken clock or
	// an overflow, never fresh data.
	if in.DataAge < 0 || in.DataAge > MaxPlausibleDataAge {
		return fmt.Sprintf("exporter data age %s is not a plausible age: no scale-in on data of unknown freshness (treated as stale data)", in.DataAge), true
	}
	if in.DataAge > in.Policy.MaxDataAge {
		return fmt.Sprintf("exporter data is %s old (max %s): no scale-in on stale data", in.DataAge, in.Policy.MaxDataAge), true
	}
	return "", false
}

// since is how long ago at was. Times recovered from AWS (activities,
// tags another replica wrote) come from other clocks: one a few seconds
// ahead of ours counts as "just now", so a cooldown, window or breaker
// is in force, never skipped or turned negative.
func since(now, at time.Time) time.Duration {
	if at.After(now) {
		return 0
	}
	return now.Sub(at)
}
