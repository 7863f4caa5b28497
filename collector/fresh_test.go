package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/aurora-surge/aurora-surge/internal/awspi"
)

// A document as RDS writes it (AWS's documented example, shortened).
const osDoc = `{"engine":"Aurora","instanceID":"events-db-reader-1","instanceResourceID":"db-ABCDEFGHIJKLMNOPQRSTUVWXY1",
"timestamp":"2026-11-24T18:30:05Z","version":1,"uptime":"1 day, 2:03:04","numVCPUs":4,
"cpuUtilization":{"guest":0,"irq":0.01,"system":1.72,"wait":0.27,"idle":95.88,"user":1.96,"total":4.12,"steal":0.05,"nice":0.11},
"loadAverageMinute":{"one":0.37,"five":0.3,"fifteen":0.2},"memory":{"total":32000000},"processList":[]}`

func TestParseOSDocument(t *testing.T) {
	got, err := ParseOSDocument(osDoc)
	if err != nil {
		t.Fatal(err)
	}
	want := OSSample{Time: time.Date(2026, 11, 24, 18, 30, 5, 0, time.UTC), CPU: 0.0412, VCPUs: 4, Load1: 0.37}
	if got != want {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	for name, doc := range map[string]string{
		"not json":      "CPU 4%",
		"no timestamp":  strings.Replace(osDoc, `"timestamp":"2026-11-24T18:30:05Z",`, "", 1),
		"bad timestamp": strings.Replace(osDoc, `2026-11-24T18:30:05Z`, "yesterday", 1),
		"no cpu total":  strings.Replace(osDoc, `"total":4.12,`, "", 1),
		"cpu over 100":  strings.Replace(osDoc, `"total":4.12`, `"total":412`, 1),
	} {
		if _, err := ParseOSDocument(doc); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	noVCPUs, err := ParseOSDocument(strings.Replace(osDoc, `"numVCPUs":4,`, "", 1))
	if err != nil || noVCPUs.VCPUs != 0 {
		t.Errorf("a document without numVCPUs: %+v %v (vCPUs then come from the class)", noVCPUs, err)
	}
}

func TestClassVCPUs(t *testing.T) {
	for class, want := range map[string]int{
		"db.r6g.large": 2, "db.r6g.xlarge": 4, "db.r6g.2xlarge": 8, "db.r7g.16xlarge": 64, "db.x2g.4xlarge": 16,
		"db.t4g.medium": 2, "db.serverless": 0, "db.r6g.hugexlarge": 0, "r6g.large": 0, "": 0,
	} {
		got, ok := classVCPUs(class)
		if got != want || ok != (want > 0) {
			t.Errorf("%s: %d %v, want %d", class, got, ok, want)
		}
	}
}

func TestNewestPIValues(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	at := func(s int) time.Time { return time.Unix(1795000000+int64(s), 0) }
	got := newestValues(&awspi.GetResourceMetricsOutput{MetricList: []awspi.MetricKeyDataPoints{
		{Metric: "db.load.avg", DataPoints: []awspi.DataPoint{{Timestamp: at(1), Value: v(1)}, {Timestamp: at(2), Value: v(2.5)}, {Timestamp: at(3)}}},
		{Metric: "os.cpuUtilization.total.avg", DataPoints: []awspi.DataPoint{{Timestamp: at(1)}}},
	}})
	if !got.HasDBLoad || got.DBLoad != 2.5 || !got.DBLoadTime.Equal(at(2)) || got.HasCPU {
		t.Fatalf("newest values %+v: want db load 2.5 at +2s (the newest with a value), no CPU", got)
	}
}

func TestFreshSignalFallsBack(t *testing.T) {
	now := time.Unix(1795000100, 0)
	snap := &Snapshot{Now: now,
		OS: map[string]OSSample{
			"db-em":     {Time: now.Add(-3 * time.Second), CPU: 0.5, VCPUs: 8},
			"db-slowem": {Time: now.Add(-50 * time.Second), CPU: 0.3, VCPUs: 8},
		},
		PI: map[string]PISample{
			// db_load schedule: a 60 s period's DB load, no CPU.
			"db-em": {DBLoad: 4, DBLoadTime: now.Add(-70 * time.Second), HasDBLoad: true},
			// Enhanced Monitoring at 60 s: Performance Insights reads the CPU.
			"db-slowem": {DBLoad: 2, DBLoadTime: now.Add(-6 * time.Second), HasDBLoad: true, CPU: 0.4, CPUTime: now.Add(-6 * time.Second), HasCPU: true},
			"db-pi":     {DBLoad: 3, DBLoadTime: now.Add(-6 * time.Second), HasDBLoad: true, CPU: 0.6, CPUTime: now.Add(-7 * time.Second), HasCPU: true},
			"db-sv":     {DBLoad: 1, DBLoadTime: now.Add(-6 * time.Second), HasDBLoad: true},
		}}
	cases := []struct {
		in   InstanceInfo
		want freshView
	}{
		{InstanceInfo{ResourceID: "db-em", Class: "db.r6g.large"}, freshView{source: signalEnhancedMonitoring, newest: now.Add(-3 * time.Second), cpu: 0.5, hasCPU: true, load: 4, hasLoad: true, vcpus: 8}},
		{InstanceInfo{ResourceID: "db-slowem", Class: "db.r6g.large"}, freshView{source: signalPerformanceInsights, newest: now.Add(-6 * time.Second), cpu: 0.4, hasCPU: true, load: 2, hasLoad: true, vcpus: 8}},
		{InstanceInfo{ResourceID: "db-pi", Class: "db.r6g.xlarge"}, freshView{source: signalPerformanceInsights, newest: now.Add(-6 * time.Second), cpu: 0.6, hasCPU: true, load: 3, hasLoad: true, vcpus: 4}},
		{InstanceInfo{ResourceID: "db-sv", Class: "db.serverless"}, freshView{source: signalPerformanceInsights, newest: now.Add(-6 * time.Second), load: 1, hasLoad: true}},
		{InstanceInfo{ResourceID: "db-none", Class: "db.r6g.large"}, freshView{source: signalCloudWatch, vcpus: 2}},
		{InstanceInfo{Class: "db.r6g.large"}, freshView{source: signalCloudWatch, vcpus: 2}},
	}
	for _, c := range cases {
		if got := freshSignal(snap, &c.in); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.in.ResourceID, got, c.want)
		}
	}
}
