package scaler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/internal/rdsfleet"
)

// Instance statuses and tags the decisions depend on.
const (
	statusAvailable = "available"
	statusDeleting  = "deleting"

	TagManaged    = rdsfleet.TagManaged
	TagDecisionID = "aurora-surge:decision-id"
	TagDecidedAt  = "aurora-surge:decided-at"
	TagFrom       = "aurora-surge:from-readers"
	// TagACUChange on a cluster: "<decision id>|<RFC 3339 time>|<from>|<to>"
	// of the scaler's last max ACU change, so a restarted scaler or another
	// replica sees its cooldown.
	TagACUChange = "aurora-surge:acu-change"

	// ManagedTier is the promotion tier of scaler-made readers: failover
	// prefers the self-managed tier-0/1 readers (docs/field.md#reader-auto-scaling).
	ManagedTier = 15
)

// Decision outcomes.
const (
	OutcomeAct     = "act"
	OutcomeDryRun  = "dry_run"
	OutcomeRefused = "refused"
	OutcomeNoop    = "noop"
)

// Dimensions: what a decision changes; cooldowns are per dimension and
// direction, breakers per target.
const (
	DimReaders = "readers"
	DimACU     = "max_acu"
	DimASG     = "desired_capacity"

	DirOut = "out"
	DirIn  = "in"
)

// Instance is one cluster member as read from AWS.
type Instance struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Class      string    `json:"class"`
	Tier       int       `json:"tier"`
	Writer     bool      `json:"writer"`
	Managed    bool      `json:"managed"`
	DecisionID string    `json:"decision_id,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	From       int       `json:"from,omitempty"` // readers before its decision; -1 unknown
}

// ClusterState is a cluster as read from AWS just before deciding.
type ClusterState struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Serverless bool       `json:"serverless"`
	MinACU     float64    `json:"min_acu"`
	MaxACU     float64    `json:"max_acu"`
	Instances  []Instance `json:"instances"`
	// History holds the last max ACU change, recovered from the cluster's
	// aurora-surge:acu-change tag.
	History []Event `json:"history,omitempty"`
}

// Readers are the members that are not the writer and not going away.
func (c *ClusterState) Readers() []Instance {
	var out []Instance
	for _, in := range c.Instances {
		if !in.Writer && in.Status != statusDeleting {
			out = append(out, in)
		}
	}
	return out
}

func (c *ClusterState) has(id string) bool {
	for _, in := range c.Instances {
		if in.ID == id {
			return true
		}
	}
	return false
}

// ASGState is an Auto Scaling group as read from AWS.
type ASGState struct {
	Name    string `json:"name"`
	Min     int    `json:"min"`
	Max     int    `json:"max"`
	Desired int    `json:"desired"`
	// History are the group's recent capacity changes, recovered from its
	// scaling activities (whoever made them).
	History []Event `json:"history,omitempty"`
}

// Event is an action taken on a target, recovered from AWS (tags of
// scaler-made readers) or remembered by this process.
type Event struct {
	DecisionID string    `json:"decision_id"`
	Dimension  string    `json:"dimension"`
	Direction  string    `json:"direction"`
	At         time.Time `json:"at"`
	From       float64   `json:"from"`
	To         float64   `json:"to"`
	// External: a change AWS recorded that this process cannot tell was
	// its own (a scaling activity). It counts for cooldowns, which are
	// about the fleet, not for the breaker, which is about the scaler.
	External bool `json:"external,omitempty"`
}

// Policy is the guardrails' configuration.
type Policy struct {
	ScaleOutCooldown    time.Duration
	ScaleInCooldown     time.Duration
	StabilizationWindow time.Duration
	MaxActionsPerHour   int
	MaxDataAge          time.Duration
	Paused              bool
	DryRun              bool
}

// Input is everything a decision depends on; Decide does no I/O.
type Input struct {
	Now          time.Time
	Req          Request
	Policy       Policy
	Cluster      *ClusterTarget
	ASG          *ASGTarget
	ClusterState *ClusterState
	ASGState     *ASGState
	StateErr     error
	History      []Event
	DataAge      time.Duration
	DataAgeKnown bool
	// ScaleOutFiring are the scale-out alerts firing for the target now
	// (scale in only when every signal agrees); SignalsKnown is false when
	// that could not be asked.
	ScaleOutFiring []string
	SignalsKnown   bool
}

// Decision is the result, taken or refused, with its reason.
type Decision struct {
	ID          string    `json:"id"`
	At          time.Time `json:"at"`
	Action      string    `json:"action"`
	Target      string    `json:"target"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	AlertName   string    `json:"alertname,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	StartsAt    time.Time `json:"starts_at"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason"`
	Dimension   string    `json:"dimension,omitempty"`
	Direction   string    `json:"direction,omitempty"`
	From        float64   `json:"from"`
	To          float64   `json:"to"`
	// Instances are the readers to create (add_readers) or remove.
	Instances []string `json:"instances,omitempty"`
	Class     string   `json:"class,omitempty"`
	MinACU    float64  `json:"min_acu,omitempty"`
	// Result is the execution's outcome (success, error, not_implemented),
	// filled in after acting.
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
	// EndedAt is when a procedure started by the decision (Result
	// "started" until then) reported its outcome.
	EndedAt time.Time `json:"ended_at,omitzero"`
	// Count is how many identical no-ops this entry stands for (folded
	// into the newest decision of the target), the last one at LastAt.
	Count  int       `json:"count,omitempty"`
	LastAt time.Time `json:"last_at,omitzero"`
}

