package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/aurora-surge/aurora-surge/internal/proctest"
)

func buildBinaries(t testing.TB) (exporter, simulator string) {
	t.Helper()
	bins := proctest.Build(t, "../..", "./cmd/aurora_exporter", "./cmd/aurora_sim")
	return bins["aurora_exporter"], bins["aurora_sim"]
}

var (
	freeAddr     = proctest.FreeAddr
	startProcess = proctest.Start
	waitFor      = proctest.WaitOK
	scrape       = proctest.Get
)

// TestBinaryAgainstEmulator runs the two commands as a user would (the
// emulator on the wall clock, the exporter configured only through the
// standard AWS variables and its flags) and checks the scrape output:
// promtool accepts it, no label is empty, and no label is unbounded.
func TestBinaryAgainstEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	exporter, simulator := buildBinaries(t)
	simAddr, dnsAddr, webAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	startProcess(t, nil, simulator, "--scenario", "field-avalanche", "--web.listen-address", simAddr, "--dns.listen-address", dnsAddr, "--summary.interval", "0s")
	waitFor(t, "http://"+simAddr+"/_sim/clock", 10*time.Second)

	cfg := filepath.Join(t.TempDir(), "aurora_exporter.yml")
	if err := os.WriteFile(cfg, []byte(`
targets:
  - regions: [us-east-1]
    clusters: {tags: {app: events}}
    asgs: {tags: {app: events}}
    route53_records: [db-read.app.internal.]
refresh:
  discovery_interval: 5s
  cloudwatch_interval: 10s
  dns_interval: 2s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(exporter, "--config.file", cfg, "--config.check")
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("--config.check: %v %s", err, out)
	}
	awsEnv := []string{"AWS_ENDPOINT_URL=http://" + simAddr, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
	startProcess(t, awsEnv, exporter, "--config.file", cfg, "--web.listen-address", webAddr, "--dns.server", dnsAddr)
	waitFor(t, "http://"+webAddr+"/-/ready", 30*time.Second)

	body := scrape(t, "http://"+webAddr+"/metrics")
	families := parse(t, body)
	for _, name := range []string{
		"aurora_instance_serverless_capacity_acu", "aurora_cluster_serverless_max_capacity_acu", "aurora_role_cpu_utilization_ratio",
		"aurora_instance_database_connections", "aurora_role_read_latency_seconds", "aurora_proxy_pinned_connections_ratio",
		"aurora_asg_in_service_instances", "aurora_asg_requests_per_instance_per_second", "aurora_dns_endpoint_agrees",
		"aurora_exporter_aws_calls_total", "aurora_exporter_build_info",
	} {
		if _, ok := families[name]; !ok {
			t.Errorf("scrape lacks %s", name)
		}
	}
	checkLabels(t, families)

	// A client that does not take gzip gets the same exposition.
	req, _ := http.NewRequest(http.MethodGet, "http://"+webAddr+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || len(parse(t, plain)) < len(families)-2 {
		t.Fatalf("uncompressed scrape: encoding %q, %d families (gzip: %d)", resp.Header.Get("Content-Encoding"), len(parse(t, plain)), len(families))
	}

	// One gzip member: curl --compressed, and other zlib-based clients,
	// stop at the end of the first member and would see only part of the
	// exposition (curl also exits 23).
	req, _ = http.NewRequest(http.MethodGet, "http://"+webAddr+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	first, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := parse(t, first); len(got) < len(families)-2 {
		t.Errorf("the gzip body's first member holds %d families of %d: the response is several gzip members", len(got), len(families))
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--compressed", "http://"+webAddr+"/metrics").Output()
		if err != nil {
			t.Errorf("curl --compressed: %v", err)
		} else if got := parse(t, out); len(got) < len(families)-2 {
			t.Errorf("curl --compressed read %d families of %d", len(got), len(families))
		}
	}

	// Series must not grow with time (a label carrying a timestamp,
	// request id or address would).
	time.Sleep(6 * time.Second)
	again := parse(t, scrape(t, "http://"+webAddr+"/metrics"))
	for name, mf := range again {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		if before, ok := families[name]; ok && len(mf.GetMetric()) > len(before.GetMetric()) {
			t.Errorf("%s grew from %d to %d series between scrapes", name, len(before.GetMetric()), len(mf.GetMetric()))
		}
	}

	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		t.Log("PROMTOOL unset (make test sets it): skipping promtool check metrics")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

type dtoFamily = dto.MetricFamily

func parse(t *testing.T, body []byte) map[string]*dtoFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bufio.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

var unbounded = []*regexp.Regexp{
	regexp.MustCompile(`^\d{1,3}(\.\d{1,3}){3}(:\d+)?$`),                 // an address
	regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-`),                      // a request id
	regexp.MustCompile(`^(\d{10}(\.\d+)?|\d{13,})$`),                     // a timestamp
	regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T`),                            // a date
	regexp.MustCompile(`(?i)^(global|unknown|none|n/a|null|undefined)$`), // a placeholder
}

func checkLabels(t *testing.T, families map[string]*dtoFamily) {
	t.Helper()
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if v == "" {
					t.Errorf("%s: empty label %s", name, l.GetName())
				}
				for _, re := range unbounded {
					if re.MatchString(v) && !(name == "aurora_exporter_build_info" || strings.HasPrefix(name, "go_")) {
						t.Errorf("%s: label %s=%q looks unbounded or a placeholder", name, l.GetName(), v)
					}
				}
			}
		}
	}
}
