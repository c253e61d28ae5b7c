#!/bin/sh
# Formats the storage with the SCRAM users (once: --ignore-formatted), then runs the broker.
# Passwords come from the environment (docker-compose.yml); development placeholders by default.
set -eu
props=/etc/bridge/kafka/server.properties
scram() { printf -- '--add-scram=SCRAM-SHA-512=[name=%s,password=%s]' "$1" "$2"; }
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id="$CLUSTER_ID" -c "$props" \
  "$(scram admin "$KAFKA_ADMIN_PASSWORD")" \
  "$(scram bridge-matching "$BRIDGE_MATCHING_KAFKA_PASSWORD")" \
  "$(scram bridge-sessions "$BRIDGE_SESSIONS_KAFKA_PASSWORD")" \
  "$(scram bridge-notifications "$BRIDGE_NOTIFICATIONS_KAFKA_PASSWORD")" \
  "$(scram bridge-reporting "$BRIDGE_REPORTING_KAFKA_PASSWORD")" \
  "$(scram bridge-dlq "$BRIDGE_DLQ_KAFKA_PASSWORD")"
exec /opt/kafka/bin/kafka-server-start.sh "$props"
