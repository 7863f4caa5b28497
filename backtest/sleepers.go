package backtest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// sleepers lets code that waits in the background (the scaler's drain
// and failover procedures) wait on the run's virtual clock. The harness
// wakes the waits that are due after each step and then waits for every
// background task to be parked again, so the clock only moves when
// nothing else runs and a run is deterministic.
type sleepers struct {
	clock *sim.VirtualClock

	mu      sync.Mutex
	seq     int
	waiting []*sleeper
}

type sleeper struct {
	until time.Time
	seq   int
	wake  chan struct{}
}

func newSleepers(clock *sim.VirtualClock) *sleepers { return &sleepers{clock: clock} }

// Wait is procedure.Deps.Wait on the virtual clock.
func (s *sleepers) Wait(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.seq++
	sl := &sleeper{until: s.clock.Now().Add(d), seq: s.seq, wake: make(chan struct{})}
	s.waiting = append(s.waiting, sl)
	s.mu.Unlock()
	select {
	case <-sl.wake:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for i, w := range s.waiting {
			if w == sl {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// Parked is how many waits are blocked.
func (s *sleepers) Parked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting)
}

// WakeOne releases the earliest due wait (ties in the order they were
// parked) and reports whether there was one; the caller lets it run to
// its next park before waking another, which keeps concurrent procedures
// in a fixed order.
func (s *sleepers) WakeOne(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.SliceStable(s.waiting, func(i, j int) bool {
		if !s.waiting[i].until.Equal(s.waiting[j].until) {
			return s.waiting[i].until.Before(s.waiting[j].until)
		}
		return s.waiting[i].seq < s.waiting[j].seq
	})
	if len(s.waiting) == 0 || s.waiting[0].until.After(now) {
		return false
	}
	w := s.waiting[0]
	s.waiting = s.waiting[1:]
	close(w.wake)
	return true
}
