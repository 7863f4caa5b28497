// Command dashgen writes the Grafana dashboards as provisioning files
// (make dashboards).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aurora-surge/aurora-surge/dashboards"
)

func main() {
	out := flag.String("out", "deploy/grafana/dashboards", "directory for the dashboard JSON files")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
	for name, b := range dashboards.Boards() {
		data, err := dashboards.Render(b)
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, name), data, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "dashgen:", err)
			os.Exit(1)
		}
		fmt.Println(filepath.Join(*out, name))
	}
}
