#!/bin/bash
# Installs PowerDNS Authoritative (gsqlite3 backend) and the client's Debian packages for
# `make bench-api`, when any is missing (idempotent), and keeps Debian's pdns service stopped:
# the benchmark runs its own pdns_server in the foreground with a generated configuration.
set -euo pipefail
PACKAGES="pdns-server pdns-backend-sqlite3 python3-dnspython python3-jwt python3-cryptography strace"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/../install.sh" --no-start --stop pdns $PACKAGES
