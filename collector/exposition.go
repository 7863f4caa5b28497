package collector

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// encoder turns the families' metrics into the deflate-compressed text
// exposition, the same text a registry's Gather and the text encoder
// would give (families by name, series by label values), within a small
// memory bound. Gather holds every series of the fleet as protobuf
// structs at once (about 20 MB for 1,600 instances, the exporter's
// largest transient), and its text is 4 MB. Here the metrics come in
// batches (one per scraper), each of which completes its families: each
// series becomes its text line as it is collected, and at the end of a
// batch each of its families is sorted and compressed into a deflate
// piece of its own, ended by a sync flush (byte-aligned, not final), so
// pieces concatenated in name order are one deflate stream: the body of
// the single gzip member a scrape sends (Rendered.WriteGzip). One member,
// not one per family: curl --compressed and other zlib-based clients stop
// at the end of the first member. Only one batch's lines (at most 1.6 MB
// for 1,600 instances: the connections scraper's three instance
// families) and the compressed pieces are held.
type encoder struct {
	byDesc   map[*prometheus.Desc]*familyText
	byName   map[string]*familyText
	lines    []byte // the current batch's lines, all families
	largest  int    // the largest batch's lines in the last rendering
	lastSize int    // the last rendering's compressed size
	scratch  bytes.Buffer
	text     expfmt.Encoder
	metric   dto.Metric
	family   dto.MetricFamily
	zw       *flate.Writer
	members  bytes.Buffer // this rendering's compressed families
}

// familyText is one family's header and where its lines are.
type familyText struct {
	name   string
	typ    dto.MetricType
	help   string
	header []byte
	spans  []span // the family's lines of the current batch
	member span   // its deflate piece in members, this rendering
	done   bool   // compressed in this rendering
}

type span struct{ start, end int32 }

// errDuplicateSeries is what Gather reports for a series sent twice.
var errDuplicateSeries = errors.New("was collected before with the same name and label values")

// encode runs every batch and returns the exposition of what they sent,
// as a deflate stream without its final block; a family must be sent by
// one batch only.
func (e *encoder) encode(batches ...func(ch chan<- prometheus.Metric)) ([]byte, error) {
	if e.byDesc == nil {
		e.byDesc, e.byName = map[*prometheus.Desc]*familyText{}, map[string]*familyText{}
		e.text = expfmt.NewEncoder(&e.scratch, expfmt.NewFormat(expfmt.TypeTextPlain))
	}
	for _, f := range e.byName {
		f.spans, f.done = f.spans[:0], false
	}
	// The compressor (1.5 MB of state), the lines and the members live
	// only while rendering: between renderings, when sources refresh and
	// the garbage collector sets its next heap goal, they would be 3 MB
	// of the exporter's live heap. The lines start at the last
	// rendering's largest batch, so they are not grown by doubling.
	e.zw, _ = flate.NewWriter(io.Discard, flate.BestSpeed)
	e.lines = make([]byte, 0, e.largest)
	e.members = bytes.Buffer{}
	e.members.Grow(e.lastSize)
	defer func() { e.zw, e.lines, e.members = nil, nil, bytes.Buffer{} }()
	e.largest = 0
	var err error
	for _, batch := range batches {
		e.lines = e.lines[:0]
		ch := make(chan prometheus.Metric, 256)
		go func() {
			defer close(ch)
			batch(ch)
		}()
		for m := range ch {
			if err == nil {
				err = e.add(m)
			}
		}
		e.largest = max(e.largest, len(e.lines))
		if err == nil {
			err = e.compressBatch()
		}
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(e.byName))
	size := 0
	for name, f := range e.byName {
		if f.done {
			names = append(names, name)
			size += int(f.member.end - f.member.start)
		}
	}
	sort.Strings(names)
	e.lastSize = size
	out := make([]byte, 0, size)
	for _, name := range names {
		m := e.byName[name].member
		out = append(out, e.members.Bytes()[m.start:m.end]...)
	}
	return out, nil
}

// add appends m's line to the batch.
func (e *encoder) add(m prometheus.Metric) error {
	f, err := e.familyOf(m)
	if err != nil {
		return err
	}
	if f.done {
		return fmt.Errorf("%s is sent by two scrapers", f.name)
	}
	e.metric.Reset()
	if err := m.Write(&e.metric); err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	// The text encoder writes a family; without its help it is one TYPE
	// line and the series' line, which is kept.
	e.family = dto.MetricFamily{Name: &f.name, Type: &f.typ, Metric: []*dto.Metric{&e.metric}}
	e.scratch.Reset()
	if err := e.text.Encode(&e.family); err != nil {
		return fmt.Errorf("encoding %s: %w", f.name, err)
	}
	out := e.scratch.Bytes()
	i := bytes.IndexByte(out, '\n')
	if i < 0 || !bytes.HasPrefix(out, []byte("# TYPE ")) {
		return fmt.Errorf("encoding %s: unexpected text %q", f.name, out)
	}
	start := len(e.lines)
	e.lines = append(e.lines, out[i+1:]...)
	f.spans = append(f.spans, span{int32(start), int32(len(e.lines))})
	return nil
}

