#!/bin/bash
# Installs PowerDNS Authoritative (gsqlite3 backend) and the client's Debian packages for
# `make bench-api`, when any is missing (idempotent), and keeps Debian's pdns service stopped:
# the benchmark runs its own pdns_server in the foreground with a generated configuration.
set -euo pipefail
PACKAGES="pdns-server pdns-backend-sqlite3 python3-dnspython python3-jwt python3-cryptography strace"
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
missing=$(for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
done | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
	echo "installing: $missing"
	# no service may start from the package's postinst (policy-rc.d 101 = "action forbidden")
	added_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod +x /usr/sbin/policy-rc.d
		added_policy=1
	fi
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing || { [ $added_policy = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d; exit 1; }
	[ $added_policy = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
# Debian's own instance (port 53, /var/lib/powerdns) must not run beside the benchmark's.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl stop pdns.service 2>/dev/null || true
	$SUDO systemctl disable pdns.service >/dev/null 2>&1 || true
elif [ -x /etc/init.d/pdns ]; then
	$SUDO /etc/init.d/pdns stop >/dev/null 2>&1 || true
fi
exit 0
