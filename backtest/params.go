package backtest

import (
	"fmt"

	"github.com/aurora-surge/aurora-surge/backtest/policy"
)

// Params is the backtest's parameter file (backtest/policy/policies.yml
// is the embedded default): one section per policy family.
type Params struct {
	Policy *policy.Params
	Surge  SurgeParams
}

// LoadParams reads a parameter file ("" = the embedded default).
func LoadParams(path string) (*Params, error) {
	pp, err := policy.LoadParams(path)
	if err != nil {
		return nil, err
	}
	p := &Params{Policy: pp}
	if pp.Surge.Kind != 0 {
		if err := pp.Surge.Decode(&p.Surge); err != nil {
			return nil, fmt.Errorf("surge: %w", err)
		}
	}
	if p.Surge.Schedule.ReaderCPUTarget <= 0 || p.Surge.Schedule.ReaderCPUTarget > 1 {
		return nil, fmt.Errorf("surge.schedule.reader_cpu_target %g: want a fraction in (0, 1]", p.Surge.Schedule.ReaderCPUTarget)
	}
	return p, nil
}
