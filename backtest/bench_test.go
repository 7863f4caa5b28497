package backtest

import (
	"context"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// BenchmarkFieldAvalanche plays field-avalanche with every policy and
// reports simulated seconds per wall second (all policies together).
func BenchmarkFieldAvalanche(b *testing.B) {
	sc, err := sim.LoadScenario("field-avalanche")
	if err != nil {
		b.Fatal(err)
	}
	var simulated time.Duration
	start := time.Now()
	for b.Loop() {
		res, err := Run(context.Background(), Options{Scenario: sc, Repo: RepoAt("..")})
		if err != nil {
			b.Fatal(err)
		}
		simulated += res.Report.Stop.Sub(res.Report.Start) * time.Duration(len(res.Report.Policies))
	}
	wall := time.Since(start)
	b.ReportMetric(simulated.Seconds()/wall.Seconds(), "sim-s/wall-s")
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/run")
}
