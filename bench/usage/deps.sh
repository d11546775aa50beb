#!/bin/bash
# Installs bench-usage's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="valgrind python3-dnspython knot knot-module-dnstap fstrm-bin"
missing=$(for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
done | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
	echo "installing: $missing"
	SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
