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
			rec, err := RecommendMaxACU(obs(SigACUDemand, tc.busy), tc.current, tg)
			if err != nil || rec.Desired != tc.desired || rec.Capped != tc.capped {
				t.Fatalf("%+v %v, want %g capped %v", rec, err, tc.desired, tc.capped)
			}
		})
	}
	if _, err := RecommendMaxACU(obs(), 32, target); err == nil {
		t.Error("no ACU demand gave a recommendation")
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
