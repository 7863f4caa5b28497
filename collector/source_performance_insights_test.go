package collector

import (
	"fmt"
	"testing"
	"time"
)

func TestDecidePISchedule(t *testing.T) {
	now := time.Unix(1795000100, 0)
	const fresh, maxAge = 10 * time.Second, time.Minute
	doc := func(age time.Duration) OSSample { return OSSample{Time: now.Add(-age), CPU: 0.5} }
	cases := []struct {
		name  string
		in    InstanceInfo
		em    OSSample
		hasEM bool
		want  PISchedule
	}{
		{"PI off", InstanceInfo{ResourceID: "db-1", Status: "available", MonitoringInterval: 1}, doc(2 * time.Second), true, PIScheduleNone},
		{"no resource id", InstanceInfo{Status: "available", PerformanceInsights: true}, OSSample{}, false, PIScheduleNone},
		{"creating", InstanceInfo{ResourceID: "db-1", Status: "creating", PerformanceInsights: true}, OSSample{}, false, PIScheduleNone},
		{"PI alone", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true}, OSSample{}, false, PIScheduleFresh},
		{"EM at 1 s serving", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 1}, doc(3 * time.Second), true, PIScheduleDBLoad},
		{"EM at the PI interval", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 10}, doc(12 * time.Second), true, PIScheduleDBLoad},
		{"EM slower than the PI interval", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 15}, doc(3 * time.Second), true, PIScheduleFresh},
		{"EM at 60 s", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 60}, doc(30 * time.Second), true, PIScheduleFresh},
		{"EM on, no document yet", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 1}, OSSample{}, false, PIScheduleFresh},
		{"EM silent past its look-back", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 5}, doc(61 * time.Second), true, PIScheduleFresh},
		{"EM document at the look-back", InstanceInfo{ResourceID: "db-1", Status: "available", PerformanceInsights: true, MonitoringInterval: 5}, doc(time.Minute), true, PIScheduleDBLoad},
	}
	for _, c := range cases {
		if got := DecidePISchedule(&c.in, c.em, c.hasEM, now, fresh, maxAge); got != c.want {
			t.Errorf("%s: schedule %q, want %q", c.name, got, c.want)
		}
	}
}

// TestNextDBLoadPollSpreads: each instance has one slot per interval, at
// its own phase, so the fleet's calls spread over the refreshes instead
// of landing together.
func TestNextDBLoadPollSpreads(t *testing.T) {
	const every = time.Minute
	now := time.Unix(1795000000, 0)
	perTick := map[int]int{}
	for i := range 600 {
		id := fmt.Sprintf("db-%04d", i)
		slot := nextDBLoadPoll(id, now, every)
		if !slot.After(now) || slot.Sub(now) > every {
			t.Fatalf("%s: slot %v not within (now, now+%v]", id, slot.Sub(now), every)
		}
		// Stable: asked again at its own slot, the next one is an interval on.
		if again := nextDBLoadPoll(id, slot, every); again.Sub(slot) != every {
			t.Fatalf("%s: next slot %v after its slot, want %v", id, again.Sub(slot), every)
		}
		perTick[int(slot.Sub(now)/(10*time.Second))]++
	}
	// Six 10 s refreshes per minute: about 100 instances each.
	for tick := range 6 {
		if n := perTick[tick]; n < 60 || n > 140 {
			t.Errorf("refresh %d of the minute polls %d of 600 instances (want about 100): %v", tick, n, perTick)
		}
	}
}

func TestPIRequestAsksOnlyForWhatItLacks(t *testing.T) {
	now := time.Unix(1795000125, 500e6)
	const window = time.Minute
	metrics := func(r []string) string { return fmt.Sprint(r) }
	cases := []struct {
		name    string
		sch     PISchedule
		held    PISample
		hasHeld bool
		every   time.Duration
		start   time.Time
		period  int32
		queries string
	}{
		{"fresh, nothing held: the window", PIScheduleFresh, PISample{}, false, time.Minute,
			now.Add(-window).Truncate(time.Second), 1, "[db.load.avg os.cpuUtilization.total.avg]"},
		{"fresh, both held: from the older", PIScheduleFresh,
			PISample{HasDBLoad: true, DBLoadTime: now.Add(-8 * time.Second).Truncate(time.Second), HasCPU: true, CPUTime: now.Add(-9 * time.Second).Truncate(time.Second)}, true, time.Minute,
			now.Add(-9 * time.Second).Truncate(time.Second), 1, "[db.load.avg os.cpuUtilization.total.avg]"},
		{"fresh, only DB load held (was on db_load): the window", PIScheduleFresh,
			PISample{HasDBLoad: true, DBLoadTime: now.Add(-30 * time.Second)}, true, time.Minute,
			now.Add(-window).Truncate(time.Second), 1, "[db.load.avg os.cpuUtilization.total.avg]"},
		{"fresh, held older than the window: the window", PIScheduleFresh,
			PISample{HasDBLoad: true, DBLoadTime: now.Add(-5 * time.Minute), HasCPU: true, CPUTime: now.Add(-5 * time.Minute)}, true, time.Minute,
			now.Add(-window).Truncate(time.Second), 1, "[db.load.avg os.cpuUtilization.total.avg]"},
		{"db_load, nothing held: two periods back", PIScheduleDBLoad, PISample{}, false, time.Minute,
			now.Add(-2 * time.Minute).Truncate(time.Second), 60, "[db.load.avg]"},
		{"db_load, held: from its period's end", PIScheduleDBLoad,
			PISample{HasDBLoad: true, DBLoadTime: now.Truncate(time.Minute)}, true, time.Minute,
			now.Truncate(time.Minute), 60, "[db.load.avg]"},
		{"db_load at 1 s periods (db_load_interval 0)", PIScheduleDBLoad,
			PISample{HasDBLoad: true, DBLoadTime: now.Add(-10 * time.Second).Truncate(time.Second)}, true, 0,
			now.Add(-10 * time.Second).Truncate(time.Second), 1, "[db.load.avg]"},
	}
	for _, c := range cases {
		in := piRequest("db-1", c.sch, c.held, c.hasHeld, now, window, c.every)
		var qs []string
		for _, q := range in.MetricQueries {
			qs = append(qs, q.Metric)
		}
		if !in.StartTime.Equal(c.start) || in.PeriodInSeconds != c.period || metrics(qs) != c.queries || !in.EndTime.Equal(now) {
			t.Errorf("%s: start %v period %d queries %v end %v; want start %v period %d queries %s end now",
				c.name, now.Sub(in.StartTime), in.PeriodInSeconds, qs, in.EndTime, now.Sub(c.start), c.period, c.queries)
		}
	}
}
