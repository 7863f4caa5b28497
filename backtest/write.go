package backtest

import (
	"bytes"
	"os"
	"path/filepath"
)

// WriteAll writes the report files into dir and returns their paths.
func WriteAll(res *Result, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(name string, fill func(*bytes.Buffer) error) error {
		var b bytes.Buffer
		if err := fill(&b); err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		paths = append(paths, p)
		return os.WriteFile(p, b.Bytes(), 0o644)
	}
	if err := write("report.json", func(b *bytes.Buffer) error { return res.Report.WriteJSON(b) }); err != nil {
		return nil, err
	}
	if err := write("report.md", func(b *bytes.Buffer) error { return res.Report.WriteMarkdown(b) }); err != nil {
		return nil, err
	}
	plots, err := WritePlots(res, res.Report.policyNames(), dir)
	if err != nil {
		return nil, err
	}
	return append(paths, plots...), nil
}
