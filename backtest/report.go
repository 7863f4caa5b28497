package backtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// Action is one scaling action a policy took or was refused, as the
// report counts it.
type Action struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Target  string    `json:"target"`
	From    float64   `json:"from"`
	To      float64   `json:"to"`
	Reason  string    `json:"reason,omitempty"`
	Refused string    `json:"refused,omitempty"`
}

// scaleOut and scaleIn tell the direction of an action; a removal is a
// scale-in whatever its recorded values (a drain's decision names no
// counts).
func (a Action) scaleOut() bool { return !a.removal() && a.To > a.From }

func (a Action) scaleIn() bool { return a.removal() || a.To < a.From }

func (a Action) removal() bool { return strings.HasPrefix(a.Kind, "remove") }

// PolicyReport is one policy's figures over the run. Pointers are null
// when the thing never happened.
type PolicyReport struct {
	Name                          string   `json:"name"`
	FirstActionAfterOnsetSeconds  *float64 `json:"first_action_after_onset_seconds"`
	CapacityAvailableAfterOnset   *float64 `json:"capacity_available_after_onset_seconds"`
	ReaderCPUOver70Minutes        float64  `json:"reader_cpu_over_70_minutes"`
	ReaderCPUOver85Minutes        float64  `json:"reader_cpu_over_85_minutes"`
	PeakReaderCPU                 float64  `json:"peak_reader_cpu"`
	P99ReadLatencySeconds         float64  `json:"p99_read_latency_seconds"`
	FailedReads                   float64  `json:"failed_reads"`
	FailedWrites                  float64  `json:"failed_writes"`
	MaxReaders                    int      `json:"max_readers"`
	ACUHours                      float64  `json:"acu_hours"`
	IdleCapacityGoneAfterEventSec *float64 `json:"idle_capacity_gone_after_event_seconds"`
	IdleCapacityLeft              string   `json:"idle_capacity_left,omitempty"`
	Actions                       int      `json:"actions"`
	Flaps                         int      `json:"flaps"`
	RefusedActions                int      `json:"refused_actions"`
	// ASGWithinTargetAfterOnsetSec: from this long after the onset to
	// the end of the peak, every ASG served at most its target requests
	// per instance (+10 %); null when that never held.
	ASGWithinTargetAfterOnsetSec *float64 `json:"asg_within_target_after_onset_seconds"`
	// MaxACURaises are the max ACU raises from the onset to the end of
	// the peak.
	MaxACURaises int `json:"max_acu_raises"`
	// ScaleOutsAfterPeak are the capacity increases after the peak (the
	// last sample at the peak's users).
	ScaleOutsAfterPeak int `json:"scale_outs_after_peak"`
}

// Report is report.json.
type Report struct {
	Scenario string    `json:"scenario"`
	Seed     int64     `json:"seed"`
	Start    time.Time `json:"start"`
	Onset    time.Time `json:"onset"`
	EventEnd time.Time `json:"event_end"`
	Stop     time.Time `json:"stop"`
	// FreshSources is what --enhanced-monitoring / --performance-insights
	// turned on for the run; absent when neither was given.
	FreshSources *FreshSources  `json:"fresh_sources,omitempty"`
	Policies     []PolicyReport `json:"policies"`
	// Targets are the product's claims, checked on this run; a missed
	// one says by how much.
	Targets []Target `json:"targets"`
}

