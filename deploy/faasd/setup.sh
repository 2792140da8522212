#!/usr/bin/env bash
# Installs the Orders FaaS services into faasd on this machine (a Raspberry Pi or any Linux
# host with faasd): secrets, the compose services beside faasd's own, the functions' secrets.
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

# Secrets the functions mount (stack.yml `secrets:`), created with `faas-cli secret create`.
FUNCTION_SECRETS=(mongo-url redis-url saga-signing-key gateway-password notify-token)
# Files the compose services mount from $SECRETS (docker-compose.orders.yaml).
SERVICE_SECRETS=(redis-password mongo-root-password mongo-app-password mongo-keyfile
  mongo-url redis-url saga-signing-key gateway-password notify-token)

fail() { echo "setup: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (sudo)"
[ -f "$COMPOSE" ] || fail "faasd is not installed ($COMPOSE is missing)"
command -v faas-cli >/dev/null || fail "faas-cli is missing (curl -sLS https://cli.openfaas.com | sh)"

# Hex characters only: safe inside URLs and valid in a MongoDB keyfile.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
keep_or_create() { [ -s "$SECRETS/$1" ] || random_hex "$2" >"$SECRETS/$1"; }

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
  cp "$COMPOSE" "$COMPOSE.before-orders-faas"
  sed -e '1,/^services:/d' \
    -e "s#ghcr.io/orders-faas/\([a-z-]*\):0.1.0#$REGISTRY/\1:$TAG#" \
    "$HERE/docker-compose.orders.yaml" >>"$COMPOSE"
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
