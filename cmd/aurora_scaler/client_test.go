package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// TestEventAndWriterCommands drives the CLI against a running scaler:
// an event is registered (its ASG capacity scheduled in AWS at once),
// listed and deleted; writer resizes outside writer_classes are refused;
// the bearer token guards every change.
func TestEventAndWriterCommands(t *testing.T) {
	env := simtest.Start(t, "field-avalanche", awsapi.Services...)
	env.SetAWSEnv(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	_ = os.WriteFile(token, []byte("tok3n\n"), 0o600)
	cfg := filepath.Join(dir, "scaler.yml")
	_ = os.WriteFile(cfg, []byte(fmt.Sprintf(`
bearer_token_file: %s
dns_server: %s
clusters:
  - {name: events-db, account: "123456789012", region: us-east-1, acu_ceiling: 64, writer_classes: [db.r6g.2xlarge]}
asgs:
  - {name: events-web, account: "123456789012", region: us-east-1}
`, token, env.StartDNS(t))), 0o600)
	addr := freeAddr(t)
	go func() {
		var out bytes.Buffer
		run([]string{"--config.file=" + cfg, "--web.listen-address=" + addr, "--log.level=error", "--events.file=" + filepath.Join(dir, "events.json")}, &out, &out)
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/-/healthy"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("aurora_scaler did not start")
		}
	}
	cli := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append(args, "--scaler.url="+base), &out, &errb)
		return code, out.String() + errb.String()
	}
	start := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	eventArgs := []string{"event", "add", "--id=gala", "--cluster=events-db", "--start=" + start.Format(time.RFC3339),
		"--end=" + start.Add(time.Hour).Format(time.RFC3339), "--readers=3", "--max-acu=64", "--min-acu=2", "--asg=events-web=12"}
	if code, out := cli(eventArgs...); code == 0 || !strings.Contains(out, "401") {
		t.Fatalf("event add without the token: %d %s", code, out)
	}
	if code, out := cli(append(eventArgs, "--token.file="+token)...); code != 0 || !strings.Contains(out, `"baseline"`) {
		t.Fatalf("event add: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.json")); err != nil {
		t.Fatalf("event not persisted: %v", err)
	}
	scheduled := env.World.Truth()
	found := false
	for _, g := range scheduled.Accounts[0].Regions[0].ASGs {
		if g.Name == "events-web" {
			for _, a := range g.ScheduledActions {
				found = found || strings.Contains(a, "aurora-surge-gala-up")
			}
		}
	}
	if !found {
		t.Fatal("the event's ASG capacity was not scheduled in AWS")
	}
	if code, out := cli("event", "list"); code != 0 || !strings.Contains(out, `"id": "gala"`) {
		t.Fatalf("event list: %d %s", code, out)
	}
	if code, out := cli("writer", "--cluster=events-db", "--class=db.r6g.8xlarge", "--token.file="+token); code == 0 || !strings.Contains(out, "writer_classes") {
		t.Fatalf("writer resize outside writer_classes: %d %s", code, out)
	}
	if code, out := cli("event", "delete", "gala", "--token.file="+token); code != 0 {
		t.Fatalf("event delete: %d %s", code, out)
	}
	if code, out := cli("event", "list"); code != 0 || strings.Contains(out, "gala") {
		t.Fatalf("event list after delete: %d %s", code, out)
	}
}
