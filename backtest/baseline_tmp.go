package backtest

import (
	"context"
	"fmt"
	"time"
)

type noPolicy struct{}

func (noPolicy) Name() string                          { return "none" }
func (noPolicy) Tick(context.Context, time.Time) error { return nil }
func (noPolicy) Actions() []Action                     { return nil }
func (noPolicy) Close()                                {}

func newBaseline(ctx context.Context, name string, emu *emulator, fleet Fleet, params *Params) (controller, error) {
	if name == "none" {
		return noPolicy{}, nil
	}
	return nil, fmt.Errorf("unknown policy %q", name)
}