// DecisionID is deterministic: replicas deciding on the same alert agree.
func DecisionID(r Request) string {
	sum := sha256.Sum256([]byte(r.Action + "|" + r.Target() + "|" + r.Fingerprint + "|" + r.StartsAt.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:8])
}

// ReaderIDs names the readers an alert episode may create: derived from
// the fingerprint and startsAt, so repeats, HA duplicates and replicas
// all try to create the same identifiers and AWS itself refuses the
// second (DBInstanceAlreadyExists).
func ReaderIDs(cluster, fingerprint string, startsAt time.Time, n int) []string {
	prefix := cluster
	if len(prefix) > 48 { // 63-character identifier limit
		prefix = prefix[:48]
	}
	for len(prefix) > 0 && prefix[len(prefix)-1] == '-' {
		prefix = prefix[:len(prefix)-1]
	}
	ids := make([]string, n)
	for i := range ids {
		seed := fingerprint + "|" + startsAt.UTC().Format(time.RFC3339Nano)
		if i > 0 {
			seed += "|" + strconv.Itoa(i)
		}
		sum := sha256.Sum256([]byte(seed))
		ids[i] = prefix + "-surge-" + hex.EncodeToString(sum[:4])
	}
	return ids
}

// Decide applies the guardrails to one alert.
func Decide(in Input) Decision {
	r := in.Req
	d := Decision{
		ID: DecisionID(r), At: in.Now, Action: r.Action, Target: r.Target(), Account: r.Account, Region: r.Region,
		AlertName: r.AlertName, Fingerprint: r.Fingerprint, StartsAt: r.StartsAt,
	}
	// The top-level status is the group's; each alert is judged by its own.
	if r.Status != StatusFiring {
		d.Outcome, d.Reason = OutcomeNoop, "alert resolved: only firing alerts ask for a change"
		return d
	}
	if in.Policy.Paused {
		return d.refused("paused: the kill switch is on")
	}
	if in.StateErr != nil {
		return d.refused("live state unavailable (%v): keeping the fleet as it is", in.StateErr)
	}
	var out Decision
	switch r.Action {
	case ActionAddReaders:
		out = decideAddReaders(in, d)
	case ActionRaiseMaxACU:
		out = decideRaiseACU(in, d)
	case ActionScaleASG:
		out = decideScaleASG(in, d)
	case ActionRemoveReaders:
		out = decideRemoveReaders(in, d)
	default:
		return d.refused("unknown action %q", r.Action)
	}
	if out.Outcome == OutcomeAct && in.Policy.DryRun {
		out.Outcome = OutcomeDryRun
		out.Reason = "dry run: would " + out.Reason
	}
	return out
}

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

// BreakerOpen reports whether the target's breaker is open at now.
func BreakerOpen(now time.Time, history []Event, maxPerHour int) bool {
	open, _ := breakerOpen(Input{Now: now, History: history, Policy: Policy{MaxActionsPerHour: maxPerHour}})
	return open
}

// scaleOutBase is Application Auto Scaling's scale-out cooldown: inside
// the cooldown of earlier scale-outs, their additions count toward the
// new one, so the new target is measured from the capacity before the
// first of them. ok is false outside any cooldown.
func scaleOutBase(in Input, dim string) (base float64, by string, ok bool) {
	var first *Event
	for i := range in.History {
		e := &in.History[i]
		if e.Dimension != dim || e.Direction != DirOut || since(in.Now, e.At) >= in.Policy.ScaleOutCooldown {
			continue
		}
		if first == nil || e.At.Before(first.At) {
			first = e
		}
	}
	if first == nil || first.From < 0 {
		return 0, "", false
	}
	return first.From, first.DecisionID, true
}

