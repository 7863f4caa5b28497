package backtest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

// shortAvalanche is the field fleet with a 12-minute avalanche: long
// enough for the step alerts, the scaler and a reader's provisioning.
func shortAvalanche(t *testing.T) *sim.Scenario {
	t.Helper()
	sc, err := sim.ParseScenario([]byte(`
name: short-avalanche
params: {provisioning_delay: 8m, publication_delay: 60s}
accounts:
  - id: "123456789012"
    hosted_zones:
      - name: app.internal.
        private: true
        records:
          - {name: db-read.app.internal., type: CNAME, ttl: 5, values: ["${reader_endpoint:events-db}"]}
fleets:
  - name: events
    region: us-east-1
    cluster:
      id: events-db
      serverless_v2: {min_acu: 0.5, max_acu: 32}
      instances:
        - {id: events-db-writer, class: db.serverless, tier: 1, az: us-east-1a, writer: true}
        - {id: events-db-reader-1, class: db.serverless, tier: 1, az: us-east-1b}
    asgs:
      - {name: events-web, tier: web, min: 2, max: 20, desired: 4, request_share: 0.6, target_group: events-web-tg}
    traffic:
      event_start: 5m
      reads_per_user_second: 0.5
      writes_per_user_second: 0.05
      requests_per_user_minute: 2.5
      connections_per_user: 0.05
      read_connection_share: 0.7
      keyframes:
        - {at: -5m, users: 200}
        - {at: 0s, users: 200}
        - {at: 50s, users: 8000}
        - {at: 12m, users: 8000}
        - {at: 15m, users: 300}
`))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestSurgeActsThroughTheLoopAndRunsAreDeterministic plays the product's
// loop twice: the step alerts must reach the scaler through the rules and
// Alertmanager's routing and add capacity after the onset, and the two
// reports must be the same bytes.
func TestSurgeActsThroughTheLoopAndRunsAreDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("plays two 40-minute runs")
	}
	o := Options{Scenario: shortAvalanche(t), Policies: []string{"none", "surge"}, Repo: RepoAt(".."), Lead: 5 * time.Minute, After: 10 * time.Minute}
	var reports [2][]byte
	for i := range reports {
		res, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := res.Report.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		reports[i] = b.Bytes()
		none, surge := res.Report.Policies[0], res.Report.Policies[1]
		if none.Actions != 0 || none.FirstActionAfterOnsetSeconds != nil {
			t.Errorf("policy none acted: %+v", none)
		}
		if surge.FirstActionAfterOnsetSeconds == nil {
			t.Fatalf("surge never acted after the onset: %+v; actions %+v", surge, res.Actions["surge"])
		}
		// The step alert needs CloudWatch's lag (1-2 min) and the rule's
		// for (15 s); the scaler route's group_wait is 0.
		if first := *surge.FirstActionAfterOnsetSeconds; first < 60 || first > 300 {
			t.Errorf("surge's first action %v s after the onset, want within 1-5 min", first)
		}
		if surge.MaxReaders <= none.MaxReaders {
			t.Errorf("surge ran at most %d readers, none %d", surge.MaxReaders, none.MaxReaders)
		}
	}
	if !bytes.Equal(reports[0], reports[1]) {
		t.Errorf("two runs of the same inputs differ:\n%s\n---\n%s", reports[0], reports[1])
	}
}
