package backtest

import (
	"context"
	"time"

	"github.com/aurora-surge/aurora-surge/backtest/policy"
)

// baseline adapts a policy users would pick instead (backtest/policy) to
// the harness.
type baseline struct {
	p policy.Policy
}

func newBaseline(ctx context.Context, name string, emu *emulator, fleet Fleet, params *Params) (controller, error) {
	cfg, err := emu.AWSConfig(ctx, fleet.Region)
	if err != nil {
		return nil, err
	}
	pf := policy.FleetFromScenario(emu.World.Scenario(), emu.World.Start())
	p, err := policy.New(name, params.Policy, cfg, pf)
	if err != nil {
		return nil, err
	}
	return &baseline{p: p}, nil
}

func (b *baseline) Name() string { return b.p.Name() }

// Tick keeps going after an AWS error: the policy retries at its next
// tick, as a real controller would.
func (b *baseline) Tick(ctx context.Context, now time.Time) error {
	_ = b.p.Tick(ctx, now)
	return nil
}

func (b *baseline) Actions() []Action {
	var out []Action
	for _, a := range b.p.Actions() {
		out = append(out, Action{At: a.At, Kind: a.Kind, Target: a.Target, From: a.From, To: a.To, Reason: a.Reason, Refused: a.Refused})
	}
	return out
}

func (b *baseline) Close() {}
