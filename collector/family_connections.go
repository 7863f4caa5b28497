package collector

import "github.com/prometheus/client_golang/prometheus"

// connectionsScraper: DatabaseConnections, ReadLatency and WriteLatency
// per instance and per role. Role values are CloudWatch's Average over the
// role's instances, the statistic RDSReaderAverageDatabaseConnections
// and the field's early-warning thresholds (280 connections, 3 ms) use.
type connectionsScraper struct {
	instConns, roleConns *prometheus.Desc
	instRead, instWrite  *prometheus.Desc
	roleRead, roleWrite  *prometheus.Desc
}

func newConnectionsScraper() *connectionsScraper {
	return &connectionsScraper{
		instConns: desc("instance", "database_connections", "Database connections to the instance (CloudWatch DatabaseConnections).", instanceLabels...),
		roleConns: desc("role", "database_connections", "Average database connections per instance in the role (CloudWatch DatabaseConnections by DBClusterIdentifier and Role, Average).", roleLabels...),
		instRead:  desc("instance", "read_latency_seconds", "Average read I/O latency of the instance (CloudWatch ReadLatency).", instanceLabels...),
		instWrite: desc("instance", "write_latency_seconds", "Average write I/O latency of the instance (CloudWatch WriteLatency).", instanceLabels...),
		roleRead:  desc("role", "read_latency_seconds", "Average read latency over the role's instances (CloudWatch ReadLatency by DBClusterIdentifier and Role).", roleLabels...),
		roleWrite: desc("role", "write_latency_seconds", "Average write latency over the role's instances (CloudWatch WriteLatency by DBClusterIdentifier and Role).", roleLabels...),
	}
}

func (s *connectionsScraper) Name() string { return "connections" }
func (s *connectionsScraper) Help() string {
	return "Connections and read/write latency per instance and per role."
}

func (s *connectionsScraper) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.instConns, s.roleConns, s.instRead, s.instWrite, s.roleRead, s.roleWrite} {
		ch <- d
	}
}

var connectionMetrics = []string{"DatabaseConnections", "ReadLatency", "WriteLatency"}

func (s *connectionsScraper) Plan(inv *Inventory) FamilyPlan {
	inst := map[string]*prometheus.Desc{"DatabaseConnections": s.instConns, "ReadLatency": s.instRead, "WriteLatency": s.instWrite}
	role := map[string]*prometheus.Desc{"DatabaseConnections": s.roleConns, "ReadLatency": s.roleRead, "WriteLatency": s.roleWrite}
	p := &seriesPlan{}
	for _, c := range inv.Clusters {
		for _, m := range connectionMetrics {
			for _, r := range roles {
				p.add(role[m], 1, rdsQuery(s.Name(), c.Scope, m, "Average", clusterDim(c.ID), roleDim(r)), roleSeriesLabels(c, r))
			}
			for _, in := range c.Instances {
				if queried(in) {
					p.add(inst[m], 1, rdsQuery(s.Name(), c.Scope, m, "Average", instanceDim(in.ID)), instanceSeriesLabels(c, in))
				}
			}
		}
	}
	return p
}

func (s *connectionsScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	snap.emitPlanned(ch, s.Name())
}
