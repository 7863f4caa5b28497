package backtest

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var (
	colUsers    = color.RGBA{R: 150, G: 150, B: 150, A: 255}
	colCPU      = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colLine70   = color.RGBA{R: 255, G: 160, B: 0, A: 255}
	colReaders  = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colCreating = color.RGBA{R: 140, G: 190, B: 230, A: 255}
	colASG      = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colACU      = color.RGBA{R: 148, G: 103, B: 189, A: 255}
	colOut      = color.RGBA{R: 0, G: 0, B: 0, A: 255}
	colIn       = color.RGBA{R: 120, G: 120, B: 120, A: 255}
)

// timelinePlots draws, per policy, three panels on one time axis
// (minutes from the onset): users and reader CPU with the 70/85 % lines;
// readers (available and creating) and ASG capacity with the actions as
// markers (up: scale-out, down: scale-in, x: refused); max ACU and ACU.
func timelinePlots(res *Result, policies []string) ([][]*plot.Plot, error) {
	var rows [][]*plot.Plot
	onset := res.Report.Onset
	minutes := func(s Sample) float64 { return s.At.Sub(onset).Minutes() }
	for _, name := range policies {
		tl := res.Timelines[name]
		if len(tl) == 0 {
			continue
		}
		peak := 0.0
		for _, s := range tl {
			peak = max(peak, s.Users)
		}
		series := func(f func(Sample) float64) plotter.XYs {
			xy := make(plotter.XYs, len(tl))
			for i, s := range tl {
				xy[i] = plotter.XY{X: minutes(s), Y: f(s)}
			}
			return xy
		}
		cpu := plot.New()
		cpu.Title.Text = name
		cpu.Y.Label.Text = "%"
		cpu.Y.Min, cpu.Y.Max = 0, 105
		if err := addLines(cpu,
			line{"users (% of peak)", series(func(s Sample) float64 { return 100 * s.Users / max(peak, 1) }), colUsers, nil},
			line{"reader CPU", series(func(s Sample) float64 { return s.ReaderCPU }), colCPU, nil},
			line{"70 %", constant(tl, minutes, 70), colLine70, []vg.Length{vg.Points(4), vg.Points(3)}},
			line{"85 %", constant(tl, minutes, 85), colCPU, []vg.Length{vg.Points(4), vg.Points(3)}},
		); err != nil {
			return nil, err
		}
		cap := plot.New()
		cap.Y.Label.Text = "count"
		cap.Y.Min = 0
		if err := addLines(cap,
			line{"readers available", series(func(s Sample) float64 { return float64(s.ReadersUp) }), colReaders, nil},
			line{"readers creating", series(func(s Sample) float64 { return float64(s.ReadersCreating) }), colCreating, nil},
			line{"ASG desired", series(func(s Sample) float64 { return float64(s.ASGDesired) }), colASG, nil},
		); err != nil {
			return nil, err
		}
		if err := addActions(cap, res.Actions[name], onset); err != nil {
			return nil, err
		}
		acu := plot.New()
		acu.Y.Label.Text = "ACU"
		acu.X.Label.Text = "minutes from the onset"
		acu.Y.Min = 0
		if err := addLines(acu,
			line{"max ACU", series(func(s Sample) float64 { return s.MaxACU }), colACU, []vg.Length{vg.Points(4), vg.Points(3)}},
			line{"ACU (all instances)", series(func(s Sample) float64 { return s.ACU }), colACU, nil},
		); err != nil {
			return nil, err
		}
		for _, p := range []*plot.Plot{cpu, cap, acu} {
			p.Legend.Top, p.Legend.Left = true, true
			p.Legend.TextStyle.Font.Size = vg.Points(7)
			p.X.Min, p.X.Max = minutes(tl[0]), minutes(tl[len(tl)-1])
			rows = append(rows, []*plot.Plot{p})
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no timeline to plot")
	}
	return rows, nil
}

type line struct {
	name  string
	xy    plotter.XYs
	color color.Color
	dash  []vg.Length
}

func addLines(p *plot.Plot, ls ...line) error {
	for _, l := range ls {
		pl, err := plotter.NewLine(l.xy)
		if err != nil {
			return err
		}
		pl.Color, pl.Width, pl.Dashes = l.color, vg.Points(1.2), l.dash
		p.Add(pl)
		p.Legend.Add(l.name, pl)
	}
	return nil
}

func constant(tl []Sample, x func(Sample) float64, v float64) plotter.XYs {
	return plotter.XYs{{X: x(tl[0]), Y: v}, {X: x(tl[len(tl)-1]), Y: v}}
}

// addActions marks the actions along the capacity panel's bottom: a
// triangle up for a scale-out, down for a scale-in, a cross for a refusal.
func addActions(p *plot.Plot, actions []Action, onset time.Time) error {
	var out, in, refused plotter.XYs
	for _, a := range actions {
		xy := plotter.XY{X: a.At.Sub(onset).Minutes(), Y: 0.3}
		switch {
		case a.Refused != "":
			xy.Y = 0.9
			refused = append(refused, xy)
		case a.scaleOut():
			out = append(out, xy)
		default:
			in = append(in, xy)
		}
	}
	for _, m := range []struct {
		name  string
		xy    plotter.XYs
		shape draw.GlyphDrawer
		color color.Color
	}{
		{"scale-out", out, draw.TriangleGlyph{}, colOut},
		{"scale-in", in, draw.PyramidGlyph{}, colIn},
		{"refused", refused, draw.CrossGlyph{}, colCPU},
	} {
		if len(m.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(m.xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: m.color, Radius: vg.Points(3), Shape: m.shape}
		p.Add(sc)
		p.Legend.Add(m.name, sc)
	}
	return nil
}

// WritePlots writes timeline.png and timeline.svg.
func WritePlots(res *Result, policies []string, dir string) ([]string, error) {
	rows, err := timelinePlots(res, policies)
	if err != nil {
		return nil, err
	}
	w, h := 30*vg.Centimeter, vg.Length(len(rows))*5*vg.Centimeter
	var paths []string
	png := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))}
	svg := vgsvg.New(w, h)
	for _, out := range []struct {
		name string
		c    vg.CanvasWriterTo
	}{{"timeline.png", png}, {"timeline.svg", svg}} {
		dc := draw.New(out.c)
		tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadX: vg.Millimeter, PadY: vg.Millimeter, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(rows, tiles, dc)
		for i := range rows {
			rows[i][0].Draw(canvases[i][0])
		}
		p := filepath.Join(dir, out.name)
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		if _, err := out.c.WriteTo(f); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
