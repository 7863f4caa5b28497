package scaler

import (
	"fmt"
	"math"
)

// Tolerance is the HPA's: a load within 10 % of the target changes
// nothing, so noise around the target does not move the fleet.
const Tolerance = 0.10

// Recommendation is the desired state of one dimension computed from
// current demand, and how.
type Recommendation struct {
	Dimension string  `json:"dimension"`
	Direction string  `json:"direction"`
	Current   float64 `json:"current"` // in service plus coming
	Desired   float64 `json:"desired"`
	Why       string  `json:"why"`
	// Capped: demand asks for more than the maximum allows.
	Capped bool `json:"capped,omitempty"`
}

// Change is whether the recommendation moves the fleet in its direction.
func (r Recommendation) Change() bool {
	if r.Direction == DirIn {
		return r.Desired < r.Current
	}
	return r.Desired > r.Current
}

// proportional is the HPA's replica formula on a load (count x
// per-instance value): ceil(load / target), or count when the load per
// instance is within the tolerance of the target.
func proportional(load, count, target float64, unit string) (float64, string) {
	ratio := load / (count * target)
	if math.Abs(ratio-1) <= Tolerance {
		return count, fmt.Sprintf("load %.4g %s over %g is %.2f of the %.4g target, within the %g %% tolerance: %g", load, unit, count, ratio, target, Tolerance*100, count)
	}
	// The 1e-9 keeps a float quotient like 0.9/0.3 from rounding up to 4.
	d := math.Ceil(load/target - 1e-9)
	return d, fmt.Sprintf("ceil(load %.4g %s / target %.4g) = %g", load, unit, target, d)
}

// ReaderDemand is what RecommendReaders needs beyond the observation.
type ReaderDemand struct {
	// Available readers now, creating readers (capacity coming).
	Available, Creating int
	Min, Max            int
	TargetCPU           float64
	// ReaderACU, when every available reader is Serverless v2, is the
	// ACU one reader may use after the scale-in (acu_baseline, to which
	// the scale-in lowers max ACU, else the max in force); 0 otherwise.
	ReaderACU float64
}

// RecommendReaders is the desired reader count from the readers' load in
// readers at 100 % CPU. Out: the readers' CPU now times the readers it
// was measured over (SigReadersServing); readers being created count as
// capacity already coming. In: the highest load over the stabilisation
// window (SigReaderLoadWindowMax), and only when it is below the scale-in
// mark (90 % of the target) on the readers available now. CPU is capped
// at 100 %, so for a saturated cluster the result is a lower bound: the
// next trigger after the new readers serve measures again.
func RecommendReaders(o *Observation, dir string, d ReaderDemand) (Recommendation, error) {
	rec := Recommendation{Dimension: DimReaders, Direction: dir, Current: float64(d.Available + d.Creating)}
	if d.TargetCPU <= 0 {
		return rec, fmt.Errorf("target CPU %g must be positive", d.TargetCPU)
	}
	var load, count float64
	if dir == DirIn {
		var v float64
		var err error
		var source string // what the load was measured from, for the reason
		if d.ReaderACU > 0 {
			// Serverless v2: Aurora holds CPU near its own target by moving
			// ACU, so the load is the busy ACU, in readers at ReaderACU.
			if v, err = o.Get(SigReaderBusyACUWindowMax); err != nil {
				return rec, err
			}
			source = fmt.Sprintf("%s %.3g ACU at %g ACU per reader:", SigReaderBusyACUWindowMax, v, d.ReaderACU)
			v /= d.ReaderACU
		} else {
			if v, err = o.Get(SigReaderLoadWindowMax); err != nil {
				return rec, err
			}
			source = string(SigReaderLoadWindowMax)
		}
		load, count = v, float64(d.Available)
		if count < 1 {
			return rec, fmt.Errorf("no available reader: nothing to scale in")
		}
		if per := load / count; per > d.TargetCPU*(1-Tolerance) {
			rec.Desired = rec.Current
			rec.Why = fmt.Sprintf("%s %.3g over %g readers is %.3g CPU each, above the scale-in mark %.3g (%g %% of the %.3g target): keep %g",
				source, load, count, per, d.TargetCPU*(1-Tolerance), (1-Tolerance)*100, d.TargetCPU, rec.Current)
			return rec, nil
		}
	} else {
		cpu, err := o.Get(SigReaderCPU)
		if err != nil {
			return rec, err
		}
		n, err := o.Get(SigReadersServing)
		if err != nil {
			return rec, err
		}
		if n < 1 {
			return rec, fmt.Errorf("%s %g: no reader to measure demand on", SigReadersServing, n)
		}
		load, count = cpu*n, n
	}
	desired, why := proportional(load, count, d.TargetCPU, "readers")
	if dir == DirOut && desired == count {
		desired = min(desired, rec.Current) // within tolerance: what serves is enough
	}
	rec.Desired, rec.Why, rec.Capped = bound(desired, float64(max(d.Min, 1)), float64(min(d.Max, MaxAuroraReaders)), why)
	return rec, nil
}

