package backtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aurora-surge/aurora-surge/sim"
)

// TestREADMEFiguresAreTheCommandsOutput replays the README's scenarios:
// the committed report.json must be what the backtest produces now, byte
// for byte, and the README must carry its report.md's table unedited.
// After a change that moves a figure, `make readme-backtest` rewrites both.
func TestREADMEFiguresAreTheCommandsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("plays two scenarios with every policy")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"field-avalanche", "ticket-sale"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "docs", "backtest", name)
			want, err := os.ReadFile(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			sc, err := sim.LoadScenario(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), Options{Scenario: sc, Repo: RepoAt("..")})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := res.Report.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s/report.json differs from a fresh run (make readme-backtest):\n%s", dir, got.String())
			}
			md, err := os.ReadFile(filepath.Join(dir, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			table := strings.TrimSpace(strings.SplitN(string(md), "\n", 3)[2])
			if !strings.Contains(string(readme), "<!-- backtest:"+name+" -->\n"+table+"\n<!-- /backtest:"+name+" -->") {
				t.Errorf("README.md does not carry %s/report.md's table between its markers (make readme-backtest)", dir)
			}
		})
	}
}
