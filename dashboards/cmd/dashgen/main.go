// Command dashgen writes the Grafana dashboards (make dashboards): the
// provisioning files, the import files, and, with -push, creates or
// overwrites them in a running Grafana through its HTTP API.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aurora-surge/aurora-surge/dashboards"
	"github.com/aurora-surge/aurora-surge/rules"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dashgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory for the provisioning JSON files (datasource by uid), e.g. deploy/grafana/dashboards")
	export := fs.String("export", "", "directory for the import JSON files (__inputs/__requires, for Grafana's import and grafana.com), e.g. dashboards/export")
	push := fs.String("push", "", "Grafana URL to create or overwrite the dashboards in through its HTTP API, e.g. http://grafana:3000")
	tokenFile := fs.String("token-file", "", "file holding a Grafana service account token (Editor) for -push")
	dsUID := fs.String("datasource-uid", dashboards.Provisioning.DatasourceUID, "uid of the Prometheus datasource the dashboards default to (-out, -push)")
	thresholds := fs.String("thresholds", "", "rules threshold overrides (as rulegen -thresholds) drawn as the panels' lines; default: the shipped rules/gen/thresholds.yml")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of -push")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "dashgen:", err)
		return 1
	}
	if *out == "" && *export == "" && *push == "" {
		return fail(fmt.Errorf("nothing to do: give -out, -export or -push"))
	}
	if *push != "" && *tokenFile == "" {
		return fail(fmt.Errorf("-push needs -token-file"))
	}
	th, err := rules.LoadThresholds(*thresholds)
	if err != nil {
		return fail(err)
	}
	boards, err := dashboards.Boards(th)
	if err != nil {
		return fail(err)
	}
	v := dashboards.Variant{DatasourceUID: *dsUID}
	for _, w := range []struct {
		dir string
		v   dashboards.Variant
	}{{*out, v}, {*export, dashboards.Export}} {
		if w.dir == "" {
			continue
		}
		if err := os.MkdirAll(w.dir, 0o755); err != nil {
			return fail(err)
		}
		for _, b := range boards {
			data, err := dashboards.Render(b, w.v)
			if err == nil {
				err = os.WriteFile(filepath.Join(w.dir, b.File), data, 0o644)
			}
			if err != nil {
				return fail(err)
			}
			fmt.Fprintln(stdout, filepath.Join(w.dir, b.File))
		}
	}
	if *push != "" {
		tok, err := dashboards.ReadToken(*tokenFile)
		if err != nil {
			return fail(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		if err := dashboards.Push(ctx, *push, tok, boards, v, &http.Client{Timeout: *timeout}); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "pushed %d dashboards to %s\n", len(boards), *push)
	}
	return 0
}