// ReadersAtMax is what RecommendMaxACU needs to read the readers' CPU as
// ACU demand.
type ReadersAtMax struct {
	// MaxInForce is the cluster's max ACU now: what readers above the
	// bound are held at.
	MaxInForce float64
	// AllServerless: the cluster has a Serverless v2 configuration and
	// every reader is db.serverless. A provisioned reader's CPU says
	// nothing about max ACU.
	AllServerless bool
}

// ReadersAtMaxOf is the cluster's ReadersAtMax.
func ReadersAtMaxOf(cs *ClusterState) ReadersAtMax {
	if cs == nil || !cs.Serverless {
		return ReadersAtMax{}
	}
	rs := cs.Readers()
	all := len(rs) > 0
	for _, in := range rs {
		if in.Class != ClassServerless {
			all = false
		}
	}
	return ReadersAtMax{MaxInForce: cs.MaxACU, AllServerless: all}
}

// ClassServerless is the instance class of a Serverless v2 instance.
const ClassServerless = "db.serverless"

// RecommendMaxACU is the max ACU current demand needs, in one step, the
// larger of two estimates over the target CPU, rounded up to the ACU step
// and capped at the ceiling. Aurora Serverless v2 moves an instance's ACU
// within seconds to hold its CPU at its own target, and only max ACU
// stops it; an instance held at max shows the excess as CPU, so ACU x CPU
// / target is the capacity that brings it back to the target.
//   - Busy ACU: the most ACU one instance keeps busy (SigACUDemand, its
//     ACU x its CPU), from CloudWatch, 1-3 minutes late.
//   - Readers held at max: when every reader is Serverless v2 and the
//     readers' CPU (SigReaderCPU, the fresh signal where there is one) is
//     above t.ACUBoundCPU, they are at the max in force, so they need at
//     least max x CPU / target (CPU stops at 100 %: a lower bound). This
//     is seconds old on the fresh path, where the busy ACU still shows
//     the minute before the surge.
//
// Never lower than currentMax: a scale-out does not take capacity away.
func RecommendMaxACU(o *Observation, currentMax float64, t ClusterTarget, b ReadersAtMax) (Recommendation, error) {
	rec := Recommendation{Dimension: DimACU, Direction: DirOut, Current: currentMax, Desired: currentMax}
	if t.TargetCPU <= 0 || t.ACUStep <= 0 {
		return rec, fmt.Errorf("target CPU %g and ACU step %g must be positive", t.TargetCPU, t.ACUStep)
	}
	busyNeed, busyWhy, busyErr := -1.0, "", error(nil)
	if busy, err := o.Get(SigACUDemand); err != nil {
		busyErr = err
	} else {
		busyNeed = t.roundACU(busy / t.TargetCPU)
		busyWhy = fmt.Sprintf("%s %.3g ACU / target CPU %.3g = %.3g ACU, rounded up to the %g-ACU step: %g", SigACUDemand, busy, t.TargetCPU, busy/t.TargetCPU, t.ACUStep, busyNeed)
	}
	boundNeed, boundWhy := -1.0, ""
	if cpu, err := o.Get(SigReaderCPU); err == nil && b.AllServerless && b.MaxInForce > 0 && t.ACUBoundCPU > 0 && cpu > t.ACUBoundCPU {
		need := b.MaxInForce * cpu / t.TargetCPU
		boundNeed = t.roundACU(need)
		boundWhy = fmt.Sprintf("readers held at max: max ACU in force %g x reader CPU %.3g / target CPU %.3g = %.3g ACU (above the %.3g bound, every reader Serverless v2), rounded up to the %g-ACU step: %g",
			b.MaxInForce, cpu, t.TargetCPU, need, t.ACUBoundCPU, t.ACUStep, boundNeed)
	}
	var desired float64
	var why string
	switch {
	case busyNeed < 0 && boundNeed < 0:
		return rec, busyErr
	case boundNeed < 0:
		desired, why = busyNeed, busyWhy
	case busyNeed < 0:
		desired, why = boundNeed, boundWhy+fmt.Sprintf(" (%v)", busyErr)
	case boundNeed > busyNeed:
		desired, why = boundNeed, boundWhy+fmt.Sprintf(" (larger than the busy-ACU estimate %g)", busyNeed)
	default:
		desired, why = busyNeed, busyWhy+fmt.Sprintf(" (larger than the readers-at-max estimate %g)", boundNeed)
	}
	if desired > t.ACUCeiling {
		desired, why, rec.Capped = t.ACUCeiling, why+fmt.Sprintf(", capped at the ceiling %g", t.ACUCeiling), true
	}
	if desired <= currentMax {
		desired, why = currentMax, why+fmt.Sprintf(": the max in force %g covers it", currentMax)
	}
	rec.Desired, rec.Why = desired, why
	return rec, nil
}

