package dashboards

import "github.com/grafana-tools/sdk"

// Fleet is the avalanche view: each panel carries the field's thresholds
// as flat lines, so a reader crossing 70 % is seen against the step it
// triggers.
func Fleet() *sdk.Board {
	c := `db_cluster=~"$db_cluster"`
	a := `asg=~"$asg"`
	return build("aurora-surge-fleet", "Aurora Surge: fleet", []string{"aurora-surge"}, []row{
		{"Readers (field notes 3)", []panel{
			{"CPU by role", "percent", "Average CPU per role (CloudWatch by DBClusterIdentifier and Role). Reader layers: 30 % target tracking, 70 % adds 1 reader, 85 % adds 2.", []series{
				{`100 * aurora_role_cpu_utilization_ratio{` + c + `}`, "{{db_cluster}} {{role}}"},
				{`vector(30)`, "target 30 %"}, {`vector(70)`, "step +1 at 70 %"}, {`vector(85)`, "step +2 at 85 %"},
			}},
			{"Readers by status", "short", "Reader instances by RDS status: a creating reader joins the reader endpoint only when available (~8 min).", []series{
				{`count by (db_cluster, status) (aurora_instance_info{role="reader", ` + c + `})`, "{{db_cluster}} {{status}}"},
			}},
			{"Connections per reader", "short", "Average database connections per reader; early warning at 280 (70 % of the 391 peak).", []series{
				{`db_cluster:aurora_reader_database_connections:avg{` + c + `}`, "{{db_cluster}}"},
				{`vector(280)`, "early warning 280"},
			}},
			{"Read latency", "s", "Average reader read latency; early warning at 3 ms (75 % of the 3.8 ms peak).", []series{
				{`db_cluster:aurora_reader_read_latency_seconds:avg{` + c + `}`, "{{db_cluster}}"},
				{`vector(0.003)`, "early warning 3 ms"},
			}},
		}},
		{"Serverless v2 capacity (field notes 2)", []panel{
			{"ACU per instance and configured max", "short", "Current ACU per instance against the cluster's max ACU: headroom is what carries the load while readers provision.", []series{
				{`aurora_instance_serverless_capacity_acu{` + c + `}`, "{{db_instance}} ({{role}})"},
				{`aurora_cluster_serverless_max_capacity_acu{` + c + `}`, "{{db_cluster}} max"},
			}},
			{"ACU share of max", "percentunit", "Busiest instance's ACU as a share of the max; raise_max_acu fires at 90 %.", []series{
				{`db_cluster:aurora_serverless_capacity_acu:max_ratio_of_max{` + c + `}`, "{{db_cluster}}"},
				{`vector(0.9)`, "raise max ACU at 90 %"},
			}},
		}},
		{"RDS Proxy (field notes 5)", []panel{
			{"Pinned connection ratio", "percentunit", "Pinned / database connections: session state pins connections and defeats multiplexing.", []series{
				{`aurora_proxy_pinned_connections_ratio{` + c + `}`, "{{proxy}}"},
			}},
			{"Proxy connections", "short", "Client connections against database connections and the pinned ones.", []series{
				{`aurora_proxy_client_connections{` + c + `}`, "{{proxy}} clients"},
				{`aurora_proxy_database_connections{` + c + `}`, "{{proxy}} database"},
				{`aurora_proxy_pinned_connections{` + c + `}`, "{{proxy}} pinned"},
			}},
		}},
		{"Auto Scaling groups (field notes 4)", []panel{
			{"Requests per instance per minute", "short", "ALB RequestCountPerTarget per instance: targets 1,000 (web) and 800 (API), steps at 1,800 (+2) and 2,200 (+3).", []series{
				{`asg:aurora_asg_requests_per_instance_per_minute:sum{` + a + `}`, "{{asg}}"},
				{`vector(1000)`, "web target"}, {`vector(800)`, "API target"}, {`vector(1800)`, "step +2"}, {`vector(2200)`, "step +3"},
			}},
			{"Instances", "short", "In service against desired: the gap is instances still launching.", []series{
				{`aurora_asg_in_service_instances{` + a + `}`, "{{asg}} in service"},
				{`aurora_asg_desired_instances{` + a + `}`, "{{asg}} desired"},
			}},
		}},
		{"DNS endpoints (field notes 6)", []panel{
			{"DNS agrees with the API", "short", "1 when the endpoint resolves to what the RDS API says; a failover shows a 10-15 s dip on the writer endpoint, a removed reader one on the reader endpoint.", []series{
				{`aurora_dns_endpoint_agrees{` + c + `}`, "{{db_cluster}} {{endpoint_type}}"},
			}},
			{"Unexpected instances in answers", "short", "Instances DNS answered with that the API does not serve there: the old writer during a failover, removed readers in round robin.", []series{
				{`aurora_dns_endpoint_unexpected_instances{` + c + `}`, "{{db_cluster}} {{endpoint_type}}"},
				{`aurora_dns_endpoint_disagreement_seconds{` + c + `} > 0`, "{{db_cluster}} {{endpoint_type}} seconds disagreeing"},
			}},
		}},
	}, []sdk.TemplateVar{
		queryVar("db_cluster", "DB cluster", "label_values(aurora_cluster_info, db_cluster)"),
		queryVar("asg", "Auto Scaling group", "label_values(aurora_asg_desired_instances, asg)"),
	})
}

