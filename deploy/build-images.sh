#!/usr/bin/env bash
# Builds and pushes every image for amd64 and arm64 (Raspberry Pi): the functions and notify with
# faas-cli (stack.yml), the connector and the frontend with docker buildx.
# Needs docker with buildx, faas-cli >= 0.16 and a registry login:
#   REGISTRY=ghcr.io/you TAG=0.1.0 deploy/build-images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export REGISTRY="${REGISTRY:-ghcr.io/orders-faas}"
export TAG="${TAG:-0.1.0}"
PLATFORMS="${PLATFORMS:-linux/amd64,linux/arm64}"

faas-cli publish -f stack.yml --platforms "$PLATFORMS"
for image in connector frontend; do
  docker buildx build --platform "$PLATFORMS" -f "$image/Dockerfile" \
    -t "$REGISTRY/$image:$TAG" --push .
done
