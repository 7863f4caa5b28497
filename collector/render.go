package collector

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rendering the families of a large fleet (1,600 instances: 4 MB of
// text) costs tens of milliseconds of CPU and garbage. The data changes
// only when a source refreshes or goes stale, so the exposition is
// rendered then, once, gzip-compressed, and a scrape copies bytes
// (encode.go says how it is encoded within a small memory bound).

// Rendered is one rendering of the families.
type Rendered struct {
	// Gzip is the only copy kept: Prometheus asks for gzip, and the rare
	// client that does not gets it decompressed (WriteText).
	Gzip []byte
	At   time.Time
	Took time.Duration
}

type renderer struct {
	// encodeMu serialises renderings, which share enc's buffers.
	encodeMu sync.Mutex
	enc      encoder

	mu      sync.RWMutex
	current *Rendered
	key     string
	// complete: the rendering was made after every source's first
	// success, so readiness can promise a full first scrape.
	complete bool
}

// renderKey changes whenever what collectFamilies would emit can change:
// a source's last success, or a source crossing the staleness limit.
func (p *Pipeline) renderKey(now time.Time) string {
	var b bytes.Buffer
	for _, src := range p.sources() {
		st := p.Runner.Status(src.Name())
		changed := st.LastSuccess.UnixNano()
		if v, ok := src.(versioned); ok {
			changed = int64(v.DataVersion())
		}
		fmt.Fprintf(&b, "%s:%d:%t;", src.Name(), changed, st.Fresh(now, p.Config.Refresh.StaleAfter))
	}
	return b.String()
}

// versioned is a source that says when its data changed, so a refresh
// that changed nothing (a fresh source while no instance has the
// feature on, every 5 s) does not re-render a large fleet's families.
type versioned interface {
	DataVersion() uint64
}

// Render re-renders the families if their inputs changed since the last
// rendering; it reports whether it did.
func (p *Pipeline) Render() (bool, error) {
	key := p.renderKey(p.clock.Now())
	p.render.mu.RLock()
	same := p.render.current != nil && key == p.render.key
	p.render.mu.RUnlock()
	if same {
		return false, nil
	}
	complete := p.Runner.Ready(p.Exporter.Sources()...)
	start := time.Now()
	p.render.encodeMu.Lock()
	gz, err := p.render.enc.encode(p.Exporter.familyBatches(p.Exporter.Snapshot())...)
	p.render.encodeMu.Unlock()
	if err != nil {
		return false, err
	}
	r := &Rendered{Gzip: gz, At: p.clock.Now(), Took: time.Since(start)}
	p.render.mu.Lock()
	p.render.current, p.render.key, p.render.complete = r, key, complete
	p.render.mu.Unlock()
	return true, nil
}

// WriteText writes the rendering uncompressed.
func (r *Rendered) WriteText(w io.Writer) error {
	zr, err := gzip.NewReader(bytes.NewReader(r.Gzip))
	if err != nil {
		return err
	}
	_, err = io.Copy(w, zr)
	return err
}

// Rendered returns the newest rendering (nil before the first).
func (p *Pipeline) Rendered() *Rendered {
	p.render.mu.RLock()
	defer p.render.mu.RUnlock()
	return p.render.current
}

// CollectSelf emits the series that must be computed per scrape: source
// status and ages, and the sources' and the discovery trigger's counters.
func (p *Pipeline) CollectSelf(ch chan<- prometheus.Metric) {
	p.Exporter.collectSelf(p.Exporter.Snapshot(), ch)
	p.CloudWatch.Collect(ch)
	if p.EnhancedMonitoring != nil {
		p.EnhancedMonitoring.Collect(ch)
	}
	if p.PerformanceInsights != nil {
		p.PerformanceInsights.Collect(ch)
	}
	p.Trigger.Collect(ch)
}
