package scaler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// Instance statuses and tags the decisions depend on.
const (
	statusAvailable = "available"
	statusDeleting  = "deleting"
	statusCreating  = "creating"

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
	// Event names the scheduled event that created the reader
	// (events.TagEvent): its revert removes it, not the demand.
	Event string `json:"event,omitempty"`
}

// ClusterState is a cluster as read from AWS just before deciding.
type ClusterState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// Engine (aurora-mysql, aurora-postgresql) is what new readers run.
	Engine     string     `json:"engine,omitempty"`
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
	ScaleOutCooldown  time.Duration
	ScaleInCooldown   time.Duration
	MaxActionsPerHour int
	MaxDataAge        time.Duration
	Paused            bool
	DryRun            bool
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
	// Observation is current demand (nil: none could be read).
	Observation *Observation
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
	// Observation is the demand the decision was computed from, Desired
	// the state it asks for and why (recommend.go).
	Observation *Observation    `json:"observation,omitempty"`
	Desired     *Recommendation `json:"desired,omitempty"`
	// Instances are the readers to create (add_readers) or remove.
	Instances []string `json:"instances,omitempty"`
	Class     string   `json:"class,omitempty"`
	Engine    string   `json:"engine,omitempty"` // of the readers to create: the cluster's
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

// DecisionID is deterministic: replicas deciding the same change on the
// same alert agree. It names the alert episode and the change (from,
// to), so a still-firing alert that acts again gets a new id.
func DecisionID(r Request, from, to float64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%s|%g|%g", r.Action, r.Target(), r.Fingerprint, r.StartsAt.UTC().Format(time.RFC3339Nano), from, to)))
	return hex.EncodeToString(sum[:8])
}

