package collector

import "sync/atomic"

// published holds a fresh source's newest samples by DbiResourceId and a
// version the renderer keys on (versioned), so a refresh that served
// nothing before and nothing now does not re-render a large fleet.
type published[T any] struct {
	samples atomic.Pointer[map[string]T]
	version atomic.Uint64
}

func newPublished[T any]() *published[T] {
	p := &published[T]{}
	empty := map[string]T{}
	p.samples.Store(&empty)
	return p
}

// load is the newest samples; callers must not modify the map.
func (p *published[T]) load() map[string]T { return *p.samples.Load() }

// store publishes next, which the caller no longer modifies. The samples
// are stored before the version moves, so a renderer that sees the new
// version also sees the new samples.
func (p *published[T]) store(next map[string]T) {
	changed := len(next) > 0 || len(p.load()) > 0
	p.samples.Store(&next)
	if changed {
		p.version.Add(1)
	}
}

// DataVersion changes whenever the samples may have changed.
func (p *published[T]) DataVersion() uint64 { return p.version.Load() }
