package collector

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rendering the families of a large fleet (1,600 instances: 4 MB of
// text) costs tens of milliseconds of CPU and garbage. The data changes
// only when a source refreshes or goes stale, so the exposition is
// rendered then, once, compressed, and a scrape copies bytes
// (exposition.go says how it is encoded within a small memory bound).

// Rendered is one rendering of the families.
type Rendered struct {
	// deflate is the only copy kept: a deflate stream without its final
	// block, so a scrape can append its live series and end the stream
	// (WriteGzip). Prometheus asks for gzip; the rare client that does
	// not gets it decompressed (WriteText).
	deflate []byte
	crc     uint32 // CRC-32 of the text
	size    uint32 // length of the text, mod 2^32 as gzip's trailer wants
	At      time.Time
	Took    time.Duration
}

// newRendered checks the stream by reading it whole, which also gives
// the CRC and length the gzip trailer needs: the families' pieces were
// compressed apart, in another order than they are served.
func newRendered(deflate []byte) (*Rendered, error) {
	h := crc32.NewIEEE()
	n, err := io.Copy(h, inflate(deflate))
	if err != nil {
		return nil, fmt.Errorf("reading back the rendering: %w", err)
	}
	return &Rendered{deflate: deflate, crc: h.Sum32(), size: uint32(n)}, nil
}

// inflate reads a stream without its final block, ended by deflateEnd.
func inflate(deflate []byte) io.Reader {
	return flate.NewReader(io.MultiReader(bytes.NewReader(deflate), bytes.NewReader(deflateEnd())))
}

// deflateEnd is an empty final deflate block, what ends a stream: a
// stored block (BFINAL 1, BTYPE 00) of length 0 (LEN 0, NLEN 0xffff),
// the bytes a NoCompression writer's Close gives. Written out rather
// than got from a writer, whose state is 700 KB each rendering.
func deflateEnd() []byte { return []byte{0x01, 0x00, 0x00, 0xff, 0xff} }

// CompressedSize is the rendering's compressed length.
func (r *Rendered) CompressedSize() int { return len(r.deflate) }

// WriteGzip writes one gzip member (RFC 1952) holding the rendering
// followed by live, compressed with fw (reset here; a scrape reuses it).
// r may be nil: only live is sent.
func (r *Rendered) WriteGzip(w io.Writer, live []byte, fw *flate.Writer) error {
	// ID1 ID2, CM deflate, no flags, no mtime, no extra flags, OS unknown.
	header := [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	if _, err := w.Write(header[:]); err != nil {
		return err
	}
	var crc, size uint32
	if r != nil {
		if _, err := w.Write(r.deflate); err != nil {
			return err
		}
		crc, size = r.crc, r.size
	}
	fw.Reset(w)
	if _, err := fw.Write(live); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.Update(crc, crc32.IEEETable, live))
	binary.LittleEndian.PutUint32(trailer[4:], size+uint32(len(live)))
	_, err := w.Write(trailer[:])
	return err
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
	r, err := newRendered(gz)
	if err != nil {
		return false, err
	}
	r.At, r.Took = p.clock.Now(), time.Since(start)
	p.render.mu.Lock()
	p.render.current, p.render.key, p.render.complete = r, key, complete
	p.render.mu.Unlock()
	return true, nil
}

// WriteText writes the rendering uncompressed.
func (r *Rendered) WriteText(w io.Writer) error {
	_, err := io.Copy(w, inflate(r.deflate))
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
