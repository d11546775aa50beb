#!/bin/bash
# Installs bench-edge's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="knot knot-dnsutils nsd bind9 dnsperf valgrind python3-dnspython build-essential iproute2 util-linux openssl"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/../install.sh" $PACKAGES
