package dashboards

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/aurora-surge/aurora-surge/rules"
)

// pct formats a 0-1 ratio as a percentage ("30 %").
func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', -1, 64) + " %" }

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// fleet is the avalanche view: each panel carries the rules' thresholds as
// dashed lines, so a reader crossing 70 % is seen against the step it
// triggers.
func fleet(th *rules.Thresholds) board {
	scope := `account=~"$account", region=~"$region"`
	c := scope + `, db_cluster=~"$db_cluster"`
	a := scope + `, asg=~"$asg"`
	r, s, as := th.Readers, th.Serverless, th.ASG

	// Requests per instance: each tier's target, then the burst steps.
	var reqLines []line
	var tiers []string
	for _, t := range as.Tiers {
		reqLines = append(reqLines, line{t.RequestsPerInstancePerMinute, colorTarget})
		tiers = append(tiers, fmt.Sprintf("%s (%s)", num(t.RequestsPerInstancePerMinute), t.Name))
	}
	reqLines = append(reqLines, line{as.DefaultRequestsPerInstancePerMinute, colorTarget},
		line{as.Step2RequestsPerMinute, colorStep}, line{as.Step3RequestsPerMinute, colorCritical})
	tiers = append(tiers, num(as.DefaultRequestsPerInstancePerMinute)+" (other groups)")

	return board{
		uid: "aurora-surge-fleet", title: "Aurora Surge: fleet",
		description: "The Aurora fleet, its proxies, Auto Scaling groups and DNS endpoints against the thresholds of the alerting rules.",
		rows: []row{
			{"Readers", []panel{
				{title: "CPU by role", unit: "percent",
					description: fmt.Sprintf("Average CPU per role (CloudWatch by DBClusterIdentifier and Role). Reader layers: %s target tracking, %s adds 1 reader, %s adds 2.", pct(r.TargetCPU), pct(r.Step1CPU), pct(r.Step2CPU)),
					series:      []series{{`100 * aurora_role_cpu_utilization_ratio{` + c + `}`, "{{db_cluster}} {{role}}"}},
					lines:       []line{{100 * r.TargetCPU, colorTarget}, {100 * r.Step1CPU, colorStep}, {100 * r.Step2CPU, colorCritical}}},
				{title: "Readers by status", unit: "short",
					description: "Reader instances by RDS status: a creating reader joins the reader endpoint only when available (~8 min).",
					series:      []series{{`count by (db_cluster, status) (aurora_instance_info{role="reader", ` + c + `})`, "{{db_cluster}} {{status}}"}}},
				{title: "Connections per reader", unit: "short",
					description: fmt.Sprintf("Average database connections per reader; early warning at %s.", num(r.Connections)),
					series:      []series{{`db_cluster:aurora_reader_database_connections:avg{` + c + `}`, "{{db_cluster}}"}},
					lines:       []line{{r.Connections, colorStep}}},
				{title: "Read latency", unit: "s",
					description: fmt.Sprintf("Average reader read latency; early warning at %s s.", num(r.ReadLatencySeconds)),
					series:      []series{{`db_cluster:aurora_reader_read_latency_seconds:avg{` + c + `}`, "{{db_cluster}}"}},
					lines:       []line{{r.ReadLatencySeconds, colorStep}}},
			}},
			{"Serverless v2 capacity", []panel{
				{title: "ACU per instance and configured max", unit: "short",
					description: "Current ACU per instance against the cluster's max ACU: headroom is what carries the load while readers provision.",
					series: []series{
						{`aurora_instance_serverless_capacity_acu{` + c + `}`, "{{db_instance}} ({{role}})"},
						{`aurora_cluster_serverless_max_capacity_acu{` + c + `}`, "{{db_cluster}} max"},
					}},
				{title: "ACU share of max", unit: "percentunit",
					description: fmt.Sprintf("Busiest instance's ACU as a share of the max; raise_max_acu fires at %s.", pct(s.NearMaxRatio)),
					series:      []series{{`db_cluster:aurora_serverless_capacity_acu:max_ratio_of_max{` + c + `}`, "{{db_cluster}}"}},
					lines:       []line{{s.NearMaxRatio, colorStep}, {s.AtMaxRatio, colorCritical}}},
			}},
			{"RDS Proxy", []panel{
				{title: "Pinned connection ratio", unit: "percentunit",
					description: fmt.Sprintf("Pinned / database connections: session state pins connections and defeats multiplexing; the alert fires above %s while rising.", pct(th.Proxy.PinnedRatio)),
					series:      []series{{`aurora_proxy_pinned_connections_ratio{` + c + `}`, "{{proxy}}"}},
					lines:       []line{{th.Proxy.PinnedRatio, colorStep}}},
				{title: "Proxy connections", unit: "short",
					description: "Client connections against database connections and the pinned ones.",
					series: []series{
						{`aurora_proxy_client_connections{` + c + `}`, "{{proxy}} clients"},
						{`aurora_proxy_database_connections{` + c + `}`, "{{proxy}} database"},
						{`aurora_proxy_pinned_connections{` + c + `}`, "{{proxy}} pinned"},
					}},
			}},
			{"Auto Scaling groups", []panel{
				{title: "Requests per instance per minute", unit: "short",
					description: fmt.Sprintf("ALB RequestCountPerTarget per instance: targets %s, steps at %s (+2) and %s (+3).",
						strings.Join(tiers, ", "), num(as.Step2RequestsPerMinute), num(as.Step3RequestsPerMinute)),
					series: []series{{`asg:aurora_asg_requests_per_instance_per_minute:sum{` + a + `}`, "{{asg}}"}},
					lines:  reqLines},
				{title: "Instances", unit: "short",
					description: "In service against desired: the gap is instances still launching.",
					series: []series{
						{`aurora_asg_in_service_instances{` + a + `}`, "{{asg}} in service"},
						{`aurora_asg_desired_instances{` + a + `}`, "{{asg}} desired"},
					}},
			}},
			{"DNS endpoints", []panel{
				{title: "DNS agrees with the API", unit: "short",
					description: "1 when the endpoint resolves to what the RDS API says; a failover shows a 10-15 s dip on the writer endpoint, a removed reader one on the reader endpoint.",
					series:      []series{{`aurora_dns_endpoint_agrees{` + c + `}`, "{{db_cluster}} {{endpoint_type}}"}}},
				{title: "Unexpected instances in answers", unit: "short",
					description: "Instances DNS answered with that the API does not serve there: the old writer during a failover, removed readers in round robin.",
					series: []series{
						{`aurora_dns_endpoint_unexpected_instances{` + c + `}`, "{{db_cluster}} {{endpoint_type}}"},
						{`aurora_dns_endpoint_disagreement_seconds{` + c + `} > 0`, "{{db_cluster}} {{endpoint_type}} seconds disagreeing"},
					}},
			}},
		},
		vars: []cog.Builder[dashboard.VariableModel]{
			queryVar("account", "Account", `label_values(aurora_cluster_info, account)`),
			queryVar("region", "Region", `label_values(aurora_cluster_info{account=~"$account"}, region)`),
			queryVar("db_cluster", "DB cluster", `label_values(aurora_cluster_info{`+scope+`}, db_cluster)`),
			queryVar("asg", "Auto Scaling group", `label_values(aurora_asg_desired_instances{`+scope+`}, asg)`),
		},
	}
}