// ReaderIDs names the next n scaler-made readers of a cluster: the lowest
// reader slots (<cluster>-surge-01 to -15) no member of the cluster holds,
// a deleting one included. Replicas and repeats that want "the 3rd
// reader" want the same identifier, and AWS itself refuses the second
// CreateDBInstance (DBInstanceAlreadyExists).
func ReaderIDs(cs *ClusterState, n int) []string {
	prefix := cs.ID
	if len(prefix) > 48 { // 63-character identifier limit
		prefix = prefix[:48]
	}
	for len(prefix) > 0 && prefix[len(prefix)-1] == '-' {
		prefix = prefix[:len(prefix)-1]
	}
	var ids []string
	for slot := 1; len(ids) < n && slot <= 99; slot++ {
		id := fmt.Sprintf("%s-surge-%02d", prefix, slot)
		if !cs.has(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// readerCounts are a cluster's readers by what they bring: available
// serve now, creating are capacity coming, deleting are gone already,
// other are changing (modifying, rebooting, ...).
type readerCounts struct {
	available, creating int
	changing            []Instance // any member, writer included, neither available, creating nor deleting
}

func countReaders(cs *ClusterState) readerCounts {
	var c readerCounts
	for _, in := range cs.Instances {
		switch {
		case in.Status == statusDeleting:
		case in.Writer && in.Status == statusAvailable:
		case in.Status == statusAvailable:
			c.available++
		case !in.Writer && in.Status == statusCreating:
			c.creating++
		default:
			c.changing = append(c.changing, in)
		}
	}
	return c
}

// Decide computes the desired state from current demand (recommend.go)
// and applies the guardrails (guardrails.go) to one alert: the alert
// says which target and which direction, demand says how much.
func Decide(in Input) Decision {
	r := in.Req
	d := Decision{
		At: in.Now, Action: r.Action, Target: r.Target(), Account: r.Account, Region: r.Region,
		AlertName: r.AlertName, Fingerprint: r.Fingerprint, StartsAt: r.StartsAt, Observation: in.Observation,
	}
	out := decide(in, d)
	out.ID = DecisionID(r, out.From, out.To)
	if out.Outcome == OutcomeAct && in.Policy.DryRun {
		out.Outcome = OutcomeDryRun
		out.Reason = "dry run: would " + out.Reason
	}
	return out
}

func decide(in Input, d Decision) Decision {
	r := in.Req
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
	switch r.Action {
	case ActionAddReaders:
		return decideAddReaders(in, d)
	case ActionRaiseMaxACU:
		return decideRaiseACU(in, d)
	case ActionScaleASG:
		if r.Direction == DirIn {
			return decideASGIn(in, d)
		}
		return decideASGOut(in, d)
	case ActionRemoveReaders:
		return decideRemoveReaders(in, d)
	}
	return d.refused("unknown action %q", r.Action)
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
	c := countReaders(cs)
	d.From, d.To = float64(c.available+c.creating), float64(c.available+c.creating)
	rec, err := RecommendReaders(in.Observation, DirOut, ReaderDemand{Available: c.available, Creating: c.creating,
		Min: t.MinReaders, Max: t.MaxReaders, TargetCPU: t.TargetCPU})
	if err != nil {
		return d.refused("demand unknown (%v): keeping the fleet as it is", err)
	}
	d.Desired = &rec
	if !rec.Change() {
		if rec.Capped {
			return d.refused("cluster %s has %g readers, the configured maximum: demand needs more (%s)", cs.ID, rec.Current, rec.Why)
		}
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("demand needs %g readers, the %g available or creating cover it (%s)", rec.Desired, rec.Current, rec.Why)
		return d
	}
	if len(c.changing) > 0 {
		m := c.changing[0]
		return d.refused("instance %s is %s: no change while an instance changes", m.ID, m.Status)
	}
	if reason, wait := notInEffect(in, DimReaders, c.creating > 0, fmt.Sprintf("%d reader(s) still creating", c.creating)); wait {
		return d.refused("%s", reason)
	}
	if reason, open := breakerReason(in, d.Target); open {
		return d.refused("%s", reason)
	}
	add := int(rec.Desired - rec.Current)
	d.Instances = ReaderIDs(cs, add)
	d.To = rec.Current + float64(len(d.Instances))
	d.Class, d.Engine = t.ReaderClass, cs.Engine
	if d.Class == "" {
		d.Class = templateClass(cs)
	}
	d.Outcome = OutcomeAct
	d.Reason = fmt.Sprintf("add %d reader(s) %v of class %s: %g -> %g (%s)", len(d.Instances), d.Instances, d.Class, d.From, d.To, rec.Why)
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
	rec, err := RecommendMaxACU(in.Observation, cs.MaxACU, *t, ReadersAtMaxOf(cs))
	if err != nil {
		return d.refused("demand unknown (%v): keeping the fleet as it is", err)
	}
	d.Desired = &rec
	if !rec.Change() {
		if rec.Capped {
			return d.refused("max ACU %g already at the ceiling %g: demand needs more (%s)", cs.MaxACU, t.ACUCeiling, rec.Why)
		}
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("demand needs max ACU %g, %g in force (%s)", rec.Desired, cs.MaxACU, rec.Why)
		return d
	}
	if reason, wait := notInEffect(in, DimACU, !acuApplied(in), "the busiest instance has not used the raised max yet"); wait {
		return d.refused("%s", reason)
	}
	if reason, open := breakerReason(in, d.Target); open {
		return d.refused("%s", reason)
	}
	d.To, d.Outcome = rec.Desired, OutcomeAct
	d.Reason = fmt.Sprintf("raise max ACU %g -> %g, min %g kept (%s)", cs.MaxACU, rec.Desired, cs.MinACU, rec.Why)
	return d
}

func decideASGOut(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimASG, DirOut
	g, t := in.ASGState, in.ASG
	if g == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	d.From, d.To = float64(g.Desired), float64(g.Desired)
	rec, err := RecommendASG(in.Observation, DirOut, ASGDemand{Desired: g.Desired, Min: g.Min, Max: g.Max, MaxStep: t.MaxStep, TargetRequests: t.TargetRequests})
	if err != nil {
		return d.refused("demand unknown (%v): keeping the fleet as it is", err)
	}
	d.Desired = &rec
	if !rec.Change() {
		if rec.Capped {
			return d.refused("ASG %s desired %d is at its max %d: demand needs more (%s)", g.Name, g.Desired, g.Max, rec.Why)
		}
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("demand needs %g instances, desired %d covers it (%s)", rec.Desired, g.Desired, rec.Why)
		return d
	}
	inService, _ := in.Observation.Get(SigInService)
	if reason, wait := notInEffect(in, DimASG, inService < float64(g.Desired), fmt.Sprintf("%g of %d instances in service", inService, g.Desired)); wait {
		return d.refused("%s", reason)
	}
	if reason, open := breakerReason(in, d.Target); open {
		return d.refused("%s", reason)
	}
	d.To, d.Outcome = rec.Desired, OutcomeAct
	d.Reason = fmt.Sprintf("set desired capacity %d -> %g (%s)", g.Desired, rec.Desired, rec.Why)
	return d
}

// decideASGIn is static stability first, like decideRemoveReaders: fresh
// data, a settled group, no scale-out signal, outside the scale-in
// cooldown; the amount from the stabilised demand.
func decideASGIn(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimASG, DirIn
	g, t := in.ASGState, in.ASG
	if g == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	d.From, d.To = float64(g.Desired), float64(g.Desired)
	if reason, stale := staleData(in); stale {
		return d.refused("%s", reason)
	}
	if reason, ok := scaleInAllowed(in, DimASG); !ok {
		return d.refused("%s", reason)
	}
	inService, err := in.Observation.Get(SigInService)
	if err == nil && inService != float64(g.Desired) {
		return d.refused("ASG %s has %g of %d instances in service: no scale-in while the group changes", g.Name, inService, g.Desired)
	}
	rec, err := RecommendASG(in.Observation, DirIn, ASGDemand{Desired: g.Desired, Min: g.Min, Max: g.Max, MaxStep: t.MaxStep, TargetRequests: t.TargetRequests})
	if err != nil {
		return d.refused("demand unknown (%v): keeping the fleet as it is", err)
	}
	d.Desired = &rec
	if !rec.Change() {
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("stabilised demand needs %g instances: keep %d (%s)", rec.Desired, g.Desired, rec.Why)
		return d
	}
	if reason, open := breakerReason(in, d.Target); open {
		return d.refused("%s", reason)
	}
	d.To, d.Outcome = rec.Desired, OutcomeAct
	d.Reason = fmt.Sprintf("set desired capacity %d -> %g (%s)", g.Desired, rec.Desired, rec.Why)
	return d
}

// decideRemoveReaders is static stability first: it removes capacity only
// on fresh data, a settled fleet (a reader being deleted is gone already,
// not changing), no scale-out signal, the stabilised demand, and never a
// self-managed reader; one reader at a time, as Aurora does.
func decideRemoveReaders(in Input, d Decision) Decision {
	d.Dimension, d.Direction = DimReaders, DirIn
	cs, t := in.ClusterState, in.Cluster
	if cs == nil || t == nil {
		return d.refused("live state unavailable: keeping the fleet as it is")
	}
	if cs.Status != statusAvailable {
		return d.refused("cluster %s is %s: no scale-in while it changes", cs.ID, cs.Status)
	}
	c := countReaders(cs)
	for _, m := range cs.Instances {
		if m.Status != statusAvailable && m.Status != statusDeleting {
			return d.refused("instance %s is %s: no scale-in while an instance is created or changed", m.ID, m.Status)
		}
	}
	d.From, d.To = float64(c.available), float64(c.available)
	if reason, stale := staleData(in); stale {
		return d.refused("%s", reason)
	}
	if reason, ok := scaleInAllowed(in, DimReaders); !ok {
		return d.refused("%s", reason)
	}
	rec, err := RecommendReaders(in.Observation, DirIn, ReaderDemand{Available: c.available, Min: t.MinReaders, Max: t.MaxReaders, TargetCPU: t.TargetCPU,
		ReaderACU: readerACU(cs, t)})
	if err != nil {
		return d.refused("demand unknown (%v): keeping the fleet as it is", err)
	}
	d.Desired = &rec
	if !rec.Change() {
		d.Outcome, d.Reason = OutcomeNoop, fmt.Sprintf("stabilised demand needs %g readers: keep %d (%s)", rec.Desired, c.available, rec.Why)
		return d
	}
	if reason, hold := acuBaselineTooLow(in, cs, t); hold {
		return d.refused("%s", reason)
	}
	if reason, open := breakerReason(in, d.Target); open {
		return d.refused("%s", reason)
	}
	var victims []Instance
	for _, r := range cs.Instances {
		if !r.Writer && r.Status == statusAvailable && r.Managed && r.Tier >= 2 && r.Event == "" {
			victims = append(victims, r)
		}
	}
	if len(victims) == 0 {
		return d.refused("no scaler-managed reader to remove (self-managed and tier-0/1 readers are never removed, a scheduled event's readers go with its revert)")
	}
	// Newest first: the one added last is the one the surge needed least.
	sort.SliceStable(victims, func(i, j int) bool { return victims[i].DecidedAt.After(victims[j].DecidedAt) })
	d.Instances, d.To, d.Outcome = []string{victims[0].ID}, float64(c.available-1), OutcomeAct
	d.Reason = fmt.Sprintf("remove reader %s: %d -> %d, one at a time toward %g (%s)", victims[0].ID, c.available, c.available-1, rec.Desired, rec.Why)
	return d
}

// readerACU is the ACU one reader may use after a scale-in when every
// available reader is Serverless v2: acu_baseline (the scale-in lowers
// max ACU to it), else the max in force; 0 when any reader is
// provisioned (its capacity is its class, and its CPU shows its load).
func readerACU(cs *ClusterState, t *ClusterTarget) float64 {
	if !cs.Serverless || cs.MaxACU <= 0 {
		return 0
	}
	for _, in := range cs.Instances {
		if !in.Writer && in.Status == statusAvailable && in.Class != "db.serverless" {
			return 0
		}
	}
	if t.ACUBaseline > 0 {
		return min(t.ACUBaseline, cs.MaxACU)
	}
	return cs.MaxACU
}

// refused is d refused with a reason.
func (d Decision) refused(format string, args ...any) Decision {
	d.Outcome, d.Reason = OutcomeRefused, fmt.Sprintf(format, args...)
	return d
}
