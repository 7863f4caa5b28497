package scaler

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim/awsapi"
	"github.com/aurora-surge/aurora-surge/sim/simtest"
)

// firstCall notes when the worker first reaches AWS for an alert.
type firstCall struct {
	Cloud
	at chan time.Time
}

func (f firstCall) ASG(ctx context.Context, account, region, name string) (*ASGState, error) {
	f.at <- time.Now()
	return f.Cloud.ASG(ctx, account, region, name)
}

// BenchmarkWebhookToFirstAWSCall reports the wall time from POSTing a
// notification to the scaler's first AWS call for it (p50, p99): the
// acknowledgement, the queue and the worker's pick-up.
func BenchmarkWebhookToFirstAWSCall(b *testing.B) {
	env := simtest.Start(b, "field-avalanche", awsapi.Services...)
	at := make(chan time.Time, 1)
	h := newBenchHarness(b, env, func(o *Options) {
		o.Cloud = firstCall{Cloud: o.Cloud, at: at}
		o.Config.MaxActionsPerHour = 1 << 30
		o.DryRun = true
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.s.Run(ctx)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		body := payload("firing", map[string]string{"alertname": "Bench", "action": "scale_asg", "asg": "events-web"},
			fmt.Sprintf("bench%011d", i), env.World.Clock().Now())
		start := time.Now()
		if code, out := h.post(b, "/webhook", body, testToken); code != http.StatusOK {
			b.Fatalf("%d %v", code, out)
		}
		lat = append(lat, (<-at).Sub(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkWebhookThroughput is sustained acknowledged notifications per
// second from parallel senders, with the worker draining behind them.
func BenchmarkWebhookThroughput(b *testing.B) {
	env := simtest.Start(b, "field-avalanche", awsapi.Services...)
	h := newBenchHarness(b, env, func(o *Options) { o.Paused = true; o.QueueSize = 1 << 16 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.s.Run(ctx)
	var seq, failed atomic.Int64
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := payload("firing", map[string]string{"alertname": "Bench", "action": "add_readers", "db_cluster": "events-db"},
				fmt.Sprintf("tput%012d", seq.Add(1)), env.World.Clock().Now())
			if code, _ := h.post(b, "/webhook", body, testToken); code != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "webhooks/s")
	if failed.Load() > 0 {
		b.Errorf("%d notifications not acknowledged", failed.Load())
	}
}

func newBenchHarness(b *testing.B, env *simtest.Env, mod func(*Options)) *harness {
	cfg, err := ParseConfig("bench.yml", []byte(e2eConfig))
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Config: cfg, Clock: env.World.Clock(), BearerToken: testToken,
		Cloud: NewAWS(env.Config(b, "us-east-1"), RetryPolicy{MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond})}
	mod(&o)
	s := newScaler(o)
	srv := httptestServer(b, s.Handler())
	return &harness{env: env, s: s, srv: srv}
}