// scaleOutTarget is the new capacity of a scale-out: current + step, or,
// inside the dimension's scale-out cooldown, the capacity before the
// first of those scale-outs + step; capped at limit (capLabel names it in
// the reason).
func scaleOutTarget(in Input, dim string, current, step, limit float64, capLabel string) (float64, string) {
	desired := current + step
	why := fmt.Sprintf("%g + step %g", current, step)
	if base, by, ok := scaleOutBase(in, dim); ok {
		desired = base + step
		why = fmt.Sprintf("%g before scale-out %s (inside its cooldown) + step %g", base, by, step)
	}
	if desired > limit {
		desired, why = limit, why+fmt.Sprintf(", capped at %s%g", capLabel, limit)
	}
	return desired, why
}

func decideAddReaders(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimReaders, DirOut
	cs, t := in.ClusterState, in.Cluster
	if cs == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	if cs.Status != statusAvailable {
		return d.refused("cluster %s is %s: instances can be added only when it is available", cs.ID, cs.Status)
	}
	readers := len(cs.Readers())
	d.From, d.To = float64(readers), float64(readers)
	ids := ReaderIDs(cs.ID, in.Req.Fingerprint, in.Req.StartsAt, in.Req.Step)
	var missing []string
	for _, id := range ids {
		if !cs.has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		d.Outcome, d.Reason, d.Instances = OutcomeNoop, fmt.Sprintf("already applied: readers %v exist (replayed alert)", ids), ids
		return d
	}
	for _, m := range cs.Instances {
		if m.Status != statusAvailable {
			return d.refused("instance %s is %s: one change per cluster at a time", m.ID, m.Status)
		}
	}
	if open, n := breakerOpen(in); open {
		return d.refused("breaker open: %d actions on %s in the last hour (max %d)", n, d.Target, in.Policy.MaxActionsPerHour)
	}
	limit := min(t.MaxReaders, MaxAuroraReaders)
	if readers >= limit {
		return d.refused("cluster %s has %d readers, the configured maximum %d", cs.ID, readers, limit)
	}
	target, why := scaleOutTarget(in, DimReaders, float64(readers), float64(in.Req.Step), float64(limit), "")
	desired := int(target)
	add := min(desired-readers, len(missing))
	if add <= 0 {
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("covered: %s = %d readers, already %d", why, desired, readers)
		return d
	}
	d.Instances = missing[:add]
	d.To = float64(readers + add)
	d.Class = t.ReaderClass
	if d.Class == "" {
		d.Class = templateClass(cs)
	}
	d.Outcome = OutcomeAct
	d.Reason = fmt.Sprintf("add %d reader(s) %v of class %s: %d -> %d (%s)", add, d.Instances, d.Class, readers, readers+add, why)
	return d
}

// templateClass is the class of the cluster's self-managed reader (the
// recommended layout is one of the writer's size), else the writer's.
func templateClass(cs *ClusterState) string {
	var writer string
	for _, in := range cs.Instances {
		if in.Writer {
			writer = in.Class
		} else if !in.Managed && in.Status != statusDeleting {
			return in.Class
		}
	}
	if writer == "" {
		return "db.serverless"
	}
	return writer
}

func decideRaiseACU(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimACU, DirOut
	cs, t := in.ClusterState, in.Cluster
	if cs == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	if !cs.Serverless {
		return d.refused("cluster %s has no Serverless v2 scaling configuration", cs.ID)
	}
	// ModifyDBCluster needs an available cluster. A reader still being
	// created does not block this: extra ACU is what carries the load
	// while it provisions.
	if cs.Status != statusAvailable {
		return d.refused("cluster %s is %s: it can be modified only when available", cs.ID, cs.Status)
	}
	d.From, d.To, d.MinACU = cs.MaxACU, cs.MaxACU, cs.MinACU
	if cs.MaxACU >= t.ACUCeiling {
		return d.refused("max ACU %g already at the ceiling %g", cs.MaxACU, t.ACUCeiling)
	}
	if open, n := breakerOpen(in); open {
		return d.refused("breaker open: %d actions on %s in the last hour (max %d)", n, d.Target, in.Policy.MaxActionsPerHour)
	}
	desired, why := scaleOutTarget(in, DimACU, cs.MaxACU, t.ACUStep*float64(in.Req.Step), t.ACUCeiling, "the ceiling ")
	if desired <= cs.MaxACU {
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("covered: %s = %g, max ACU already %g", why, desired, cs.MaxACU)
		return d
	}
	d.To, d.Outcome = desired, OutcomeAct
	d.Reason = fmt.Sprintf("raise max ACU %g -> %g, min %g kept (%s)", cs.MaxACU, desired, cs.MinACU, why)
	return d
}