// roundACU rounds an ACU need up to the ACU step. The 1e-9 keeps a float
// quotient from rounding up a whole step.
func (t ClusterTarget) roundACU(need float64) float64 {
	return math.Ceil(need/t.ACUStep-1e-9) * t.ACUStep
}

// ASGDemand is what RecommendASG needs beyond the observation.
type ASGDemand struct {
	Desired, Min, Max int
	MaxStep           int
	TargetRequests    float64 // per instance per minute
}

// RecommendASG is the desired capacity of a group from its requests per
// minute over the target per instance. Out: the requests per instance now
// times the instances they were measured over (SigInService); in: the
// highest requests per minute over the stabilisation window
// (SigRequestsWindowMax), and only below the scale-in mark (90 % of the
// target) on the current capacity. The group's desired capacity
// (instances in service and coming) is the current capacity; a scale-out
// adds at most MaxStep per action, a scale-in goes to the stabilised
// demand at once (as the HPA's default scale-down policy: the window's
// highest load is what holds capacity back), within the group's min and
// max.
func RecommendASG(o *Observation, dir string, d ASGDemand) (Recommendation, error) {
	rec := Recommendation{Dimension: DimASG, Direction: dir, Current: float64(d.Desired)}
	if d.TargetRequests <= 0 {
		return rec, fmt.Errorf("target requests %g must be positive", d.TargetRequests)
	}
	var load, count float64
	if dir == DirIn {
		v, err := o.Get(SigRequestsWindowMax)
		if err != nil {
			return rec, err
		}
		load, count = v, float64(d.Desired)
		if count < 1 {
			return rec, fmt.Errorf("desired capacity %d: nothing to scale in", d.Desired)
		}
		if per := load / count; per > d.TargetRequests*(1-Tolerance) {
			rec.Desired = rec.Current
			rec.Why = fmt.Sprintf("%s %.4g over %g instances is %.4g each, above the scale-in mark %.4g (%g %% of the %.4g target): keep %g",
				SigRequestsWindowMax, load, count, per, d.TargetRequests*(1-Tolerance), (1-Tolerance)*100, d.TargetRequests, rec.Current)
			return rec, nil
		}
	} else {
		rpi, err := o.Get(SigRequestsPerInstance)
		if err != nil {
			return rec, err
		}
		n, err := o.Get(SigInService)
		if err != nil {
			return rec, err
		}
		if n < 1 {
			return rec, fmt.Errorf("%s %g: no instance to measure demand on", SigInService, n)
		}
		load, count = rpi*n, n
	}
	desired, why := proportional(load, count, d.TargetRequests, "req/min")
	if dir == DirOut && desired == count {
		desired = min(desired, rec.Current)
	}
	if step := float64(max(d.MaxStep, 1)); desired > rec.Current+step {
		desired, why = rec.Current+step, why+fmt.Sprintf(", at most max_step %g per action: %g", step, rec.Current+step)
	}
	rec.Desired, rec.Why, rec.Capped = bound(desired, float64(d.Min), float64(d.Max), why)
	return rec, nil
}

// bound clamps v to [lo, hi] and says so; capped when above hi.
func bound(v, lo, hi float64, why string) (float64, string, bool) {
	switch {
	case v > hi:
		return hi, why + fmt.Sprintf(", capped at the maximum %g", hi), true
	case v < lo:
		return lo, why + fmt.Sprintf(", raised to the minimum %g", lo), false
	}
	return v, why, false
}
