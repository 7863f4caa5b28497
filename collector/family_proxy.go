package collector

import "github.com/prometheus/client_golang/prometheus"

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

func (s *proxyScraper) Queries(inv *Inventory) []MetricQuery {
	var qs []MetricQuery
	for _, p := range inv.Proxies {
		qs = append(qs, s.proxyQuery(p, "ClientConnections"), s.proxyQuery(p, "DatabaseConnections"),
			s.proxyQuery(p, "DatabaseConnectionsCurrentlySessionPinned"))
		for _, tg := range p.TargetGroups {
			for _, role := range proxyTargetRoles {
				d := []Dim{{"TargetGroup", tg}, {"TargetRole", role}}
				qs = append(qs, s.proxyQuery(p, "DatabaseConnections", d...), s.proxyQuery(p, "DatabaseConnectionsCurrentlySessionPinned", d...))
			}
		}
	}
	return qs
}

func (s *proxyScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.Inventory == nil {
		return
	}
	for _, p := range snap.Inventory.Proxies {
		l := []string{p.Account, p.Region, p.Name, p.Cluster}
		snap.emitValue(ch, s.clients, s.proxyQuery(p, "ClientConnections"), 1, l...)
		db, okDB := snap.emitValue(ch, s.db, s.proxyQuery(p, "DatabaseConnections"), 1, l...)
		pinned, okP := snap.emitValue(ch, s.pinned, s.proxyQuery(p, "DatabaseConnectionsCurrentlySessionPinned"), 1, l...)
		if okDB && okP && db > 0 {
			snap.emit(ch, s.ratio, pinned/db, snap.Values[s.proxyQuery(p, "DatabaseConnections").Key()].Time, l...)
		}
		for _, tg := range p.TargetGroups {
			for _, role := range proxyTargetRoles {
				d := []Dim{{"TargetGroup", tg}, {"TargetRole", role}}
				tl := append(append([]string(nil), l...), tg, role)
				db, okDB := snap.emitValue(ch, s.tgDB, s.proxyQuery(p, "DatabaseConnections", d...), 1, tl...)
				pinned, okP := snap.emitValue(ch, s.tgPinned, s.proxyQuery(p, "DatabaseConnectionsCurrentlySessionPinned", d...), 1, tl...)
				if okDB && okP && db > 0 {
					snap.emit(ch, s.tgRatio, pinned/db, snap.Values[s.proxyQuery(p, "DatabaseConnections", d...).Key()].Time, tl...)
				}
			}
		}
	}
}
