package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fleetScenario is n copies of a 16-instance Serverless v2 cluster with a
// proxy and two Auto Scaling groups under constant load, every instance
// with Enhanced Monitoring at 5 s and Performance Insights on (the fresh
// sources' worst case: all of them read).
func fleetScenario(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-%d\nfleets:\n  - name: f\n    count: %d\n    cluster:\n      id: db\n      serverless_v2: {min_acu: 0.5, max_acu: 32}\n      tags: {app: bench}\n      monitoring_interval: 5\n      performance_insights: true\n      instances:\n", n, n)
	b.WriteString("        - {id: db-w, class: db.serverless, tier: 1, writer: true}\n")
	for i := 1; i < 16; i++ {
		fmt.Fprintf(&b, "        - {id: db-r%02d, class: db.serverless, tier: %d}\n", i, min(i, 15))
	}
	b.WriteString("    proxy: {name: px, pinned_fraction: 0.1}\n")
	b.WriteString("    asgs:\n      - {name: web, tier: web, min: 2, max: 20, desired: 4, tags: {app: bench}}\n      - {name: api, tier: api, min: 2, max: 20, desired: 4, tags: {app: bench}}\n")
	b.WriteString("    traffic:\n      keyframes: [{at: 0s, users: 2000}]\n")
	return b.String()
}

// BenchmarkFleet runs the emulator and the exporter as processes for 1,
// 10 and 100 clusters of 16 instances with 100 ms injected latency on
// every AWS call, and reports GetMetricData calls per refresh against the
// ceil(queries/500) minimum, refresh durations, /metrics p99 and the
// exporter's peak RSS. AURORA_FLEET_CLUSTERS (e.g. "1000") picks other
// sizes, for sizing a split over several exporters. AURORA_FLEET_PROFILE_DIR
// builds the exporter with -tags pprof, runs it with --web.enable-pprof
// and saves there, per size, a
// CPU profile of the scrape loop and heap and allocation profiles at its
// end (go tool pprof <file>).
func BenchmarkFleet(b *testing.B) {
	if os.Getenv("AURORA_FLEET_PROFILE_DIR") != "" {
		b.Setenv("GOFLAGS", "-tags=pprof") // the exporter with --web.enable-pprof
	}
	exporter, simulator := buildBinaries(b)
	sizes := []int{1, 10, 100}
	if env := os.Getenv("AURORA_FLEET_CLUSTERS"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("AURORA_FLEET_CLUSTERS: %q is not a cluster count", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		// A benchmark with sub-benchmarks runs once: the fleet starts
		// once per size and stops before the next size starts.
		b.Run(fmt.Sprintf("clusters=%d", n), func(fb *testing.B) {
			webAddr, pid := startFleet(fb, exporter, simulator, n)
			fb.Run("scrape", func(b *testing.B) {
				metrics := "http://" + webAddr + "/metrics"
				first, firstAt := scrape(b, metrics), time.Now()
				var lat []time.Duration
				profiled := saveProfile(b, webAddr, n, "cpu", "profile?seconds=20")
				b.ResetTimer()
				for i := 0; i < max(b.N, 200); i++ {
					start := time.Now()
					r, err := http.Get(metrics)
					if err != nil {
						b.Fatal(err)
					}
					var buf bytes.Buffer
					_, _ = buf.ReadFrom(r.Body)
					r.Body.Close()
					lat = append(lat, time.Since(start))
				}
				b.StopTimer()
				<-profiled
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				p99 := lat[len(lat)*99/100]
				// The same scrapes with the body read compressed, as sent: the
				// difference is the client's decompression of the text.
				raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
				var rawLat []time.Duration
				for range len(lat) {
					req, _ := http.NewRequest(http.MethodGet, metrics, nil)
					req.Header.Set("Accept-Encoding", "gzip")
					start := time.Now()
					r, err := raw.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, r.Body)
					r.Body.Close()
					rawLat = append(rawLat, time.Since(start))
				}
				sort.Slice(rawLat, func(i, j int) bool { return rawLat[i] < rawLat[j] })
				rawP99 := rawLat[len(rawLat)*99/100]

				// The fresh sources' calls per minute, over at least a minute.
				time.Sleep(time.Until(firstAt.Add(time.Minute)))
				body := scrape(b, metrics)
				minutes := time.Since(firstAt).Minutes()
				perMinute := func(series string) float64 {
					return (sampleValue(body, series) - max(0, sampleValue(first, series))) / minutes
				}
				emCalls := perMinute(`aurora_exporter_aws_calls_total{operation="FilterLogEvents",outcome="success",service="CloudWatch Logs"}`)
				piCalls := perMinute(`aurora_exporter_aws_calls_total{operation="GetResourceMetrics",outcome="success",service="PI"}`)
				em := sampleValue(body, `aurora_exporter_source_refresh_duration_seconds{source="enhanced_monitoring"}`)
				pi := sampleValue(body, `aurora_exporter_source_refresh_duration_seconds{source="performance_insights"}`)
				calls := sampleValue(body, "aurora_exporter_getmetricdata_calls_last_refresh")
				minimum := sampleValue(body, "aurora_exporter_getmetricdata_calls_minimum")
				cw := sampleValue(body, `aurora_exporter_source_refresh_duration_seconds{source="cloudwatch"}`)
				disc := sampleValue(body, `aurora_exporter_source_refresh_duration_seconds{source="discovery"}`)
				rss := peakRSS(b, pid)
				<-saveProfile(b, webAddr, n, "heap", "heap")
				<-saveProfile(b, webAddr, n, "allocs", "allocs")
				b.ReportMetric(calls, "gmd_calls/refresh")
				b.ReportMetric(minimum, "gmd_minimum")
				b.ReportMetric(cw, "cloudwatch_refresh_s")
				b.ReportMetric(disc, "discovery_refresh_s")
				b.ReportMetric(float64(p99.Microseconds())/1000, "metrics_p99_ms")
				b.ReportMetric(float64(rawP99.Microseconds())/1000, "metrics_gzip_p99_ms")
				b.ReportMetric(rss/(1<<20), "peak_rss_MiB")
				b.ReportMetric(emCalls, "filterlogevents/min")
				b.ReportMetric(piCalls, "getresourcemetrics/min")
				fmt.Printf("clusters=%d instances=%d: GetMetricData calls %g (minimum %g), cloudwatch refresh %.3fs, discovery refresh %.3fs, /metrics p99 %.2fms over %d scrapes (%d bytes), peak RSS %.1f MiB\n",
					n, n*16, calls, minimum, cw, disc, float64(p99.Microseconds())/1000, len(lat), len(body), rss/(1<<20))
				fmt.Printf("clusters=%d instances=%d: /metrics p99 read compressed (no client decompression) %.2fms\n",
					n, n*16, float64(rawP99.Microseconds())/1000)
				fmt.Printf("clusters=%d instances=%d: fresh sources add FilterLogEvents %.1f/min (refresh %.3fs), GetResourceMetrics %.1f/min (refresh %.3fs)\n",
					n, n*16, emCalls, em, piCalls, pi)
				if emCalls <= 0 || piCalls <= 0 {
					b.Errorf("the fresh sources made no calls (FilterLogEvents %g/min, GetResourceMetrics %g/min)", emCalls, piCalls)
				}
				if calls != minimum {
					b.Errorf("GetMetricData calls %g, minimum %g", calls, minimum)
				}
			})
		})
	}
}

