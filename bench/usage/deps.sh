#!/bin/bash
# Installs bench-usage's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="valgrind python3-dnspython knot knot-module-dnstap fstrm-bin"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/../install.sh" $PACKAGES