// familyOf finds m's family, learning its name, help and type from a
// registry the first time its descriptor is seen (Desc has no getters).
func (e *encoder) familyOf(m prometheus.Metric) (*familyText, error) {
	d := m.Desc()
	if f, ok := e.byDesc[d]; ok {
		return f, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(oneMetric{m}); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gathering families: %w", err)
	}
	if len(mfs) != 1 {
		return nil, fmt.Errorf("metric of %s gathered as %d families", d, len(mfs))
	}
	mf := mfs[0]
	f, ok := e.byName[mf.GetName()]
	switch {
	case !ok:
		f = &familyText{name: mf.GetName(), typ: mf.GetType(), help: mf.GetHelp()}
		var h bytes.Buffer
		mf.Metric = mf.Metric[:1]
		if _, err := expfmt.MetricFamilyToText(&h, mf); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", f.name, err)
		}
		// The header is the HELP and TYPE lines, before the series' line.
		hdr := h.Bytes()
		f.header = slices.Clone(hdr[:bytes.LastIndexByte(hdr[:len(hdr)-1], '\n')+1])
		e.byName[f.name] = f
	case f.typ != mf.GetType() || f.help != mf.GetHelp():
		return nil, fmt.Errorf("%s has two descriptors with different help or type (%s)", f.name, d)
	}
	e.byDesc[d] = f
	return f, nil
}

// compressBatch compresses each family of the batch, its lines sorted by
// label values, into a member of its own.
func (e *encoder) compressBatch() error {
	for _, f := range e.byName {
		if len(f.spans) == 0 || f.done {
			continue
		}
		sort.Sort(lineSorter{e.lines, f.spans})
		start := e.members.Len()
		e.zw.Reset(&e.members)
		if _, err := e.zw.Write(f.header); err != nil {
			return err
		}
		for i, sp := range f.spans {
			line := e.lines[sp.start:sp.end]
			if i > 0 {
				prev := f.spans[i-1]
				if seriesKeyCompare(e.lines[prev.start:prev.end], line) == 0 {
					return fmt.Errorf("collected metric %s %w", strings.TrimSpace(string(line)), errDuplicateSeries)
				}
			}
			if _, err := e.zw.Write(line); err != nil {
				return err
			}
		}
		if err := e.zw.Flush(); err != nil {
			return err
		}
		f.member, f.done = span{int32(start), int32(e.members.Len())}, true
		f.spans = f.spans[:0]
	}
	return nil
}

type lineSorter struct {
	lines []byte
	spans []span
}

func (s lineSorter) Len() int { return len(s.spans) }
func (s lineSorter) Less(i, j int) bool {
	a, b := s.spans[i], s.spans[j]
	return seriesKeyCompare(s.lines[a.start:a.end], s.lines[b.start:b.end]) < 0
}
func (s lineSorter) Swap(i, j int) { s.spans[i], s.spans[j] = s.spans[j], s.spans[i] }

// seriesKeyCompare orders two lines of one family as Gather orders their
// series: by label values, in label name order (the order of the line),
// a value before any longer one it prefixes, escaped characters as what
// they stand for; the sample value does not count.
func seriesKeyCompare(a, b []byte) int {
	a, b = seriesKey(a), seriesKey(b)
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, na := keyChar(a[i:])
		cb, nb := keyChar(b[j:])
		if ca != cb {
			return ca - cb
		}
		i, j = i+na, j+nb
	}
	return (len(a) - i) - (len(b) - j)
}

// keyChar is the character at the start of k and its length in k: a
// quote (a value's end: the family's lines share their label names, so
// lines differ first within a value) as -1, before every character.
func keyChar(k []byte) (int, int) {
	switch {
	case k[0] == '"':
		return -1, 1
	case k[0] == '\\' && len(k) > 1 && k[1] == 'n':
		return '\n', 2
	case k[0] == '\\' && len(k) > 1:
		return int(k[1]), 2
	}
	return int(k[0]), 1
}

// seriesKey is the line's name and labels, without its value.
func seriesKey(line []byte) []byte {
	if i := bytes.LastIndexByte(line, '}'); i >= 0 {
		return line[:i+1]
	}
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}

// oneMetric collects a single metric (familyOf's registry).
type oneMetric struct{ m prometheus.Metric }

func (o oneMetric) Describe(chan<- *prometheus.Desc)    {}
func (o oneMetric) Collect(ch chan<- prometheus.Metric) { ch <- o.m }
