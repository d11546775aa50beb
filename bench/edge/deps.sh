#!/bin/bash
# Installs bench-edge's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="knot knot-dnsutils nsd bind9 dnsperf valgrind python3-dnspython build-essential iproute2 util-linux openssl"
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
