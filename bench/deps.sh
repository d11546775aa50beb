#!/bin/bash
# Installs the benchmark's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="dnsperf knot knot-dnsutils knot-module-geoip gdnsd nsd valgrind python3-dnspython build-essential time util-linux bc bind9-utils"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/install.sh" $PACKAGES
