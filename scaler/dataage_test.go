package scaler

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-surge/aurora-surge/scaler/procedure"
	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// A data age Prometheus answers is trusted for a scale-in only if it is a
// plausible, fresh age: NaN, infinities, negative or absurd values are
// stale, whatever the conversion to a duration would make of them.
func TestStaleDataGuard(t *testing.T) {
	max := 3 * time.Minute
	for _, c := range []struct {
		value string
		fresh bool
	}{
		{"42.5", true}, {"0", true}, {"180", true},
		{"180.001", false}, {"600", false},
		{"+Inf", false}, {"-Inf", false}, {"NaN", false}, {"Inf", false},
		{"-5", false}, {"-0.001", false},
		{"86401", false}, {"1e300", false}, {"9.3e9", false},
	} {
		v, err := strconv.ParseFloat(c.value, 64)
		if err != nil {
			t.Fatal(err)
		}
		age, err := DataAgeFromSeconds(v)
		in := Input{Policy: Policy{MaxDataAge: max}, DataAge: age, DataAgeKnown: err == nil}
		reason, stale := staleData(in)
		if stale == c.fresh {
			t.Errorf("data age %s: stale=%v (%q), want fresh=%v", c.value, stale, reason, c.fresh)
		}
	}
	// Whatever a DataAgeSource returns, a negative or absurd duration is
	// stale in the decision itself.
	for _, age := range []time.Duration{-time.Second, time.Duration(-1 << 63), 25 * time.Hour} {
		if _, stale := staleData(Input{Policy: Policy{MaxDataAge: max}, DataAge: age, DataAgeKnown: true}); !stale {
			t.Errorf("duration %v passed as fresh", age)
		}
	}
}

// Through the webhook: Prometheus answering an impossible data age never
// lets a reader be deleted.
func TestImpossibleDataAgeDeletesNoReader(t *testing.T) {
	for _, value := range []string{"+Inf", "NaN", "-Inf", "-30", "1e12"} {
		t.Run(value, func(t *testing.T) {
			env := simtest.Start(t, "field-avalanche", awsapi.Services...)
			awsCfg := env.Config(t, "us-east-1")
			cfg, _ := readRecordConfig(t, env, "scalein.yml", `
clusters:
  - {name: events-db, account: "123456789012", region: us-east-1, max_readers: 5, acu_ceiling: 64, read_record: {zone_id: %q, name: db-read.app.internal.}}
`)
			cloud := NewAWS(awsCfg, RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond})
			procs, err := NewProcedures(context.Background(), ProcedureOptions{
				Config: cfg, AWS: cloud, Resolver: procedure.DNSResolver{Server: env.StartDNS(t)}, Poll: 5 * time.Second,
				Wait:       func(_ context.Context, d time.Duration) error { env.Advance(t, d); return nil },
				Registerer: prometheus.NewRegistry(),
			})
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, env, func(o *Options) {
				o.Config, o.Cloud, o.Busy = cfg, withProcedures(cloud, procs), procs.Busy
				o.DataAge = Prometheus{URL: fakePrometheus(t, value)}
			})
			db := rds.NewFromConfig(awsCfg)
			createManagedReader(t, db, "events-db-surge-0001")
			env.Advance(t, 10*time.Minute)
			h.deliver(t, payload("firing", map[string]string{"alertname": "AuroraReaderCPUBelowTarget", "action": "remove_readers", "step": "1", "db_cluster": "events-db"},
				"rm0000000000000b", env.World.Clock().Now().Add(-16*time.Minute)))
			procs.Wait()
			if d := h.lastDecision(t); d.Outcome != OutcomeRefused || !strings.Contains(d.Reason, "data") {
				t.Errorf("data age %s: %s %q, want refused on the data age", value, d.Outcome, d.Reason)
			}
			if n := env.World.Calls.Count("rds", "DeleteDBInstance", ""); n != 0 {
				t.Errorf("data age %s: %d DeleteDBInstance calls reached AWS", value, n)
			}
		})
	}
}
