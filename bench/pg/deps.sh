#!/bin/bash
# Installs what `make bench-pg` needs when any is missing (idempotent): PostgreSQL 15, PowerDNS
# Authoritative with its gpgsql backend, dnsperf and the client's Python packages; keeps Debian's
# own pdns and postgresql services stopped (the benchmark runs its own servers).
set -euo pipefail
PACKAGES="postgresql-15 pdns-server pdns-backend-pgsql dnsperf python3-dnspython python3-jwt python3-cryptography"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/../install.sh" --no-start --stop pdns --stop postgresql $PACKAGES
