package collector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// triggerConfig refreshes discovery every 5 minutes and DNS every 5 s:
// a reader that becomes available between two discoveries is seen by DNS
// first.
const triggerConfig = `
targets:
  - regions: [us-east-1]
    clusters: {names: [events-db]}
refresh:
  discovery_interval: 5m
  dns_interval: 5s
  discovery_trigger_min_interval: %s
dns:
  server: ${dns}
`

// readerJoins creates a reader through the SDK mid-run and follows the
// reader endpoint on Run's schedule until well after the reader serves.
// It returns the longest disagreement the exporter reported for the
// reader endpoint, when the new reader first appeared in DNS, and the
// triggered-refresh counter at the end.
func readerJoins(t *testing.T, minInterval string) (worst float64, joined bool, triggered float64) {
	t.Helper()
	s := startStack(t, "field-avalanche", fmtConfig(triggerConfig, minInterval))
	const step = 5 * time.Second
	due := func(d time.Duration) {
		for done := time.Duration(0); done < d; done += step {
			s.env.Advance(t, step)
			if err := s.p.RefreshDue(ctx); err != nil {
				t.Fatal(err)
			}
			got := s.gather(t)
			if d := one(t, got, "aurora_dns_endpoint_disagreement_seconds", "endpoint_type", "reader"); d > worst {
				worst = d
			}
			if len(matching(got, "aurora_dns_endpoint_target", "endpoint_type", "reader", "db_instance", "events-db-reader-2")) > 0 {
				joined = true
			}
		}
	}
	due(time.Minute)
	db := rds.NewFromConfig(s.env.Config(t, "us-east-1"))
	if _, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("events-db-reader-2"), DBClusterIdentifier: aws.String("events-db"),
		DBInstanceClass: aws.String("db.serverless"), Engine: aws.String("aurora-postgresql"), PromotionTier: aws.Int32(15),
	}); err != nil {
		t.Fatal(err)
	}
	due(s.env.World.P.ProvisioningDelay + 2*time.Minute)
	got := s.gather(t)
	if one(t, got, "aurora_dns_endpoint_agrees", "endpoint_type", "reader") != 1 {
		t.Fatalf("reader endpoint disagrees at the end: %v", got["aurora_dns_endpoint_unexpected_instances"])
	}
	return worst, joined, one(t, got, "aurora_exporter_discovery_triggered_refreshes_total")
}

// TestDiscoveryFollowsDNS: a reader that becomes available between two
// discovery refreshes must not make the reader endpoint disagree for
// longer than one DNS interval and one discovery call (0 s of virtual time
// here), and exactly one triggered refresh brings it in.
func TestDiscoveryFollowsDNS(t *testing.T) {
	worst, joined, triggered := readerJoins(t, "30s")
	t.Logf("trigger on: longest reader endpoint disagreement %g s, %g triggered refreshes", worst, triggered)
	if !joined {
		t.Fatal("the new reader never appeared in the reader endpoint")
	}
	if worst > 5 {
		t.Errorf("reader endpoint disagreed for %g s, want at most one DNS interval (5 s)", worst)
	}
	if triggered != 1 {
		t.Errorf("triggered discovery refreshes: %g, want 1", triggered)
	}
}

// TestDiscoveryTriggerOffWaitsForTheInterval is the behaviour without the
// trigger: the reader endpoint disagrees until discovery's next interval,
// long enough for AuroraDnsEndpointDisagreement (20 s).
func TestDiscoveryTriggerOffWaitsForTheInterval(t *testing.T) {
	worst, joined, triggered := readerJoins(t, "0s")
	t.Logf("trigger off: longest reader endpoint disagreement %g s", worst)
	if !joined {
		t.Fatal("the new reader never appeared in the reader endpoint")
	}
	if worst <= 20 {
		t.Errorf("without the trigger the disagreement lasted only %g s; the test above proves nothing", worst)
	}
	if triggered != 0 {
		t.Errorf("triggered refreshes with the trigger off: %g", triggered)
	}
}

func fmtConfig(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// TestRunRefreshesDiscoveryWhenAsked: in the running pipeline the request
// is served by discovery's own loop, at once, not at the next interval.
func TestRunRefreshesDiscoveryWhenAsked(t *testing.T) {
	s := startStack(t, "field-avalanche", fmtConfig(triggerConfig, "30s"))
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	s.p.Run(runCtx)
	before := s.p.Runner.Status("discovery").Refreshes
	if !s.p.Trigger.Request([]string{"events-db-reader-9"}) {
		t.Fatal("request refused")
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.p.Runner.Status("discovery").Refreshes == before {
		if time.Now().After(deadline) {
			t.Fatal("no discovery refresh within 10 s of the request (interval 5m)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := one(t, s.gather(t), "aurora_exporter_discovery_triggered_refreshes_total"); got != 1 {
		t.Errorf("triggered refreshes %g, want 1", got)
	}
	if s.p.Trigger.Request([]string{"events-db-reader-9"}) {
		t.Error("a second request within 30 s (virtual) was queued")
	}
}