// Target is one claim and whether this run meets it.
type Target struct {
	Claim  string `json:"claim"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// IdleTarget is how soon after the event's end idle capacity must be gone.
const IdleTarget = 10 * time.Minute

// ASGTarget is how soon after the onset every ASG must serve within its
// target requests per instance.
const ASGTarget = 10 * time.Minute

// checkTargets evaluates the claims the README makes for a scenario on
// the policies this run played; a claim about a policy not played is left
// out.
func checkTargets(ps []PolicyReport) []Target {
	by := map[string]PolicyReport{}
	for _, p := range ps {
		by[p.Name] = p
	}
	var out []Target
	if p, ok := by["surge+schedule"]; ok {
		out = append(out, Target{Claim: "surge+schedule: 0 minutes with reader CPU above 85 %", Met: p.ReaderCPUOver85Minutes == 0,
			Detail: fmt.Sprintf("%.1f minutes", p.ReaderCPUOver85Minutes)})
	}
	if s, ok := by["surge"]; ok {
		if a, ok := by["aws-target-tracking"]; ok {
			out = append(out, Target{Claim: "surge: fewer minutes with reader CPU above 85 % than aws-target-tracking",
				Met:    s.ReaderCPUOver85Minutes < a.ReaderCPUOver85Minutes,
				Detail: fmt.Sprintf("%.1f against %.1f minutes", s.ReaderCPUOver85Minutes, a.ReaderCPUOver85Minutes)})
		}
		out = append(out, Target{Claim: "surge: no flap", Met: s.Flaps == 0, Detail: fmt.Sprintf("%d flaps", s.Flaps)})
		t := Target{Claim: "surge: ASG capacity rises until requests per instance are within 10 % of the target, within 10 minutes of the onset",
			Detail: "some ASG above its target until the end of the peak"}
		if w := s.ASGWithinTargetAfterOnsetSec; w != nil {
			t.Met, t.Detail = *w <= ASGTarget.Seconds(), fmt.Sprintf("within the target from %.0f s after the onset", *w)
		}
		out = append(out, t)
		out = append(out, Target{Claim: "surge: max ACU reaches what demand needs in one action", Met: s.MaxACURaises <= 1,
			Detail: fmt.Sprintf("%s during the event", plural(s.MaxACURaises, "raise"))})
		out = append(out, Target{Claim: "surge: no scale-out after the peak", Met: s.ScaleOutsAfterPeak == 0,
			Detail: plural(s.ScaleOutsAfterPeak, "scale-out")})
	}
	for _, p := range ps {
		t := Target{Claim: p.Name + ": idle capacity gone within 10 minutes of the event's end"}
		switch g := p.IdleCapacityGoneAfterEventSec; {
		case g != nil && *g <= IdleTarget.Seconds():
			t.Met, t.Detail = true, fmt.Sprintf("gone after %.0f s", *g)
		case g != nil:
			t.Detail = fmt.Sprintf("gone after %.0f s, %.0f s late", *g, *g-IdleTarget.Seconds())
		default:
			t.Detail = "not gone by the end of the run, " + strings.TrimPrefix(p.IdleCapacityLeft, "at the end of the run: ") + " left"
		}
		out = append(out, t)
	}
	return out
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ptr(v float64) *float64 { return &v }

// summarize computes a policy's figures from its timeline and actions.
// Reader CPU minutes count the samples over the threshold, each worth the
// sampling interval; the baseline is the fleet at the start.
func summarize(name string, f Fleet, tl []Sample, step time.Duration, actions []Action, event sim.AppStats) PolicyReport {
	r := PolicyReport{Name: name}
	if len(tl) == 0 {
		return r
	}
	base := tl[0]
	var addedAt time.Time
	atOnset := sampleAt(tl, f.Onset)
	for i, s := range tl {
		if s.ReaderCPU > 70 {
			r.ReaderCPUOver70Minutes += step.Minutes()
		}
		if s.ReaderCPU > 85 {
			r.ReaderCPUOver85Minutes += step.Minutes()
		}
		r.PeakReaderCPU = max(r.PeakReaderCPU, s.ReaderCPU)
		r.MaxReaders = max(r.MaxReaders, s.ReadersUp+s.ReadersCreating)
		if i > 0 {
			r.ACUHours += s.ACU * s.At.Sub(tl[i-1].At).Hours()
		}
		// Capacity arrives when something added after the onset serves:
		// a reader more than the onset had, a higher max ACU, an ASG
		// instance more in service.
		if addedAt.IsZero() && !s.At.Before(f.Onset) {
			if s.ReadersUp > atOnset.ReadersUp || s.MaxACU > atOnset.MaxACU || s.ASGInService > atOnset.ASGInService {
				addedAt = s.At
			}
		}
	}
	if !addedAt.IsZero() {
		r.CapacityAvailableAfterOnset = ptr(addedAt.Sub(f.Onset).Seconds())
	}
	last := tl[len(tl)-1]
	r.FailedReads, r.FailedWrites = round(last.FailedReads, 0), round(last.FailedWrites, 0)
	if p99 := event.ReadLatency.Quantile(0.99); !math.IsNaN(p99) {
		r.P99ReadLatencySeconds = round(p99, 6)
	}
	r.ACUHours = round(r.ACUHours, 2)
	r.PeakReaderCPU = round(r.PeakReaderCPU, 1)
	r.ReaderCPUOver70Minutes = round(r.ReaderCPUOver70Minutes, 2)
	r.ReaderCPUOver85Minutes = round(r.ReaderCPUOver85Minutes, 2)

	sorted := append([]Action(nil), actions...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	for _, a := range sorted {
		if a.Refused != "" {
			r.RefusedActions++
			continue
		}
		r.Actions++
		if r.FirstActionAfterOnsetSeconds == nil && a.scaleOut() && !a.At.Before(f.Onset) {
			r.FirstActionAfterOnsetSeconds = ptr(a.At.Sub(f.Onset).Seconds())
		}
	}
	r.Flaps = flaps(sorted)

	// The peak ends at the last sample with the most users.
	peakEnd := tl[0].At
	var peakUsers float64
	for _, s := range tl {
		if s.Users >= peakUsers {
			peakUsers, peakEnd = s.Users, s.At
		}
	}
	for _, a := range sorted {
		if a.Refused != "" || !a.scaleOut() {
			continue
		}
		if a.At.After(peakEnd) {
			r.ScaleOutsAfterPeak++
		} else if capacityKind(a.Kind) == "acu" && !a.At.Before(f.Onset) {
			r.MaxACURaises++
		}
	}
	within := time.Time{}
	for i := len(tl) - 1; i >= 0; i-- {
		s := tl[i]
		if s.At.After(peakEnd) {
			continue
		}
		if s.At.Before(f.Onset) || s.ASGOverTarget > 0 {
			break
		}
		within = s.At
	}
	if !within.IsZero() {
		r.ASGWithinTargetAfterOnsetSec = ptr(within.Sub(f.Onset).Seconds())
	}

	// Idle capacity is gone once readers, max ACU and ASG capacity are
	// back at the start's and stay there to the end of the run.
	gone := time.Time{}
	for i := len(tl) - 1; i >= 0; i-- {
		s := tl[i]
		if s.At.Before(f.End) || !idleGone(s, base) {
			break
		}
		gone = s.At
	}
	switch {
	case !gone.IsZero():
		r.IdleCapacityGoneAfterEventSec = ptr(gone.Sub(f.End).Seconds())
	default:
		r.IdleCapacityLeft = idleLeft(last, base)
	}
	return r
}

func idleGone(s, base Sample) bool {
	return s.ReadersUp+s.ReadersCreating+s.ReadersDeleting <= base.ReadersUp && s.MaxACU <= base.MaxACU && s.ASGDesired <= base.ASGDesired
}

// idleLeft says by how much the end of the run misses the baseline.
func idleLeft(s, base Sample) string {
	var parts []string
	if n := s.ReadersUp + s.ReadersCreating + s.ReadersDeleting - base.ReadersUp; n > 0 {
		parts = append(parts, plural(n, "reader"))
	}
	if d := s.MaxACU - base.MaxACU; d > 0 {
		parts = append(parts, fmt.Sprintf("max ACU +%g", d))
	}
	if d := s.ASGDesired - base.ASGDesired; d > 0 {
		parts = append(parts, plural(d, "ASG instance"))
	}
	return "at the end of the run: " + strings.Join(parts, ", ")
}

// flaps counts scale-ins undone by a scale-out of the same kind of
// capacity on the same target within 10 minutes.
func flaps(actions []Action) int {
	n := 0
	for i, a := range actions {
		if a.Refused != "" || !a.scaleIn() {
			continue
		}
		for _, b := range actions[i+1:] {
			if b.At.Sub(a.At) > 10*time.Minute {
				break
			}
			if b.Refused == "" && b.Target == a.Target && capacityKind(b.Kind) == capacityKind(a.Kind) && b.scaleOut() {
				n++
				break
			}
		}
	}
	return n
}

func capacityKind(kind string) string {
	switch {
	case strings.Contains(kind, "reader"):
		return "readers"
	case strings.Contains(kind, "acu"):
		return "acu"
	case strings.Contains(kind, "asg"):
		return "asg"
	}
	return kind
}

func sampleAt(tl []Sample, t time.Time) Sample {
	i := sort.Search(len(tl), func(i int) bool { return !tl[i].At.Before(t) })
	if i >= len(tl) {
		i = len(tl) - 1
	}
	return tl[i]
}

// WriteJSON writes report.json: indented, stable field order, so the same
// inputs give the same bytes.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes report.md: one row per policy.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Backtest: %s (seed %d)\n\n", r.Scenario, r.Seed)
	fmt.Fprintf(&b, "Onset %s, event end %s (+%s), run until %s.\n\n", r.Onset.Format("15:04:05"), r.EventEnd.Format("15:04:05"),
		r.EventEnd.Sub(r.Onset), r.Stop.Format("15:04:05"))
	if f := r.FreshSources; f != nil {
		fmt.Fprintf(&b, "Fresh sources on every instance: %s.\n\n", f)
	}
	b.WriteString(MarkdownTable(r.Policies))
	b.WriteString("\n" + MarkdownTargets(r.Targets))
	_, err := io.WriteString(w, b.String())
	return err
}

// MarkdownTable is the policies' figures as a Markdown table.
func MarkdownTable(ps []PolicyReport) string {
	var b strings.Builder
	b.WriteString("| policy | first action after onset | capacity after onset | min CPU > 70 % | min CPU > 85 % | peak reader CPU | p99 read latency | failed reads | failed writes | max readers | ACU-hours | idle capacity gone after end | actions | flaps | refused |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range ps {
		idle := optSeconds(p.IdleCapacityGoneAfterEventSec)
		if p.IdleCapacityGoneAfterEventSec == nil {
			idle = "not gone (" + strings.TrimPrefix(p.IdleCapacityLeft, "at the end of the run: ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %.1f %% | %.1f ms | %.0f | %.0f | %d | %.1f | %s | %d | %d | %d |\n",
			p.Name, optSeconds(p.FirstActionAfterOnsetSeconds), optSeconds(p.CapacityAvailableAfterOnset), p.ReaderCPUOver70Minutes,
			p.ReaderCPUOver85Minutes, p.PeakReaderCPU, p.P99ReadLatencySeconds*1000, p.FailedReads, p.FailedWrites, p.MaxReaders,
			p.ACUHours, idle, p.Actions, p.Flaps, p.RefusedActions)
	}
	return b.String()
}

func optSeconds(v *float64) string {
	if v == nil {
		return "never"
	}
	return fmt.Sprintf("%.0f s", *v)
}

func (r *Report) policyNames() []string {
	var out []string
	for _, p := range r.Policies {
		out = append(out, p.Name)
	}
	return out
}

// MarkdownTargets lists the claims checked on the run.
func MarkdownTargets(ts []Target) string {
	var b strings.Builder
	for _, t := range ts {
		mark := "missed"
		if t.Met {
			mark = "met"
		}
		fmt.Fprintf(&b, "- %s: **%s** (%s)\n", t.Claim, mark, t.Detail)
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