// startFleet starts the emulator with n clusters and 100 ms latency on
// every call, and an exporter watching all of it, for b's lifetime.
func startFleet(b *testing.B, exporter, simulator string, n int) (webAddr string, pid int) {
	dir := b.TempDir()
	scenario := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenario, []byte(fleetScenario(n)), 0o644); err != nil {
		b.Fatal(err)
	}
	simAddr, dnsAddr := freeAddr(b), freeAddr(b)
	startProcess(b, nil, simulator, "--scenario", scenario, "--web.listen-address", simAddr, "--dns.listen-address", dnsAddr, "--summary.interval", "0s")
	waitFor(b, "http://"+simAddr+"/_sim/clock", 60*time.Second)
	resp, err := http.Post("http://"+simAddr+"/_sim/faults", "application/json",
		strings.NewReader(`{"kind":"latency","rate":1,"latency":100000000}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("injecting latency: %v %v", resp, err)
	}
	resp.Body.Close()

	cfg := filepath.Join(dir, "exporter.yml")
	_ = os.WriteFile(cfg, []byte(`
targets:
  - regions: [us-east-1]
    clusters: {tags: {app: bench}}
    asgs: {tags: {app: bench}}
refresh:
  discovery_interval: 30s
  cloudwatch_interval: 15s
  dns_interval: 5s
  enhanced_monitoring_interval: 5s
  performance_insights_interval: 10s
  timeout: 60s
`), 0o644)
	awsEnv := []string{"AWS_ENDPOINT_URL=http://" + simAddr, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
	webAddr = freeAddr(b)
	args := []string{"--config.file", cfg, "--web.listen-address", webAddr, "--dns.server", dnsAddr}
	if os.Getenv("AURORA_FLEET_PROFILE_DIR") != "" {
		args = append(args, "--web.enable-pprof")
	}
	pid = startProcess(b, awsEnv, exporter, args...)
	waitFor(b, "http://"+webAddr+"/-/ready", 3*time.Minute)
	// A second CloudWatch refresh runs on the cached discovery, the
	// steady state the figures describe.
	time.Sleep(16 * time.Second)

	return webAddr, pid
}

// saveProfile fetches /debug/pprof/<query> into
// $AURORA_FLEET_PROFILE_DIR/clusters-<n>.<name>.pb.gz in the background
// when the variable is set; the channel closes when it is saved.
func saveProfile(b *testing.B, webAddr string, n int, name, query string) <-chan struct{} {
	done := make(chan struct{})
	dir := os.Getenv("AURORA_FLEET_PROFILE_DIR")
	if dir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + webAddr + "/debug/pprof/" + query)
		if err != nil {
			b.Errorf("profile %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Errorf("profile %s: %v %s", name, err, resp.Status)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("clusters-%d.%s.pb.gz", n, name)), buf.Bytes(), 0o644); err != nil {
			b.Errorf("profile %s: %v", name, err)
		}
	}()
	return done
}

func sampleValue(body []byte, series string) float64 {
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, series+" ") {
			// The value follows the series; a label value may hold spaces
			// (service="CloudWatch Logs").
			v, _ := strconv.ParseFloat(strings.Fields(line[len(series):])[0], 64)
			return v
		}
	}
	return -1
}

// peakRSS reads the process's high-water resident set (VmHWM).
func peakRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb * 1024
		}
	}
	return -1
}
