package collector

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// gatheredText is the exposition of collect by a registry's Gather and
// the text encoder: what the encoder must reproduce byte for byte.
func gatheredText(t *testing.T, collect func(ch chan<- prometheus.Metric)) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectFunc(collect))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

type collectFunc func(ch chan<- prometheus.Metric)

func (f collectFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func encodedText(t *testing.T, e *encoder, batches ...func(ch chan<- prometheus.Metric)) string {
	t.Helper()
	body, err := e.encode(batches...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRendered(body)
	if err != nil {
		t.Fatal(err)
	}
	// As a scrape sends it, with no live series, read as curl reads it:
	// one gzip member (its CRC and length checked by the reader).
	var gz bytes.Buffer
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	if err := r.WriteGzip(&gz, nil, fw); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if gz.Len() != 0 {
		t.Errorf("%d bytes after the gzip member", gz.Len())
	}
	var plain bytes.Buffer
	if err := r.WriteText(&plain); err != nil || plain.String() != string(text) {
		t.Errorf("WriteText gives %d bytes (%v), WriteGzip %d", plain.Len(), err, len(text))
	}
	return string(text)
}

// TestEncoderMatchesGather: a 1,600-instance fleet's families, with and
// without timestamps, one batch per scraper, encode to the text Gather
// and expfmt give, twice in a row (the second rendering reuses the first
// one's buffers).
func TestEncoderMatchesGather(t *testing.T) {
	p := renderPipeline(t)
	for _, ts := range []bool{false, true} {
		p.Exporter.exportTS = ts
		collect := func(ch chan<- prometheus.Metric) { p.Exporter.collectFamilies(p.Exporter.Snapshot(), ch) }
		want := gatheredText(t, collect)
		var e encoder
		for i := 0; i < 2; i++ {
			if got := encodedText(t, &e, p.Exporter.familyBatches(p.Exporter.Snapshot())...); got != want {
				t.Fatalf("timestamps %t, rendering %d: encoder output differs from Gather's (%d vs %d bytes)", ts, i, len(got), len(want))
			}
		}
	}
}

// TestEncoderOrderAndEscaping: series sorted by label values as Gather
// sorts them (a value before the longer ones it prefixes, whatever
// follows), escaped label values and help, families sharing a name
// across descriptors merged, and families that emit nothing left out.
func TestEncoderOrderAndEscaping(t *testing.T) {
	a := prometheus.NewDesc("t_a", "help with \\ and\nnewline", []string{"x", "y"}, nil)
	a2 := prometheus.NewDesc("t_a", "help with \\ and\nnewline", []string{"x", "y"}, nil)
	b := prometheus.NewDesc("t_b", "b", nil, nil)
	collect := func(ch chan<- prometheus.Metric) {
		for _, x := range []string{"a!", "a", "a b", "a-b", "b\"q", "b\\s", "b\nn", "", "a\x01"} {
			ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 1.5, x, "2")
			ch <- prometheus.MustNewConstMetric(a2, prometheus.GaugeValue, 2, x, "1")
		}
		ch <- prometheus.MustNewConstMetric(b, prometheus.CounterValue, 3)
	}
	var e encoder
	if got, want := encodedText(t, &e, collect), gatheredText(t, collect); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	onlyB := func(ch chan<- prometheus.Metric) { ch <- prometheus.MustNewConstMetric(b, prometheus.CounterValue, 4) }
	if got, want := encodedText(t, &e, onlyB), gatheredText(t, onlyB); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// TestEncoderRejectsDuplicatesAndConflicts: a series sent twice, or two
// descriptors of one name with different help, fail the rendering as
// they fail Gather, instead of serving an invalid exposition; so does a
// family sent by two batches, which the encoder cannot merge.
func TestEncoderRejectsDuplicatesAndConflicts(t *testing.T) {
	a := prometheus.NewDesc("t_a", "a", []string{"x"}, nil)
	other := prometheus.NewDesc("t_a", "other help", []string{"x"}, nil)
	var e encoder
	_, err := e.encode(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 1, "v")
		ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 2, "v")
	})
	if !errors.Is(err, errDuplicateSeries) {
		t.Fatalf("duplicate series: %v", err)
	}
	if _, err := e.encode(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 1, "v")
		ch <- prometheus.MustNewConstMetric(other, prometheus.GaugeValue, 2, "w")
	}); err == nil {
		t.Fatal("two helps for one name: no error")
	}
	if _, err := e.encode(func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 1, "v")
	}, func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 1, "w")
	}); err == nil || !strings.Contains(err.Error(), "two scrapers") {
		t.Fatalf("one family in two batches: %v", err)
	}
	// The encoder is usable after a failed rendering.
	one := func(ch chan<- prometheus.Metric) {
		ch <- prometheus.MustNewConstMetric(a, prometheus.GaugeValue, 1, "v")
	}
	if got, want := encodedText(t, &e, one), gatheredText(t, one); got != want {
		t.Fatalf("after errors: got\n%s\nwant\n%s", got, want)
	}
}

// TestEncoderEmpty: a rendering with no series is an empty text.
func TestEncoderEmpty(t *testing.T) {
	var e encoder
	if got := encodedText(t, &e, func(chan<- prometheus.Metric) {}); got != "" {
		t.Fatalf("got %q", got)
	}
}

// TestDeflateEnd: the written-out end of a stream is what a writer's
// Close gives with nothing left to compress.
func TestDeflateEnd(t *testing.T) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.NoCompression)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(deflateEnd(), b.Bytes()) {
		t.Fatalf("deflateEnd() = %x, a closed writer gives %x", deflateEnd(), b.Bytes())
	}
}
