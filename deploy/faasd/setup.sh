#!/usr/bin/env bash
# Installs the Orders FaaS services into faasd on this machine (a Raspberry Pi or any Linux
# host with faasd): secrets, the compose services beside faasd's own, the functions' secrets,
# and our alerting rules and scrape jobs in faasd's own Prometheus.
# Run as root from a checkout of the repository:  sudo REGISTRY=... TAG=... deploy/faasd/setup.sh
# Safe to run again: existing secrets and data are kept.
set -euo pipefail

REGISTRY="${REGISTRY:-ghcr.io/orders-faas}"
TAG="${TAG:-0.1.0}"
FAASD_DIR="${FAASD_DIR:-/var/lib/faasd}"
GATEWAY="${OPENFAAS_URL:-http://127.0.0.1:8080}"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SECRETS="$FAASD_DIR/secrets/orders"
COMPOSE="$FAASD_DIR/docker-compose.yaml"
MARKER="# orders-faas services"
PROMETHEUS_CONFIG="$FAASD_DIR/prometheus.yml"
# Our scrape jobs and rule file path, appended to faasd's prometheus.yml after this marker.
SCRAPE_JOBS="$HERE/prometheus.orders.yml"
SCRAPE_MARKER="# orders-faas scrape jobs"
# Mounted into faasd's prometheus service, which otherwise sees only its prometheus.yml.
RULES_SOURCE="./orders/prometheus-rules"

# Secrets the functions mount (stack.yml `secrets:`), created with `faas-cli secret create`.
FUNCTION_SECRETS=(mongo-url redis-url saga-signing-key gateway-password notify-token)
# Files the compose services mount from $SECRETS (docker-compose.orders.yaml).
SERVICE_SECRETS=(redis-password mongo-root-password mongo-app-password mongo-keyfile
  mongo-url redis-url saga-signing-key gateway-password notify-token)

fail() { echo "setup: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (sudo)"
[ -f "$COMPOSE" ] || fail "faasd is not installed ($COMPOSE is missing)"
[ -f "$PROMETHEUS_CONFIG" ] || fail "faasd's Prometheus configuration $PROMETHEUS_CONFIG is missing"
command -v faas-cli >/dev/null || fail "faas-cli is missing (curl -sLS https://cli.openfaas.com | sh)"

# Hex characters only: safe inside URLs and valid in a MongoDB keyfile.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
keep_or_create() { [ -s "$SECRETS/$1" ] || random_hex "$2" >"$SECRETS/$1"; }
# The first backup is faasd's own file, before any change of ours.
backup() { [ -e "$1.before-orders-faas" ] || cp -p "$1" "$1.before-orders-faas"; }
# Rewrites a file in place from stdin, keeping its owner and mode.
replace_with() {
  local scratch
  scratch="$(mktemp)"
  cat >"$scratch"
  cat "$scratch" >"$1"
  rm -f "$scratch"
}

echo "• secrets in $SECRETS"
install -d -m 0700 "$SECRETS" "$FAASD_DIR/orders"
keep_or_create redis-password 16
keep_or_create mongo-root-password 16
keep_or_create mongo-app-password 16
keep_or_create saga-signing-key 32
keep_or_create notify-token 24
keep_or_create mongo-keyfile 378
printf 'mongodb://orders:%s@mongodb:27017/orders?replicaSet=rs0&authSource=orders' \
  "$(cat "$SECRETS/mongo-app-password")" >"$SECRETS/mongo-url"
printf 'redis://:%s@redis:6379/0' "$(cat "$SECRETS/redis-password")" >"$SECRETS/redis-url"
# The gateway's admin password: the connector lists functions with it, dead-letters checks it.
cp "$FAASD_DIR/secrets/basic-auth-password" "$SECRETS/gateway-password"
for name in "${SERVICE_SECRETS[@]}"; do
  [ -s "$SECRETS/$name" ] || fail "secret $name was not written"
done
# The folder is root-only; inside the containers the files are read by non-root users:
# 999 (redis, mongod; mongod wants its keyfile private) and 10001 (our images).
chmod 0444 "$SECRETS"/*
chown 999:999 "$SECRETS/redis-password" "$SECRETS/mongo-keyfile"
chmod 0400 "$SECRETS/redis-password" "$SECRETS/mongo-keyfile"

echo "• replica set script"
install -m 0644 "$REPO/charts/orders-faas/files/init-replica-set.js" "$FAASD_DIR/orders/"

if grep -qF "$MARKER" "$COMPOSE"; then
  echo "• $COMPOSE already has the Orders FaaS services (edit it to change images)"
else
  last_key="$(grep -E '^[A-Za-z]' "$COMPOSE" | tail -n 1)"
  [ "$last_key" = "services:" ] || fail "expected 'services:' to be the last section of $COMPOSE"
  echo "• adding the services to $COMPOSE (backup: $COMPOSE.before-orders-faas)"
  backup "$COMPOSE"
  sed -e '1,/^services:/d' \
    -e "s#ghcr.io/orders-faas/\([a-z-]*\):0.1.0#$REGISTRY/\1:$TAG#" \
    "$HERE/docker-compose.orders.yaml" >>"$COMPOSE"
fi

RULE_FILE="$(sed -n 's#^  - \(/etc/prometheus/.*\.rules\.yml\)$#\1#p' "$SCRAPE_JOBS")"
RULES_TARGET="$(dirname "$RULE_FILE")"
echo "• alerting and recording rules in $FAASD_DIR/${RULES_SOURCE#./}"
install -d -m 0755 "$FAASD_DIR/${RULES_SOURCE#./}"
install -m 0644 "$REPO/deploy/prometheus/$(basename "$RULE_FILE")" "$FAASD_DIR/${RULES_SOURCE#./}/"

if grep -qF "target: $RULES_TARGET" "$COMPOSE"; then
  echo "• faasd's prometheus service already mounts the rules"
else
  echo "• mounting the rules into faasd's prometheus service ($RULES_TARGET)"
  backup "$COMPOSE"
  # A bind mount added first to the volumes of the `prometheus:` service (its comments kept
  # with their items), indented like the list it joins.
  rewritten="$(awk -v source="$RULES_SOURCE" -v target="$RULES_TARGET" '
    /^[A-Za-z]/ || /^  [A-Za-z]/ { in_prometheus = ($0 ~ /^  prometheus:[[:space:]]*$/) }
    in_prometheus && /^ +volumes:[[:space:]]*$/ { pending = 1; print; next }
    pending && /^[[:space:]]*#/ { held = held $0 "\n"; next }
    pending && /^ *- / {
      indent = $0; sub(/-.*/, "", indent)
      print indent "- type: bind"
      print indent "  source: " source
      print indent "  target: " target
      print indent "  read_only: true"
      printf "%s", held
      pending = 0; added = 1
    }
    { print }
    END { exit !added }
  ' "$COMPOSE")" || fail "found no volumes: list in the prometheus service of $COMPOSE"
  replace_with "$COMPOSE" <<<"$rewritten"
