// Command rulegen writes the Prometheus rule files of rules/ from the
// templates and thresholds in rules/gen. Without -thresholds it writes the
// shipped defaults (what `make rules` commits); with it, the keys of that
// file override the defaults. -prometheusrule also writes the bundle as a
// prometheus-operator PrometheusRule (deploy/kubernetes).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/aurora-surge/aurora-surge/rules"
)

func main() {
	thresholds := flag.String("thresholds", "", "YAML file overriding keys of rules/gen/thresholds.yml (empty: the defaults)")
	out := flag.String("out", "rules", "directory the *.rules.yml files are written to")
	promRule := flag.String("prometheusrule", "", "also write the bundle as one prometheus-operator PrometheusRule to this file (deploy/kubernetes)")
	flag.Parse()
	if err := run(*thresholds, *out, *promRule); err != nil {
		fmt.Fprintln(os.Stderr, "rulegen:", err)
		os.Exit(1)
	}
}

func run(thresholds, out, promRule string) error {
	th, err := rules.LoadThresholds(thresholds)
	if err != nil {
		return err
	}
	files, err := rules.Generate(th)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(out, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println(p)
	}
	if promRule != "" {
		b, err := rules.PrometheusRule(files)
		if err != nil {
			return err
		}
		if err := os.WriteFile(promRule, b, 0o644); err != nil {
			return err
		}
		fmt.Println(promRule)
	}
	return nil
}