func decideScaleASG(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimASG, DirOut
	g, t := in.ASGState, in.ASG
	if g == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	d.From, d.To = float64(g.Desired), float64(g.Desired)
	if g.Desired >= g.Max {
		return d.refused("ASG %s desired %d is at its max %d", g.Name, g.Desired, g.Max)
	}
	if open, n := breakerOpen(in); open {
		return d.refused("breaker open: %d actions on %s in the last hour (max %d)", n, d.Target, in.Policy.MaxActionsPerHour)
	}
	target, why := scaleOutTarget(in, DimASG, float64(g.Desired), float64(min(in.Req.Step, t.MaxStep)), float64(g.Max), "max ")
	desired := max(int(target), g.Min)
	if desired <= g.Desired {
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("covered: %s = %d, desired already %d", why, desired, g.Desired)
		return d
	}
	d.To, d.Outcome = float64(desired), OutcomeAct
	d.Reason = fmt.Sprintf("set desired capacity %d -> %d (%s)", g.Desired, desired, why)
	return d
}

// decideRemoveReaders is static stability first: it removes capacity only
// on fresh data, a settled fleet, a signal that held for the window, and
// never a self-managed reader.
func decideRemoveReaders(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimReaders, DirIn
	cs, t := in.ClusterState, in.Cluster
	if cs == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	if cs.Status != statusAvailable {
		return d.refused("cluster %s is %s: no scale-in while it changes", cs.ID, cs.Status)
	}
	for _, m := range cs.Instances {
		if m.Status != statusAvailable {
			return d.refused("instance %s is %s: no scale-in while any instance is not available", m.ID, m.Status)
		}
	}
	if reason, stale := staleData(in); stale {
		return d.refused("%s", reason)
	}
	if !in.SignalsKnown {
		return d.refused("firing scale-out signals unknown: scale in only when every signal agrees")
	}
	if len(in.ScaleOutFiring) > 0 {
		return d.refused("scale-out signal %s still firing: scale in only when every signal agrees", strings.Join(in.ScaleOutFiring, ", "))
	}
	if held := in.Now.Sub(in.Req.StartsAt); held < in.Policy.StabilizationWindow {
		return d.refused("scale-in signal has held for %s, less than the stabilisation window %s", held.Round(time.Second), in.Policy.StabilizationWindow)
	}
	readers := cs.Readers()
	n := len(readers)
	d.From, d.To = float64(n), float64(n)
	var lastIn, lastOut time.Time
	highest := -1.0
	for _, e := range in.History {
		if e.Dimension != DimReaders {
			continue
		}
		at := e.At
		if at.After(in.Now) {
			at = in.Now // AWS's clock ahead of ours: it happened just now
		}
		if e.Direction == DirIn && at.After(lastIn) {
			lastIn = at
		}
		if e.Direction == DirOut {
			if at.After(lastOut) {
				lastOut = at
			}
			if since(in.Now, at) < in.Policy.StabilizationWindow && e.To > highest {
				highest = e.To
			}
		}
	}
	// A scale-out ends a scale-in cooldown.
	if !lastIn.IsZero() && since(in.Now, lastIn) < in.Policy.ScaleInCooldown && !lastOut.After(lastIn) {
		return d.refused("inside the scale-in cooldown (%s) of the scale-in at %s", in.Policy.ScaleInCooldown, lastIn.Format(time.RFC3339))
	}
	floor := max(t.MinReaders, 1)
	// Aurora's own scale-in removes one reader at a time.
	desired := max(n-1, floor)
	if highest >= float64(desired) {
		return d.refused("a scale-out inside the stabilisation window recommended %g readers: holding %d", highest, n)
	}
	if desired >= n {
		return d.refused("cluster %s has %d readers, the minimum %d", cs.ID, n, floor)
	}
	if open, c := breakerOpen(in); open {
		return d.refused("breaker open: %d actions on %s in the last hour (max %d)", c, d.Target, in.Policy.MaxActionsPerHour)
	}
	var victims []Instance
	for _, r := range readers {
		if r.Managed && r.Tier >= 2 {
			victims = append(victims, r)
		}
	}
	if len(victims) == 0 {
		return d.refused("no scaler-managed reader to remove (self-managed and tier-0/1 readers are never removed)")
	}
	// Newest first: the one added last is the one the surge needed least.
	sort.SliceStable(victims, func(i, j int) bool { return victims[i].DecidedAt.After(victims[j].DecidedAt) })
	d.Instances, d.To, d.Outcome = []string{victims[0].ID}, float64(desired), OutcomeAct
	d.Reason = fmt.Sprintf("remove reader %s: %d -> %d", victims[0].ID, n, desired)
	return d
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

// refused is d refused with a reason.
func (d Decision) refused(format string, args ...any) Decision {
	d.Outcome, d.Reason = OutcomeRefused, fmt.Sprintf(format, args...)
	return d
}
