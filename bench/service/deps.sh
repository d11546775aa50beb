#!/bin/bash
# Installs bench-service's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="pebble lego unbound dnsutils openssl python3-dnspython python3-jwt python3-cryptography python3-pytest build-essential iproute2 util-linux"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/../install.sh" $PACKAGES
