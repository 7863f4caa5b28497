#!/usr/bin/env bash
# The real-time stack: aurora_sim (as AWS), aurora_exporter, Prometheus with
# the rules bundle, Alertmanager with the shipped routing and aurora_scaler,
# as processes on loopback, playing a compressed field avalanche:
# CloudWatch's publication lag cut to 5 s, readers provisioned in 2 min, the
# avalanche 3 min after the start. Prints the URLs, then the fleet and the
# scaler's decisions every 15 s. Ctrl-C stops everything.
set -euo pipefail
BIN=${BIN:-bin}
TOOLS=${TOOLS:-.build/tools}
PROM=${PROMETHEUS_BIN:-$TOOLS/prometheus}
AM=${ALERTMANAGER_BIN:-$TOOLS/alertmanager}
SIM=127.0.0.1:4566 DNS=127.0.0.1:8053 EXP=127.0.0.1:9853 SCALER=127.0.0.1:9854 PROMADDR=127.0.0.1:9090 AMADDR=127.0.0.1:9093
ROOT=$(pwd)
DIR=$(mktemp -d /tmp/aurora-demo-stack.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
wait_ok() { for _ in $(seq 150); do curl -fs "$1" >/dev/null && return 0; sleep 0.2; done; echo "demo-stack: $1 did not answer" >&2; exit 1; }

sed -e 's/publication_delay: 60s/publication_delay: 5s/' -e 's/provisioning_delay: 8m/provisioning_delay: 2m/' \
	-e 's/event_start: 10m/event_start: 3m/' sim/scenarios/field-avalanche.yaml >"$DIR/scenario.yaml"
"$BIN/aurora_sim" --scenario "$DIR/scenario.yaml" --web.listen-address "$SIM" --dns.listen-address "$DNS" --log.level warn &
pids+=($!)
wait_ok "http://$SIM/_sim/clock"
export AWS_ENDPOINT_URL="http://$SIM" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

"$BIN/aurora_exporter" --config.file deploy/aurora_exporter/aurora_exporter.yml --web.listen-address "$EXP" --dns.server "$DNS" --log.level warn &
pids+=($!)
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/token"
zone=$(curl -fs "http://$SIM/_sim/truth" | python3 -c 'import json,sys; t=json.load(sys.stdin); print([z["id"] for a in t["accounts"] for z in a.get("hosted_zones",[]) if z["name"]=="app.internal."][0])')
sed -e "s#/run/aurora-surge/scaler-token#$DIR/token#" -e "s#http://prometheus:9090#http://$PROMADDR#" -e "s#aurora_sim:8053#$DNS#" \
	-e "s#zone_id: Z[A-Z0-9]*#zone_id: $zone#" -e '/^grafana:/,$d' deploy/aurora_scaler/aurora_scaler.yml >"$DIR/scaler.yml"
"$BIN/aurora_scaler" --config.file "$DIR/scaler.yml" --web.listen-address "$SCALER" --events.file "$DIR/events.json" --log.level warn &
pids+=($!)
sed -e "s#http://aurora_scaler:9854/webhook#http://$SCALER/webhook#" -e "s#/run/aurora-surge/scaler-token#$DIR/token#" \
	deploy/alertmanager/alertmanager.yml >"$DIR/alertmanager.yml"
"$AM" --config.file "$DIR/alertmanager.yml" --storage.path "$DIR/am" --web.listen-address "$AMADDR" --cluster.listen-address= --log.level=warn &
pids+=($!)
cat >"$DIR/prometheus.yml" <<YAML
global: {scrape_interval: 15s, evaluation_interval: 15s, external_labels: {monitor: aurora-surge}}
rule_files: [$ROOT/rules/*.rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: ["$AMADDR"]}]}]
scrape_configs:
  - {job_name: aurora_exporter, static_configs: [{targets: ["$EXP"]}]}
  - {job_name: aurora_scaler, static_configs: [{targets: ["$SCALER"]}]}
YAML
"$PROM" --config.file "$DIR/prometheus.yml" --storage.tsdb.path "$DIR/prom" --web.listen-address "$PROMADDR" --log.level=warn &
pids+=($!)
for u in "http://$EXP/-/ready" "http://$SCALER/-/healthy" "http://$AMADDR/-/ready" "http://$PROMADDR/-/ready"; do wait_ok "$u"; done
cat <<EOT
The stack is up (the avalanche starts 3 minutes after the start; Ctrl-C stops it):
  Prometheus     http://$PROMADDR/alerts
  Alertmanager   http://$AMADDR/
  aurora_scaler  http://$SCALER/api/v1/decisions
  aurora_exporter http://$EXP/metrics
  aurora_sim     http://$SIM/_sim/truth
EOT
while sleep 15; do
	curl -fs "http://$SIM/_sim/truth" | python3 -c '
import json,sys
t=json.load(sys.stdin)
for a in t["accounts"]:
  for r in a["regions"]:
    for c in r["clusters"] or []:
      rd=[i for i in c["instances"] if i["role"]=="reader"]
      print("%s users %5.0f readers %d available, %d creating, reader CPU %s, max ACU %s" % (t["now"][11:19], c["users"],
        sum(i["status"]=="available" for i in rd), sum(i["status"]=="creating" for i in rd),
        " ".join("%.0f%%" % i["cpu_percent"] for i in rd if i["status"]=="available"), c.get("max_acu")))
    for g in r.get("asgs") or []:
      print("         %s %d/%d in service, %.0f req/min per instance" % (g["name"], g["in_service"], g["desired"], g["requests_per_instance_per_minute"]))'
	curl -fs "http://$PROMADDR/api/v1/alerts" | python3 -c '
import json,sys
a=[x["labels"]["alertname"] for x in json.load(sys.stdin)["data"]["alerts"] if x["state"]=="firing"]
print("         firing:", " ".join(sorted(set(a))) or "-")'
	curl -fs "http://$SCALER/api/v1/decisions" | python3 -c '
import json,sys
for d in json.load(sys.stdin)["decisions"][:3]:
  print("         decision %s %s %s -> %s: %s" % (d["at"][11:19], d["action"], d["outcome"], d.get("result",""), d["reason"][:90]))'
done
