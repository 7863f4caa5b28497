package collector

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// dnsScraper: DNS endpoint membership against the RDS API. Catches a
// failover's DNS window (writer endpoint still on the old writer) and a
// removed reader still answering in round robin.
type dnsScraper struct {
	target, agrees, since, unexpected, missing *prometheus.Desc
}

var endpointLabels = []string{"account", "region", "db_cluster", "endpoint_type", "endpoint"}

func newDNSScraper() *dnsScraper {
	return &dnsScraper{
		target:     desc("dns", "endpoint_target", "1 for each instance the endpoint resolved to in the last DNS refresh.", append(append([]string(nil), endpointLabels...), "db_instance")...),
		agrees:     desc("dns", "endpoint_agrees", "1 when DNS answers exactly what the RDS API says (writer endpoint -> the writer; reader endpoint -> exactly the available readers; records -> only available instances), else 0.", endpointLabels...),
		since:      desc("dns", "endpoint_disagreement_seconds", "How long DNS has disagreed with the RDS API for this endpoint (0 when agreeing).", endpointLabels...),
		unexpected: desc("dns", "endpoint_unexpected_instances", "Instances DNS answered with that the API does not list as serving the endpoint (removed readers, the old writer).", endpointLabels...),
		missing:    desc("dns", "endpoint_missing_instances", "Instances the API lists for the endpoint that DNS never answered with.", endpointLabels...),
	}
}

func (s *dnsScraper) Name() string               { return "dns" }
func (s *dnsScraper) Help() string               { return "DNS endpoint membership against the RDS API." }
func (s *dnsScraper) Plan(*Inventory) FamilyPlan { return nil }
func (s *dnsScraper) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.target, s.agrees, s.since, s.unexpected, s.missing} {
		ch <- d
	}
}

func (s *dnsScraper) Collect(snap *Snapshot, ch chan<- prometheus.Metric) {
	if snap.DNS == nil {
		return
	}
	for _, e := range snap.DNS.Endpoints {
		cluster := e.Cluster
		if cluster == "" {
			continue // a record that leads to no known cluster has no identity to report
		}
		l := []string{e.Scope.Account, e.Scope.Region, cluster, e.Kind, strings.TrimSuffix(e.Name, ".")}
		for _, id := range e.Answered {
			snap.emitInventory(ch, s.target, 1, append(append([]string(nil), l...), id)...)
		}
		agrees, since := 0.0, 0.0
		if e.Agrees {
			agrees = 1
		} else if !e.DisagreeingSince.IsZero() {
			since = snap.Now.Sub(e.DisagreeingSince).Seconds()
		}
		snap.emitInventory(ch, s.agrees, agrees, l...)
		snap.emitInventory(ch, s.since, since, l...)
		snap.emitInventory(ch, s.unexpected, float64(len(e.Unexpected)), l...)
		snap.emitInventory(ch, s.missing, float64(len(e.Missing)), l...)
	}
}
