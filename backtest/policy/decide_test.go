package policy

import (
	"strings"
	"testing"
	"time"
)

func TestEvaluateAlarm(t *testing.T) {
	above30 := func(v float64) bool { return v > 30 }
	for _, tc := range []struct {
		name   string
		points []float64
		n      int
		want   alarmState
	}{
		{"three above", []float64{10, 31, 40, 50}, 3, inAlarm},
		{"only two above", []float64{10, 10, 40, 50}, 3, alarmOK},
		{"at the target is not above", []float64{30, 40, 50}, 3, alarmOK},
		{"two datapoints are not enough", []float64{40, 50}, 3, insufficientData},
		{"no data", nil, 1, insufficientData},
		{"newest below", []float64{40, 50, 60, 20}, 3, alarmOK},
	} {
		if got, _ := evaluateAlarm(tc.points, tc.n, above30); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestProportional(t *testing.T) {
	for _, tc := range []struct {
		base           int
		metric, target float64
		want           int
	}{
		{1, 60, 30, 2}, // exact ratio must not round up to 3
		{1, 60.1, 30, 3},
		{2, 40, 30, 3},
		{3, 5, 30, 1},
		{0, 90, 30, 0},
	} {
		if got := proportional(tc.base, tc.metric, tc.target); got != tc.want {
			t.Errorf("proportional(%d, %g, %g) = %d, want %d", tc.base, tc.metric, tc.target, got, tc.want)
		}
	}
}

func TestTargetTrackingOutCooldown(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cd := cooldown{outAt: t0, outFrom: 1} // scaled 1 -> 3 at t0
	for _, tc := range []struct {
		name        string
		at          time.Duration
		metric      float64
		want        int
		wantCooling bool
	}{
		// The metric still reflects one reader: 62.5 % asks for 3 again,
		// which the previous scale-out already made.
		{"same demand inside cooldown adds nothing", 60 * time.Second, 62.5, 3, true},
		// A larger scale-out than the one made goes ahead in cooldown.
		{"larger demand inside cooldown adds the difference", 60 * time.Second, 100, 4, true},
		{"after cooldown the current capacity is the base", 300 * time.Second, 62.5, 7, false},
	} {
		got, cooling := targetTrackingOut(3, tc.metric, 30, cd, 300*time.Second, t0.Add(tc.at))
		if got != tc.want || cooling != tc.wantCooling {
			t.Errorf("%s: got %d (cooling %v), want %d (cooling %v)", tc.name, got, cooling, tc.want, tc.wantCooling)
		}
	}
}

func TestStepAdd(t *testing.T) {
	adj := []Adjustment{{Above: 70, Add: 1}, {Above: 85, Add: 2}}
	for v, want := range map[float64]int{50: 0, 70: 0, 70.1: 1, 85: 1, 85.5: 2, 100: 2} {
		if got := stepAdd(adj, v); got != want {
			t.Errorf("stepAdd(%g) = %d, want %d", v, got, want)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cd := cooldown{outAt: t0, outFrom: 2}
	if got, cooling := stepOut(3, 1, cd, time.Minute, t0.Add(30*time.Second)); got != 3 || !cooling {
		t.Errorf("step in cooldown: %d %v, want 3 true (the +1 already made counts)", got, cooling)
	}
	if got, _ := stepOut(3, 2, cd, time.Minute, t0.Add(30*time.Second)); got != 4 {
		t.Errorf("larger step in cooldown: %d, want 4", got)
	}
	if got, _ := stepOut(3, 1, cd, time.Minute, t0.Add(time.Minute)); got != 4 {
		t.Errorf("step after cooldown: %d, want 4", got)
	}
}

func TestReaderScaleIn(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		cur     int
		metric  float64
		cd      cooldown
		at      time.Duration
		want    int
		refusal string
	}{
		{"one at a time", 5, 2, cooldown{}, 0, 4, ""},
		{"never below min", 1, 2, cooldown{}, 0, 1, "at min capacity"},
		{"not if one fewer goes above target", 3, 25, cooldown{}, 0, 3, "above the target"},
		{"scale-in cooldown", 5, 2, cooldown{inAt: t0}, 100 * time.Second, 5, "scale-in cooldown"},
		{"after scale-in cooldown", 5, 2, cooldown{inAt: t0}, 300 * time.Second, 4, ""},
		// A scale-out does not start the scale-in cooldown.
		{"scale-out cooldown does not block scale-in", 5, 2, cooldown{outAt: t0, outFrom: 1}, 10 * time.Second, 4, ""},
	} {
		got, refused := readerScaleIn(tc.cur, 1, tc.metric, 30, tc.cd, 300*time.Second, t0.Add(tc.at))
		if got != tc.want || !strings.Contains(refused, tc.refusal) || (tc.refusal == "") != (refused == "") {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, got, refused, tc.want, tc.refusal)
		}
	}
}

func TestParams(t *testing.T) {
	p := shippedParams(t)
	if tt := p.AWSTargetTracking.Readers.TargetTracking; tt.HighDatapoints != 3 || tt.LowDatapoints != 15 || tt.Target != 30 || tt.ScaleOutCooldown != 300*time.Second {
		t.Errorf("aws-target-tracking readers: %+v", tt)
	}
	if f := p.Field.Readers; f.TargetTracking.ScaleOutCooldown != 30*time.Second || f.TargetTracking.ScaleInCooldown != 2*time.Minute || len(f.Steps) != 3 {
		t.Errorf("field readers: %+v", f)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"    min_capacity: 1          #", "    min_capacity: 0          #", "min_capacity"},
		{"low_ratio: 0.9\n      scale_out_cooldown: 300s", "low_ratio: 1.5\n      scale_out_cooldown: 300s", "low_ratio"},
		{"      metric: reader_cpu\n      target: 30\n      high_datapoints: 3     #", "      metric: reader_cpu\n      target: 30\n      high_datapoints: 0     #", "datapoints"},
		{"aws-target-tracking:", "aws-target-tracking:\n  typo: 1", "typo"},
		{"{above: 85, add: 2}", "{above: 60, add: 2}", "increasing"},
	} {
		src := string(defaultParams)
		if !strings.Contains(src, tc.from) {
			t.Fatalf("embedded policies.yml no longer contains %q", tc.from)
		}
		_, err := ParseParams([]byte(strings.Replace(src, tc.from, tc.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q -> %q: error %v, want one naming %q", tc.from, tc.to, err, tc.want)
		}
	}
}