// Health is the monitoring itself: whether the numbers on Fleet are
// fresh, and what the scaler did with them.
func Health() *sdk.Board {
	return build("aurora-surge-health", "Aurora Surge: exporter and scaler", []string{"aurora-surge"}, []row{
		{"aurora_exporter", []panel{
			{"Source up", "short", "1 when the source's last refresh succeeded; 0 means its last good data is served with a growing age.", []series{
				{`aurora_exporter_source_up`, "{{source}}"},
			}},
			{"Data age", "s", "Age of the data served per source; series are dropped past stale_after.", []series{
				{`aurora_exporter_source_data_age_seconds`, "{{source}}"},
				{`aurora_exporter_cloudwatch_datapoint_age_seconds`, "CloudWatch {{family}} datapoint"},
			}},
			{"AWS calls", "reqps", "AWS requests by service, operation and outcome; throttles are the first sign of an API limit.", []series{
				{`sum by (service, operation, outcome) (rate(aurora_exporter_aws_calls_total[5m]))`, "{{service}} {{operation}} {{outcome}}"},
			}},
			{"GetMetricData calls per refresh", "short", "Calls the last CloudWatch refresh made against the ceil(queries/500) minimum.", []series{
				{`aurora_exporter_getmetricdata_calls_last_refresh`, "calls"},
				{`aurora_exporter_getmetricdata_calls_minimum`, "minimum"},
			}},
		}},
		{"aurora_scaler", []panel{
			{"Decisions", "short", "Decisions per minute by action and outcome (act, dry_run, refused, noop).", []series{
				{`sum by (action, outcome) (increase(aurora_scaler_decisions_total[1m]))`, "{{action}} {{outcome}}"},
			}},
			{"Actions and procedures", "short", "Executed actions and finished procedures by outcome.", []series{
				{`sum by (action, outcome) (increase(aurora_scaler_actions_total[5m]))`, "{{action}} {{outcome}}"},
				{`sum by (procedure, outcome) (increase(aurora_scaler_procedures_total[5m]))`, "{{procedure}} {{outcome}}"},
			}},
			{"Guardrails", "short", "Kill switch, dry run, open breakers and running procedures.", []series{
				{`aurora_scaler_paused`, "paused"}, {`aurora_scaler_dry_run`, "dry run"},
				{`aurora_scaler_breaker_open == 1`, "breaker {{target}}"},
				{`aurora_scaler_procedure_running == 1`, "{{procedure}} on {{db_cluster}}"},
			}},
			{"Webhooks", "short", "Notifications received per minute by outcome.", []series{
				{`sum by (outcome) (increase(aurora_scaler_webhooks_total[1m]))`, "{{outcome}}"},
			}},
		}},
	}, nil)
}
