package scaler

import (
	"math"
	"strings"
	"testing"
)

func TestRecommendReaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dir     string
		o       *Observation
		d       ReaderDemand
		desired float64
		change  bool
		why     string
		err     string
	}{
		{"proportional: 2 readers at 60 % need 4", DirOut, obs(SigReaderCPU, 0.6, SigReadersServing, 2.0),
			ReaderDemand{Available: 2, Min: 1, Max: 15, TargetCPU: 0.3}, 4, true, "ceil(load 1.2 readers / target 0.3) = 4", ""},
		{"creating readers are capacity coming", DirOut, obs(SigReaderCPU, 0.6, SigReadersServing, 2.0),
			ReaderDemand{Available: 2, Creating: 2, Min: 1, Max: 15, TargetCPU: 0.3}, 4, false, "", ""},
		{"measured over the readers the CPU covers, not the ones just added", DirOut, obs(SigReaderCPU, 0.9, SigReadersServing, 1.0),
			ReaderDemand{Available: 3, Min: 1, Max: 15, TargetCPU: 0.3}, 3, false, "", ""},
		{"within the 10 % tolerance: no change", DirOut, obs(SigReaderCPU, 0.32, SigReadersServing, 3.0),
			ReaderDemand{Available: 3, Min: 1, Max: 15, TargetCPU: 0.3}, 3, false, "tolerance", ""},
		{"saturated CPU is a lower bound, capped at max_readers", DirOut, obs(SigReaderCPU, 1.0, SigReadersServing, 2.0),
			ReaderDemand{Available: 2, Min: 1, Max: 5, TargetCPU: 0.3}, 5, true, "capped at the maximum 5", ""},
		{"Aurora's 15 beats max_readers", DirOut, obs(SigReaderCPU, 1.0, SigReadersServing, 10.0),
			ReaderDemand{Available: 10, Min: 1, Max: 40, TargetCPU: 0.3}, 15, true, "maximum 15", ""},
		{"no exact-float round-up: 3 x 0.3/0.3 is 3", DirOut, obs(SigReaderCPU, 0.3, SigReadersServing, 3.0),
			ReaderDemand{Available: 3, Min: 1, Max: 15, TargetCPU: 0.3}, 3, false, "", ""},
		{"missing CPU", DirOut, obs(SigReadersServing, 2.0), ReaderDemand{Available: 2, Max: 15, TargetCPU: 0.3}, 0, false, "", "reader_cpu unknown"},
		{"NaN CPU", DirOut, obs(SigReaderCPU, math.NaN(), SigReadersServing, 2.0), ReaderDemand{Available: 2, Max: 15, TargetCPU: 0.3}, 0, false, "", "not a usable value"},
		{"no reader measured", DirOut, obs(SigReaderCPU, 0.5, SigReadersServing, 0.0), ReaderDemand{Available: 2, Max: 15, TargetCPU: 0.3}, 0, false, "", "no reader to measure"},

		{"in: the window's peak load over the target", DirIn, obs(SigReaderLoadWindowMax, 0.5),
			ReaderDemand{Available: 4, Min: 1, Max: 15, TargetCPU: 0.3}, 2, true, "ceil(load 0.5 readers / target 0.3) = 2", ""},
		{"in: above the scale-in mark keeps all", DirIn, obs(SigReaderLoadWindowMax, 1.1),
			ReaderDemand{Available: 4, Min: 1, Max: 15, TargetCPU: 0.3}, 4, false, "above the scale-in mark", ""},
		{"in: never below min_readers", DirIn, obs(SigReaderLoadWindowMax, 0.01),
			ReaderDemand{Available: 4, Min: 2, Max: 15, TargetCPU: 0.3}, 2, true, "raised to the minimum 2", ""},
		{"in: Serverless v2 readers by busy ACU at the reader's ACU", DirIn, obs(SigReaderBusyACUWindowMax, 16.0, SigReaderLoadWindowMax, 0.2),
			ReaderDemand{Available: 4, Min: 1, Max: 15, TargetCPU: 0.3, ReaderACU: 32}, 2, true, "ceil(load 0.5 readers / target 0.3) = 2", ""},
		{"in: Serverless v2 above the scale-in mark names the busy ACU", DirIn, obs(SigReaderBusyACUWindowMax, 48.0, SigReaderLoadWindowMax, 0.2),
			ReaderDemand{Available: 4, Min: 1, Max: 15, TargetCPU: 0.3, ReaderACU: 32}, 4, false, "reader_busy_acu_window_max 48 ACU at 32 ACU per reader: 1.5 over 4 readers", ""},
		{"in: no available reader", DirIn, obs(SigReaderLoadWindowMax, 0.1), ReaderDemand{Min: 1, Max: 15, TargetCPU: 0.3}, 0, false, "", "no available reader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := RecommendReaders(tc.o, tc.dir, tc.d)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || rec.Desired != tc.desired || rec.Change() != tc.change || !strings.Contains(rec.Why, tc.why) {
				t.Fatalf("%+v %v, want desired %g change %v why %q", rec, err, tc.desired, tc.change, tc.why)
			}
		})
	}
}

