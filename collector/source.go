package collector

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Clock is injected so tests and the emulator's fast mode control time.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// RealClock is wall time.
var RealClock Clock = realClock{}

// Source refreshes one kind of data in the background (discovery,
// CloudWatch, DNS). Refresh replaces the source's data only on success, so
// a failing source keeps serving its last good data.
type Source interface {
	Name() string
	Refresh(ctx context.Context) error
}

// SourceStatus is what the exporter reports about a source.
type SourceStatus struct {
	Name         string
	Up           bool
	LastSuccess  time.Time
	LastAttempt  time.Time
	LastDuration time.Duration
	LastError    string
	Refreshes    uint64
	Failures     uint64
}

// Age is how old the source's data is at now (zero time: never refreshed).
func (s SourceStatus) Age(now time.Time) time.Duration {
	if s.LastSuccess.IsZero() {
		return 0
	}
	return now.Sub(s.LastSuccess)
}

// Fresh reports whether the data may still be served: refreshed once and
// not older than staleAfter. Past it the exporter drops the series rather
// than replay old data as if it were current.
func (s SourceStatus) Fresh(now time.Time, staleAfter time.Duration) bool {
	return !s.LastSuccess.IsZero() && now.Sub(s.LastSuccess) <= staleAfter
}

// Runner runs sources on their intervals and tracks their status.
type Runner struct {
	clock   Clock
	log     *slog.Logger
	timeout time.Duration

	mu     sync.Mutex
	status map[string]*SourceStatus
}

func NewRunner(clock Clock, log *slog.Logger, timeout time.Duration) *Runner {
	return &Runner{clock: clock, log: log, timeout: timeout, status: map[string]*SourceStatus{}}
}

// RefreshOnce runs one refresh of src now and records the outcome. State
// changes (up -> down, down -> up) are logged once, not every refresh.
func (r *Runner) RefreshOnce(ctx context.Context, src Source) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	start := r.clock.Now()
	wallStart := time.Now()
	err := src.Refresh(ctx)
	took := time.Since(wallStart)

	r.mu.Lock()
	st := r.status[src.Name()]
	if st == nil {
		st = &SourceStatus{Name: src.Name()}
		r.status[src.Name()] = st
	}
	wasUp, first := st.Up, st.Refreshes == 0
	st.Refreshes++
	st.LastAttempt = start
	st.LastDuration = took
	if err != nil {
		st.Up = false
		st.Failures++
		st.LastError = err.Error()
	} else {
		st.Up = true
		st.LastSuccess = start
		st.LastError = ""
	}
	r.mu.Unlock()

	switch {
	case err != nil && (wasUp || first):
		r.log.Warn("source refresh failing; serving last good data", "data_source", src.Name(), "err", err)
	case err == nil && !wasUp && !first:
		r.log.Info("source recovered", "data_source", src.Name())
	}
	return err
}

// Run refreshes src every interval until ctx ends; immediate runs the
// first refresh at once so the exporter becomes ready quickly.
func (r *Runner) Run(ctx context.Context, src Source, interval time.Duration, immediate bool) {
	if immediate {
		_ = r.RefreshOnce(ctx, src)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.RefreshOnce(ctx, src)
		}
	}
}

// Status returns a source's status (zero value if it never ran).
func (r *Runner) Status(name string) SourceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.status[name]; st != nil {
		return *st
	}
	return SourceStatus{Name: name}
}

// Ready reports whether every named source has succeeded at least once.
func (r *Runner) Ready(names ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		st := r.status[n]
		if st == nil || st.LastSuccess.IsZero() {
			return false
		}
	}
	return true
}
