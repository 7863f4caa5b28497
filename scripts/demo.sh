#!/usr/bin/env bash
# The demo: aurora_sim plays the field's avalanche on the wall clock and
# aurora_exporter watches it through the real AWS APIs and DNS; every 15 s
# the script prints what the exporter serves. Ctrl-C stops both.
set -euo pipefail
BIN=${BIN:-bin}
SCENARIO=${SCENARIO:-field-avalanche}
SIM=127.0.0.1:4566 DNS=127.0.0.1:8053 EXP=127.0.0.1:9853

"$BIN/aurora_sim" --scenario "$SCENARIO" --web.listen-address "$SIM" --dns.listen-address "$DNS" --summary.interval 60s &
sim_pid=$!
trap 'kill $sim_pid ${exp_pid:-} 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do curl -fs "http://$SIM/_sim/clock" >/dev/null && break; sleep 0.2; done

AWS_ENDPOINT_URL="http://$SIM" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	"$BIN/aurora_exporter" --config.file deploy/aurora_exporter/aurora_exporter.yml --web.listen-address "$EXP" --dns.server "$DNS" --log.level warn &
exp_pid=$!
for _ in $(seq 150); do curl -fs "http://$EXP/-/ready" >/dev/null && break; sleep 0.2; done
echo "aurora_exporter ready: http://$EXP/metrics (the avalanche starts 10 min after the start)"

while sleep 15; do
	echo "---- $(date -u +%H:%M:%S) aurora_exporter serves:"
	curl -fs "http://$EXP/metrics" | grep -E '^aurora_(role_cpu_utilization_ratio|instance_serverless_capacity_acu|cluster_serverless_max_capacity_acu|role_database_connections|proxy_pinned_connections_ratio|asg_(in_service_instances|requests_per_instance_per_second)|dns_endpoint_agrees|exporter_source_up)' \
		| sed -E 's/account="[0-9]+",?//; s/,?region="[a-z0-9-]+"//'
done