// health is the monitoring itself: whether the numbers on the fleet board
// are fresh, and what the scaler did with them.
func health() board {
	return board{
		uid: "aurora-surge-health", title: "Aurora Surge: exporter and scaler",
		description: "Freshness of aurora_exporter's data and what aurora_scaler decided and did.",
		rows: []row{
			{"aurora_exporter", []panel{
				{title: "Source up", unit: "bool_yes_no", kind: single,
					description: "Yes when the source's last refresh succeeded; No means its last good data is served with a growing age.",
					series:      []series{{`min by (source) (aurora_exporter_source_up)`, "{{source}}"}},
					base:        colorCritical,
					lines:       []line{{1, colorBase}}},
				{title: "Data age", unit: "s",
					description: "Age of the data served per source; series are dropped past stale_after.",
					series: []series{
						{`aurora_exporter_source_data_age_seconds`, "{{source}}"},
						{`aurora_exporter_cloudwatch_datapoint_age_seconds`, "CloudWatch {{family}} datapoint"},
					}},
				{title: "AWS calls", unit: "reqps",
					description: "AWS requests by service, operation and outcome; throttles are the first sign of an API limit.",
					series:      []series{{`sum by (service, operation, outcome) (rate(aurora_exporter_aws_calls_total[5m]))`, "{{service}} {{operation}} {{outcome}}"}}},
				{title: "GetMetricData calls per refresh", unit: "short",
					description: "Calls the last CloudWatch refresh made against the ceil(queries/500) minimum.",
					series: []series{
						{`aurora_exporter_getmetricdata_calls_last_refresh`, "calls"},
						{`aurora_exporter_getmetricdata_calls_minimum`, "minimum"},
					}},
			}},
			{"aurora_scaler", []panel{
				{title: "Decisions", unit: "short",
					description: "Decisions per minute by action and outcome (act, dry_run, refused, noop).",
					series:      []series{{`sum by (action, outcome) (increase(aurora_scaler_decisions_total[1m]))`, "{{action}} {{outcome}}"}}},
				{title: "Actions and procedures", unit: "short",
					description: "Executed actions and finished procedures by outcome.",
					series: []series{
						{`sum by (action, outcome) (increase(aurora_scaler_actions_total[5m]))`, "{{action}} {{outcome}}"},
						{`sum by (procedure, outcome) (increase(aurora_scaler_procedures_total[5m]))`, "{{procedure}} {{outcome}}"},
					}},
				{title: "Guardrails", unit: "short",
					description: "Kill switch, dry run, open breakers and running procedures.",
					series: []series{
						{`aurora_scaler_paused`, "paused"}, {`aurora_scaler_dry_run`, "dry run"},
						{`aurora_scaler_breaker_open == 1`, "breaker {{target}}"},
						{`aurora_scaler_procedure_running == 1`, "{{procedure}} on {{db_cluster}}"},
					}},
				{title: "Webhooks", unit: "short",
					description: "Notifications received per minute by outcome.",
					series:      []series{{`sum by (outcome) (increase(aurora_scaler_webhooks_total[1m]))`, "{{outcome}}"}}},
			}},
		},
	}
}
