package backtest

import (
	"context"
	"log/slog"
	"time"

	"github.com/aurora-surge/aurora-surge/backtest/policy"
)

// baseline adapts a policy users would pick instead (backtest/policy) to
// the harness.
type baseline struct {
	p   policy.Policy
	log *slog.Logger
}

func newBaseline(ctx context.Context, name string, emu *emulator, fleet Fleet, params *Params, log *slog.Logger) (controller, error) {
	cfg, err := emu.AWSConfig(ctx, fleet.Region)
	if err != nil {
		return nil, err
	}
	pf := policy.FleetFromScenario(emu.World.Scenario(), emu.World.Start())
	p, err := policy.New(name, params.Policy, cfg, pf)
	if err != nil {
		return nil, err
	}
	return &baseline{p: p, log: log}, nil
}

func (b *baseline) Name() string { return b.p.Name() }

// Tick keeps going after an AWS error: the policy retries at its next
// tick, as a real controller would.
func (b *baseline) Tick(ctx context.Context, now time.Time) error {
	if err := b.p.Tick(ctx, now); err != nil {
		b.log.Warn("policy tick failed; retrying at the next tick", "policy", b.p.Name(), "at", now, "err", err)
	}
	return nil
}

// Actions converts: policy.Action is Action without the report's JSON
// tags.
func (b *baseline) Actions() []Action {
	var out []Action
	for _, a := range b.p.Actions() {
		out = append(out, Action(a))
	}
	return out
}

func (b *baseline) Close() {}
