package collector

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// proxyScraper: RDS Proxy client, database and session-pinned connections
// and the pinning ratio (pinned / database connections: the proxy's
// health signal, since pinned connections cannot be multiplexed), per
// proxy and per target group.
type proxyScraper struct {
	clients, db, pinned, ratio *prometheus.Desc
	tgDB, tgPinned, tgRatio    *prometheus.Desc
}

var (
	proxyLabels       = []string{"account", "region", "proxy", "db_cluster"}
	proxyTargetLabels = []string{"account", "region", "proxy", "db_cluster", "target_group", "target_role"}
)

func newProxyScraper() *proxyScraper {
	return &proxyScraper{
		clients:  desc("proxy", "client_connections", "Client connections to the proxy (CloudWatch ClientConnections).", proxyLabels...),
		db:       desc("proxy", "database_connections", "Connections from the proxy to the database (CloudWatch DatabaseConnections).", proxyLabels...),
		pinned:   desc("proxy", "pinned_connections", "Database connections pinned to a client session (CloudWatch DatabaseConnectionsCurrentlySessionPinned).", proxyLabels...),
		ratio:    desc("proxy", "pinned_connections_ratio", "Pinned / database connections of the proxy.", proxyLabels...),
		tgDB:     desc("proxy_target_group", "database_connections", "Database connections of a proxy target group and role.", proxyTargetLabels...),
		tgPinned: desc("proxy_target_group", "pinned_connections", "Session-pinned database connections of a proxy target group and role.", proxyTargetLabels...),
		tgRatio:  desc("proxy_target_group", "pinned_connections_ratio", "Pinned / database connections of a proxy target group and role.", proxyTargetLabels...),
	}
}

func (s *proxyScraper) Name() string { return "proxy" }
func (s *proxyScraper) Help() string { return "RDS Proxy connections and pinning ratio." }

func (s *proxyScraper) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.clients, s.db, s.pinned, s.ratio, s.tgDB, s.tgPinned, s.tgRatio} {
		ch <- d
	}
}

// The proxy's own target role: targets behind the default endpoint are
// READ_WRITE (the writer), which is where the field saw pinning.
var proxyTargetRoles = []string{"READ_WRITE", "READ_ONLY"}

func (s *proxyScraper) proxyQuery(p *ProxyInfo, metric string, dims ...Dim) MetricQuery {
	return rdsQuery(s.Name(), p.Scope, metric, "Average", append([]Dim{{"ProxyName", p.Name}}, dims...)...)
}

// proxyPlan keeps, per proxy and per target group and role, the queries
// of its connections so the ratio is computed from the pair it planned.
type proxyPlan struct {
	queries []*PlannedQuery
	proxies []proxySeries
}

type proxySeries struct {
	proxy *ProxyInfo
	// tg and role are empty for the proxy's own series.
	tg, role            string
	clients, db, pinned *PlannedQuery
}

func (p *proxyPlan) Queries() []*PlannedQuery { return p.queries }

func (p *proxyPlan) plan(q MetricQuery) *PlannedQuery {
	pq := &PlannedQuery{MetricQuery: q}
	p.queries = append(p.queries, pq)
	return pq
}

func (s *proxyScraper) Plan(inv *Inventory) FamilyPlan {
	plan := &proxyPlan{}
	for _, p := range inv.Proxies {
		plan.proxies = append(plan.proxies, proxySeries{proxy: p,
			clients: plan.plan(s.proxyQuery(p, "ClientConnections")),
			db:      plan.plan(s.proxyQuery(p, "DatabaseConnections")),
			pinned:  plan.plan(s.proxyQuery(p, "DatabaseConnectionsCurrentlySessionPinned"))})
		for _, tg := range p.TargetGroups {
			for _, role := range proxyTargetRoles {
				d := []Dim{{"TargetGroup", tg}, {"TargetRole", role}}
				plan.proxies = append(plan.proxies, proxySeries{proxy: p, tg: tg, role: role,
					db:     plan.plan(s.proxyQuery(p, "DatabaseConnections", d...)),
					pinned: plan.plan(s.proxyQuery(p, "DatabaseConnectionsCurrentlySessionPinned", d...))})
			}
		}
	}
	return plan
}

func (s *proxyScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	plan, ok := snap.plan(s.Name()).(*proxyPlan)
	if !ok {
		return
	}
	ix := snap.inventory()
	for _, ps := range plan.proxies {
		// Labelled as the proxy is now (its cluster may have been
		// re-pointed), while it still has the target group.
		p, ok := ix.proxies[scopedID{ps.proxy.Scope, ps.proxy.Name}]
		if !ok {
			continue
		}
		l := []string{p.Account, p.Region, p.Name, p.Cluster}
		if ps.tg == "" {
			snap.emitValue(ch, s.clients, ps.clients, 1, l...)
			db, okDB := snap.emitValue(ch, s.db, ps.db, 1, l...)
			pinned, okP := snap.emitValue(ch, s.pinned, ps.pinned, 1, l...)
			if okDB && okP && db > 0 {
				snap.emit(ch, s.ratio, pinned/db, ps.db.Point.Time, l...)
			}
			continue
		}
		if !slices.Contains(p.TargetGroups, ps.tg) {
			continue
		}
		tl := append(l, ps.tg, ps.role)
		db, okDB := snap.emitValue(ch, s.tgDB, ps.db, 1, tl...)
		pinned, okP := snap.emitValue(ch, s.tgPinned, ps.pinned, 1, tl...)
		if okDB && okP && db > 0 {
			snap.emit(ch, s.tgRatio, pinned/db, ps.db.Point.Time, tl...)
		}
	}
}