fi

if grep -qF "$SCRAPE_MARKER" "$PROMETHEUS_CONFIG"; then
  echo "• $PROMETHEUS_CONFIG already has the Orders FaaS scrape jobs"
else
  last_key="$(grep -E '^[A-Za-z]' "$PROMETHEUS_CONFIG" | tail -n 1)"
  [ "$last_key" = "scrape_configs:" ] ||
    fail "expected 'scrape_configs:' to be the last section of $PROMETHEUS_CONFIG"
  echo "• adding rule_files and scrape jobs to $PROMETHEUS_CONFIG (backup beside it)"
  backup "$PROMETHEUS_CONFIG"
  # Read twice: first the indentation of the lists already there, then the rewrite. Our rule
  # file joins `rule_files:` (added before scrape_configs if missing); our jobs go last.
  rewritten="$(awk -v rule="$RULE_FILE" '
    /^[A-Za-z]/ { section = $0; sub(/:.*/, "", section) }
    NR == FNR {
      if ($0 ~ /^[[:space:]]*- / && !(section in indent)) {
        indent[section] = $0; sub(/-.*/, "", indent[section])
      }
      next
    }
    /^rule_files:/ {
      if ($0 !~ /^rule_files:[[:space:]]*(#.*)?$/) exit 2
      print
      print ("rule_files" in indent ? indent["rule_files"] : "  ") "- " rule
      added = 1
      next
    }
    /^scrape_configs:/ && !added { print "rule_files:"; print "  - " rule; added = 1 }
    { print }
  ' "$PROMETHEUS_CONFIG" "$PROMETHEUS_CONFIG")" ||
    fail "rule_files in $PROMETHEUS_CONFIG is not a block list: add $RULE_FILE by hand"
  # Our jobs are written two spaces in: shifted to the indentation of the jobs there (none: 2).
  job_indent="$(awk '/^scrape_configs:/ { on = 1; next } on && /^[[:space:]]*- / {
    sub(/-.*/, ""); print; found = 1; exit } END { if (!found) print "  " }' "$PROMETHEUS_CONFIG")"
  jobs="$(sed -e '1,/^scrape_configs:/d' -e "s/^  /$job_indent/" "$SCRAPE_JOBS")"
  replace_with "$PROMETHEUS_CONFIG" <<<"$rewritten
$jobs"
fi

echo "• function secrets on $GATEWAY"
faas-cli login --gateway "$GATEWAY" --username admin --password-stdin \
  <"$FAASD_DIR/secrets/basic-auth-password"
existing="$(faas-cli secret list --gateway "$GATEWAY")"
for name in "${FUNCTION_SECRETS[@]}"; do
  if grep -qx "$name" <<<"$existing"; then
    faas-cli secret update "$name" --from-file "$SECRETS/$name" --gateway "$GATEWAY"
  else
    faas-cli secret create "$name" --from-file "$SECRETS/$name" --gateway "$GATEWAY"
  fi
done

echo "• restarting faasd"
systemctl restart faasd
echo "done: deploy the functions with faas-cli (docs/DEPLOY.md), then open http://$(hostname):3000/"
