package collector

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// encoder turns the families' metrics into the gzip-compressed text
// exposition, the same bytes a registry's Gather and the text encoder
// would give (families by name, series by label values), within a small
// memory bound. Gather holds every series of the fleet as protobuf
// structs at once (about 20 MB for 1,600 instances, the exporter's
// largest transient); here each series is turned into its text line as
// it is collected, so only the lines (about 4 MB, the buffers kept
// across renderings) and one series at a time are held.
type encoder struct {
	byDesc   map[*prometheus.Desc]*familyText
	byName   map[string]*familyText
	scratch  bytes.Buffer
	text     expfmt.Encoder
	metric   dto.Metric
	family   dto.MetricFamily
	zw       *gzip.Writer
	lastSize int
}

// familyText is one family's header and its series' lines.
type familyText struct {
	name   string
	typ    dto.MetricType
	help   string
	header []byte
	lines  []byte
	spans  []span // each line's place in lines
}

type span struct{ start, end int32 }

// errDuplicateSeries is what Gather reports for a series sent twice.
var errDuplicateSeries = errors.New("was collected before with the same name and label values")

// encode runs collect and returns the exposition of what it sent.
func (e *encoder) encode(collect func(ch chan<- prometheus.Metric)) ([]byte, error) {
	if e.byDesc == nil {
		e.byDesc, e.byName = map[*prometheus.Desc]*familyText{}, map[string]*familyText{}
		e.text = expfmt.NewEncoder(&e.scratch, expfmt.NewFormat(expfmt.TypeTextPlain))
	}
	for _, f := range e.byName {
		// A fleet that shrank gives its buffers back; one that did not
		// reuses them, so a rendering allocates little.
		if cap(f.lines) > 4*len(f.lines)+64<<10 {
			f.lines, f.spans = nil, nil
		}
		f.lines, f.spans = f.lines[:0], f.spans[:0]
	}
	ch := make(chan prometheus.Metric, 256)
	go func() {
		defer close(ch)
		collect(ch)
	}()
	var err error
	for m := range ch {
		if err == nil {
			err = e.add(m)
		}
	}
	if err != nil {
		return nil, err
	}
	return e.compress()
}

// add appends m's line to its family.
func (e *encoder) add(m prometheus.Metric) error {
	f, err := e.familyOf(m)
	if err != nil {
		return err
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
	start := len(f.lines)
	f.lines = append(f.lines, out[i+1:]...)
	f.spans = append(f.spans, span{int32(start), int32(len(f.lines))})
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

// compress writes the families by name, each one's lines by label values.
func (e *encoder) compress() ([]byte, error) {
	var gz bytes.Buffer
	gz.Grow(e.lastSize + e.lastSize/8)
	if e.zw == nil {
		e.zw, _ = gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	} else {
		e.zw.Reset(&gz)
	}
	names := make([]string, 0, len(e.byName))
	for name, f := range e.byName {
		if len(f.spans) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		f := e.byName[name]
		sort.Sort(lineSorter{f})
		if _, err := e.zw.Write(f.header); err != nil {
			return nil, err
		}
		for i := range f.spans {
			if i > 0 && seriesKeyCompare(f.line(i-1), f.line(i)) == 0 {
				return nil, fmt.Errorf("collected metric %s %w", strings.TrimSpace(string(f.line(i))), errDuplicateSeries)
			}
			if _, err := e.zw.Write(f.line(i)); err != nil {
				return nil, err
			}
		}
	}
	if err := e.zw.Close(); err != nil {
		return nil, err
	}
	e.lastSize = gz.Len()
	return gz.Bytes(), nil
}

// line is the i-th line, with its newline.
func (f *familyText) line(i int) []byte { return f.lines[f.spans[i].start:f.spans[i].end] }

type lineSorter struct{ f *familyText }

func (s lineSorter) Len() int { return len(s.f.spans) }
func (s lineSorter) Less(i, j int) bool {
	return seriesKeyCompare(s.f.line(i), s.f.line(j)) < 0
}
func (s lineSorter) Swap(i, j int) { s.f.spans[i], s.f.spans[j] = s.f.spans[j], s.f.spans[i] }

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