func TestRecommendMaxACU(t *testing.T) {
	target := ClusterTarget{TargetCPU: 0.3, ACUStep: 8, ACUCeiling: 128}
	for _, tc := range []struct {
		name    string
		busy    float64
		current float64
		ceiling float64
		desired float64
		capped  bool
	}{
		// 32 ACU at 90 % CPU: 28.8 busy ACU, 96 ACU at 30 %, in one step.
		{"one step to what demand needs", 28.8, 32, 128, 96, false},
		{"rounded up to the ACU step", 10, 32, 128, 40, false},
		{"capped at the ceiling", 28.8, 32, 64, 64, true},
		{"covered: no change", 8, 32, 128, 32, false},
		{"never lowered by a scale-out", 1, 48, 128, 48, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := target
			tg.ACUCeiling = tc.ceiling
			rec, err := RecommendMaxACU(obs(SigACUDemand, tc.busy), tc.current, tg, ReadersAtMax{})
			if err != nil || rec.Desired != tc.desired || rec.Capped != tc.capped {
				t.Fatalf("%+v %v, want %g capped %v", rec, err, tc.desired, tc.capped)
			}
		})
	}
	if _, err := RecommendMaxACU(obs(), 32, target, ReadersAtMax{}); err == nil {
		t.Error("no ACU demand gave a recommendation")
	}
}

// Serverless v2 readers whose CPU is above the bound are held at the max
// in force: max x CPU / target is a second estimate, the larger wins.
func TestRecommendMaxACUReadersAtMax(t *testing.T) {
	target := ClusterTarget{TargetCPU: 0.3, ACUStep: 8, ACUCeiling: 128, ACUBoundCPU: 0.7}
	sv := ReadersAtMax{MaxInForce: 16, AllServerless: true}
	for _, tc := range []struct {
		name    string
		o       *Observation
		current float64
		b       ReadersAtMax
		desired float64
		capped  bool
		why     string
		err     string
	}{
		// CloudWatch's busy ACU is still the pre-surge minute (16 ACU at
		// 30 %); the fresh reader CPU says 90 % at max 16: 48 ACU.
		{"fresh reader CPU beats a late busy ACU", obs(SigACUDemand, 4.8, SigReaderCPU, 0.9), 16, sv, 48, false,
			"readers held at max: max ACU in force 16 x reader CPU 0.9 / target CPU 0.3 = 48 ACU (above the 0.7 bound, every reader Serverless v2), rounded up to the 8-ACU step: 48 (larger than the busy-ACU estimate 16)", ""},
		{"rounded up to the ACU step", obs(SigACUDemand, 4.8, SigReaderCPU, 0.72), 16, sv, 40, false, "= 38.4 ACU", ""},
		{"the busy-ACU estimate wins when larger", obs(SigACUDemand, 28.8, SigReaderCPU, 0.75), 16, sv, 96, false,
			"acu_demand 28.8 ACU / target CPU 0.3 = 96 ACU, rounded up to the 8-ACU step: 96 (larger than the readers-at-max estimate 40)", ""},
		{"CPU at 100 % is a lower bound, capped at the ceiling", obs(SigACUDemand, 4.8, SigReaderCPU, 1.0), 16,
			ReadersAtMax{MaxInForce: 64, AllServerless: true}, 128, true, "capped at the ceiling 128", ""},
		{"a provisioned reader: CPU says nothing about max ACU", obs(SigACUDemand, 4.8, SigReaderCPU, 0.9), 16,
			ReadersAtMax{MaxInForce: 16}, 16, false, "covers it", ""},
		{"below the bound: Aurora still has ACU to add", obs(SigACUDemand, 4.8, SigReaderCPU, 0.69), 16, sv, 16, false, "covers it", ""},
		{"no busy ACU yet: the readers' CPU alone", obs(SigReaderCPU, 0.9), 16, sv, 48, false, "acu_demand unknown", ""},
		{"no reader CPU: the busy ACU alone", obs(SigACUDemand, 28.8), 16, sv, 96, false, "acu_demand 28.8", ""},
		{"neither", obs(), 16, sv, 0, false, "", "acu_demand unknown"},
		{"neither usable: reader CPU below the bound", obs(SigReaderCPU, 0.5), 16, sv, 0, false, "", "acu_demand unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := RecommendMaxACU(tc.o, tc.current, target, tc.b)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%+v err %v, want %q", rec, err, tc.err)
				}
				return
			}
			if err != nil || rec.Desired != tc.desired || rec.Capped != tc.capped || !strings.Contains(rec.Why, tc.why) {
				t.Fatalf("%+v %v, want %g capped %v why %q", rec, err, tc.desired, tc.capped, tc.why)
			}
		})
	}
}

