package collector

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series renders what a collector emits as name{label="value",...} lines.
func series(t *testing.T, collect func(ch chan<- prometheus.Metric)) []string {
	t.Helper()
	ch := make(chan prometheus.Metric, 1<<16)
	collect(ch)
	close(ch)
	name := regexp.MustCompile(`fqName: "([^"]+)"`)
	var out []string
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		var l []string
		for _, lp := range pb.GetLabel() {
			l = append(l, lp.GetName()+"="+lp.GetValue())
		}
		out = append(out, name.FindStringSubmatch(m.Desc().String())[1]+"{"+strings.Join(l, ",")+"}")
	}
	sort.Strings(out)
	return out
}

// TestEmittedSeriesAreThePlannedSet: every query a family planned is asked
// once, under its own id, and every answered one comes out as exactly one
// series (plus the proxy ratios computed from its planned pairs); nothing
// else of CloudWatch's is emitted.
func TestEmittedSeriesAreThePlannedSet(t *testing.T) {
	exp, src := refreshedExporter(t, fleetInventory(3, 4))
	data := src.Data()
	snap := exp.Snapshot()
	ix := snap.inventory()
	var want []string
	planned := 0
	for _, s := range exp.scrapers {
		switch p := data.Plan(s.Name()).(type) {
		case nil:
		case *seriesPlan:
			for _, ps := range p.series {
				l, ok := ps.labels(ix)
				if !ok || !ps.q.Answered {
					t.Fatalf("%s: planned %s unanswered or unlabelled", s.Name(), ps.q.Key())
				}
				want = append(want, expected(t, ps.desc, l))
				planned++
			}
		case *proxyPlan:
			ps := s.(*proxyScraper)
			for _, x := range p.proxies {
				l := []string{x.proxy.Account, x.proxy.Region, x.proxy.Name, x.proxy.Cluster}
				if x.tg == "" {
					want = append(want, expected(t, ps.clients, l), expected(t, ps.db, l), expected(t, ps.pinned, l), expected(t, ps.ratio, l))
					planned += 3
					continue
				}
				l = append(l, x.tg, x.role)
				want = append(want, expected(t, ps.tgDB, l), expected(t, ps.tgPinned, l), expected(t, ps.tgRatio, l))
				planned += 2
			}
		default:
			t.Fatalf("%s: plan of unknown shape %T", s.Name(), p)
		}
	}
	ids := map[Scope]map[string]bool{}
	for _, q := range allPlanned(data) {
		if ids[q.Scope] == nil {
			ids[q.Scope] = map[string]bool{}
		}
		if q.ID == "" || ids[q.Scope][q.ID] {
			t.Fatalf("query %s has id %q: empty or used twice", q.Key(), q.ID)
		}
		ids[q.Scope][q.ID] = true
	}
	if len(allPlanned(data)) != planned {
		t.Fatalf("%d planned queries, %d feed a series", len(allPlanned(data)), planned)
	}
	sort.Strings(want)
	// The families' series without the ones made from the inventory alone
	// or from the fresh sources (the fallback marker is one per instance).
	got := series(t, func(ch chan<- prometheus.Metric) { exp.collectFamilies(snap, ch) })
	inventoryOnly := regexp.MustCompile(`^aurora_(cluster_serverless_(min|max)_capacity_acu|asg_(desired|in_service|min|max)_instances|cluster_info|instance_info|instance_fresh_signal_source)\{`)
	var fromCloudWatch []string
	for _, s := range got {
		if !inventoryOnly.MatchString(s) {
			fromCloudWatch = append(fromCloudWatch, s)
		}
	}
	if strings.Join(fromCloudWatch, "\n") != strings.Join(want, "\n") {
		t.Errorf("emitted CloudWatch series differ from the planned set:\ngot  %d %v\nwant %d %v", len(fromCloudWatch), fromCloudWatch, len(want), want)
	}
	if len(want) < 100 {
		t.Fatalf("only %d series planned: the fleet is not what the test means", len(want))
	}
}

func expected(t *testing.T, d *prometheus.Desc, labels []string) string {
	t.Helper()
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, 0, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return series(t, func(ch chan<- prometheus.Metric) { ch <- m })[0]
}

// TestPlannedSeriesFollowTheCurrentInventory: between two CloudWatch
// refreshes the series carry the role discovery says now (a failover) and
// an instance discovery no longer lists is gone, as when families read
// the inventory directly.
func TestPlannedSeriesFollowTheCurrentInventory(t *testing.T) {
	inv := fleetInventory(1, 3)
	exp, _ := refreshedExporter(t, inv)
	c := inv.Clusters[0]
	next := &Inventory{Clusters: []*ClusterInfo{{Scope: c.Scope, ID: c.ID, Serverless: true, MaxACU: 32, Instances: []*InstanceInfo{
		{ID: c.Instances[0].ID, Class: "db.serverless", Status: "available", Role: RoleReader},
		{ID: c.Instances[1].ID, Class: "db.serverless", Status: "available", Role: RoleWriter},
	}}}, Proxies: inv.Proxies, ASGs: inv.ASGs}
	exp.discovery.inv.Store(next)
	got := strings.Join(series(t, exp.Collect), "\n")
	for _, want := range []string{
		`aurora_instance_cpu_utilization_ratio{account=123456789012,db_cluster=c000,db_instance=c000-i00,region=us-east-1,role=reader}`,
		`aurora_instance_cpu_utilization_ratio{account=123456789012,db_cluster=c000,db_instance=c000-i01,region=us-east-1,role=writer}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(got, "db_instance=c000-i02") {
		t.Error("an instance discovery no longer lists is still served")
	}
}
