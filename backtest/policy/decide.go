package policy

import (
	"fmt"
	"math"
	"time"
)

// The functions here are pure: they turn datapoints and remembered
// scaling history into a decision, so every edge case is a table test.

type alarmState int

const (
	insufficientData alarmState = iota
	alarmOK
	inAlarm
)

func (s alarmState) String() string {
	return [...]string{"INSUFFICIENT_DATA", "OK", "ALARM"}[s]
}

// evaluateAlarm applies a CloudWatch "N out of N" alarm to points
// (ascending, one per minute, newest last): ALARM when the newest n all
// breach, INSUFFICIENT_DATA when fewer than n exist (target tracking
// alarms treat missing data as missing), OK otherwise. latest is the
// newest datapoint.
func evaluateAlarm(points []float64, n int, breach func(float64) bool) (state alarmState, latest float64) {
	if len(points) < n || n < 1 {
		return insufficientData, math.NaN()
	}
	latest = points[len(points)-1]
	for _, v := range points[len(points)-n:] {
		if !breach(v) {
			return alarmOK, latest
		}
	}
	return inAlarm, latest
}

// proportional is target tracking's capacity for metric observed on base
// units: ceil(base x metric / target). The epsilon keeps an exact ratio
// (60/30) from rounding up through floating-point noise.
func proportional(base int, metric, target float64) int {
	return int(math.Ceil(float64(base)*metric/target - 1e-9))
}

// cooldown remembers one policy's last scale-out and scale-in.
type cooldown struct {
	outAt   time.Time // last scale-out
	outFrom int       // capacity before it
	inAt    time.Time // last scale-in
}

func (c cooldown) inScaleOut(now time.Time, d time.Duration) bool {
	return !c.outAt.IsZero() && now.Before(c.outAt.Add(d))
}

func (c cooldown) inScaleIn(now time.Time, d time.Duration) bool {
	return !c.inAt.IsZero() && now.Before(c.inAt.Add(d))
}

// targetTrackingOut is the capacity a target tracking policy in AlarmHigh
// asks for. Outside the scale-out cooldown it is proportional to the
// current capacity. During the cooldown the capacity the cooldown's
// scale-out added already counts ("the capacity added by the previous
// scale-out is calculated as part of the desired capacity for the next
// scale-out"): the computation starts again from the capacity before that
// scale-out, so only a larger scale-out than the one already made adds
// anything, and a metric that has not caught up with the new capacity
// does not add the same readers twice.
func targetTrackingOut(cur int, metric, target float64, cd cooldown, coolFor time.Duration, now time.Time) (desired int, cooling bool) {
	if cd.inScaleOut(now, coolFor) {
		return proportional(cd.outFrom, metric, target), true
	}
	return proportional(cur, metric, target), false
}

// stepAdd is the adjustment of the highest step whose bound the value
// exceeds (0 when none).
func stepAdd(adj []Adjustment, v float64) int {
	add := 0
	for _, a := range adj {
		if v > a.Above {
			add = a.Add
		}
	}
	return add
}

// stepOut is the capacity a step policy in ALARM asks for: current + add,
// or, during its cooldown, the capacity before the cooldown's scale-out +
// add (the same counting rule as target tracking).
func stepOut(cur, add int, cd cooldown, coolFor time.Duration, now time.Time) (desired int, cooling bool) {
	if cd.inScaleOut(now, coolFor) {
		return cd.outFrom + add, true
	}
	return cur + add, false
}

// readerScaleIn decides one Aurora scale-in step: one reader at a time,
// never below min, never while the scale-in cooldown runs, and only when
// one reader fewer would still keep the metric at or under the target.
func readerScaleIn(cur, min int, metric, target float64, cd cooldown, coolFor time.Duration, now time.Time) (to int, refused string) {
	switch {
	case cur-1 < min:
		return cur, fmt.Sprintf("at min capacity %d", min)
	case proportional(cur, metric, target) > cur-1:
		return cur, fmt.Sprintf("removing a reader would put the metric above the target (%.3g x %d / %d > %g)", metric, cur, cur-1, target)
	case cd.inScaleIn(now, coolFor):
		return cur, fmt.Sprintf("scale-in cooldown until %s", cd.inAt.Add(coolFor).Format(time.TimeOnly))
	}
	return cur - 1, ""
}

func clamp(v, lo, hi int) int {
	return max(lo, min(hi, v))
}