func TestReadersAtMaxOf(t *testing.T) {
	sv := func(id string, writer bool, class, status string) Instance {
		return Instance{ID: id, Writer: writer, Class: class, Status: status}
	}
	for _, tc := range []struct {
		name string
		cs   *ClusterState
		want ReadersAtMax
	}{
		{"all Serverless v2", &ClusterState{Serverless: true, MaxACU: 16, Instances: []Instance{
			sv("w", true, "db.r6g.large", "available"), sv("r1", false, ClassServerless, "available"), sv("r2", false, ClassServerless, "creating")}},
			ReadersAtMax{MaxInForce: 16, AllServerless: true}},
		{"a provisioned reader", &ClusterState{Serverless: true, MaxACU: 16, Instances: []Instance{
			sv("r1", false, ClassServerless, "available"), sv("r2", false, "db.r6g.large", "available")}},
			ReadersAtMax{MaxInForce: 16}},
		{"a provisioned reader being deleted does not count", &ClusterState{Serverless: true, MaxACU: 16, Instances: []Instance{
			sv("r1", false, ClassServerless, "available"), sv("r2", false, "db.r6g.large", statusDeleting)}},
			ReadersAtMax{MaxInForce: 16, AllServerless: true}},
		{"no reader", &ClusterState{Serverless: true, MaxACU: 16, Instances: []Instance{sv("w", true, ClassServerless, "available")}},
			ReadersAtMax{MaxInForce: 16}},
		{"no Serverless v2 configuration", &ClusterState{Instances: []Instance{sv("r1", false, ClassServerless, "available")}}, ReadersAtMax{}},
		{"no state", nil, ReadersAtMax{}},
	} {
		if got := ReadersAtMaxOf(tc.cs); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestRecommendASG(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dir     string
		o       *Observation
		d       ASGDemand
		desired float64
		change  bool
	}{
		{"proportional", DirOut, obs(SigRequestsPerInstance, 3000.0, SigInService, 3.0), ASGDemand{Desired: 3, Min: 2, Max: 20, MaxStep: 10, TargetRequests: 1000}, 9, true},
		{"pending instances count", DirOut, obs(SigRequestsPerInstance, 3000.0, SigInService, 3.0), ASGDemand{Desired: 9, Min: 2, Max: 20, MaxStep: 10, TargetRequests: 1000}, 9, false},
		{"max_step per scale-out", DirOut, obs(SigRequestsPerInstance, 3000.0, SigInService, 3.0), ASGDemand{Desired: 3, Min: 2, Max: 20, MaxStep: 2, TargetRequests: 1000}, 5, true},
		{"the group's max", DirOut, obs(SigRequestsPerInstance, 3000.0, SigInService, 10.0), ASGDemand{Desired: 10, Min: 2, Max: 20, MaxStep: 50, TargetRequests: 1000}, 20, true},
		{"tolerance", DirOut, obs(SigRequestsPerInstance, 1080.0, SigInService, 5.0), ASGDemand{Desired: 5, Min: 2, Max: 20, MaxStep: 5, TargetRequests: 1000}, 5, false},
		{"in: to the window's peak at once", DirIn, obs(SigRequestsWindowMax, 2500.0), ASGDemand{Desired: 12, Min: 2, Max: 20, MaxStep: 2, TargetRequests: 1000}, 3, true},
		{"in: not below min", DirIn, obs(SigRequestsWindowMax, 100.0), ASGDemand{Desired: 4, Min: 2, Max: 20, MaxStep: 5, TargetRequests: 800}, 2, true},
		{"in: above the mark keeps all", DirIn, obs(SigRequestsWindowMax, 3700.0), ASGDemand{Desired: 4, Min: 2, Max: 20, MaxStep: 5, TargetRequests: 1000}, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := RecommendASG(tc.o, tc.dir, tc.d)
			if err != nil || rec.Desired != tc.desired || rec.Change() != tc.change {
				t.Fatalf("%+v %v, want %g change %v", rec, err, tc.desired, tc.change)
			}
		})
	}
	if _, err := RecommendASG(obs(SigRequestsPerInstance, 100.0), DirOut, ASGDemand{Desired: 2, TargetRequests: 1000}); err == nil {
		t.Error("a recommendation without the instances it was measured on")
	}
}
