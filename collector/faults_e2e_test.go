package collector_test

import (
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/sim"
)

const faultConfig = `
targets:
  - regions: [us-east-1]
    clusters: {names: [shop-db]}
    asgs: {names: [shop-web]}
refresh:
  stale_after: 5m
  timeout: 1s
dns:
  server: ${dns}
  timeout: 50ms
  samples: 4
`

// TestFaultsServeLastGoodDataThenDrop injects each failure the field
// meets (throttling, 5xx, latency, DNS outage) and checks static
// stability: last good values stay with growing age and up=0, recovery
// when the fault ends, and nothing served past the staleness limit.
func TestFaultsServeLastGoodDataThenDrop(t *testing.T) {
	s := startStack(t, "steady", faultConfig)
	s.advance(t, 3*time.Minute, time.Minute)
	got := s.gather(t)
	cpu := one(t, got, "aurora_instance_cpu_utilization_ratio", "db_instance", "shop-db-writer")

	cases := []struct {
		name   string
		source string
		fault  sim.Fault
	}{
		{"cloudwatch throttled", "cloudwatch", sim.Fault{Kind: sim.FaultThrottle, Service: "monitoring", Rate: 1}},
		{"rds 5xx", "discovery", sim.Fault{Kind: sim.FaultServerError, Service: "rds", Rate: 1, Status: 503}},
		{"cloudwatch slow", "cloudwatch", sim.Fault{Kind: sim.FaultLatency, Service: "monitoring", Rate: 1, Latency: 3 * time.Second}},
		{"dns outage", "dns", sim.Fault{Kind: sim.FaultDNSOutage, DNSMode: "drop"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := s.env.World.InjectFault(c.fault, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.advanceFailing(t, 2*time.Minute, time.Minute)
			got := s.gather(t)
			if up := one(t, got, "aurora_exporter_source_up", "source", c.source); up != 0 {
				t.Fatalf("%s up=%g under fault", c.source, up)
			}
			if age := one(t, got, "aurora_exporter_source_data_age_seconds", "source", c.source); age < 110 {
				t.Fatalf("%s data age %gs after 2 min of failures", c.source, age)
			}
			// Last good values stay served.
			if v := one(t, got, "aurora_instance_cpu_utilization_ratio", "db_instance", "shop-db-writer"); c.source == "cloudwatch" && v != cpu {
				t.Fatalf("served CPU changed under a CloudWatch fault: %g -> %g", cpu, v)
			}
			one(t, got, "aurora_cluster_info", "db_cluster", "shop-db")
			one(t, got, "aurora_dns_endpoint_agrees", "db_cluster", "shop-db", "endpoint_type", "writer")
			if c.fault.Kind == sim.FaultThrottle && one(t, got, "aurora_exporter_aws_calls_total", "service", "CloudWatch", "operation", "GetMetricData", "outcome", "throttle") < 1 {
				t.Fatal("throttles not counted")
			}
			s.env.World.Faults.Remove(id)
			s.advance(t, time.Minute, time.Minute)
			got = s.gather(t)
			if one(t, got, "aurora_exporter_source_up", "source", c.source) != 1 || one(t, got, "aurora_exporter_source_data_age_seconds", "source", c.source) > 1 {
				t.Fatalf("%s did not recover", c.source)
			}
		})
	}

	// Past the staleness limit the data is dropped, not replayed as fresh.
	id, err := s.env.World.InjectFault(sim.Fault{Kind: sim.FaultThrottle, Service: "monitoring", Rate: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.advanceFailing(t, 6*time.Minute, time.Minute)
	got = s.gather(t)
	none(t, got, "aurora_instance_cpu_utilization_ratio")
	none(t, got, "aurora_asg_requests_per_instance_per_second")
	one(t, got, "aurora_asg_desired_instances", "asg", "shop-web") // discovery is fresh
	if one(t, got, "aurora_exporter_source_up", "source", "cloudwatch") != 0 {
		t.Fatal("cloudwatch up while throttled")
	}
	s.env.World.Faults.Remove(id)
	s.advance(t, time.Minute, time.Minute)
	got = s.gather(t)
	near(t, "CPU after recovery", one(t, got, "aurora_instance_cpu_utilization_ratio", "db_instance", "shop-db-writer"), cpu, 0.05)
}
