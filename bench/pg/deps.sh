#!/bin/bash
# Installs what `make bench-pg` needs when any is missing (idempotent): PostgreSQL 15, PowerDNS
# Authoritative with its gpgsql backend, dnsperf and the client's Python packages; keeps Debian's
# own pdns and postgresql services stopped (the benchmark runs its own servers).
set -euo pipefail
PACKAGES="postgresql-15 pdns-server pdns-backend-pgsql dnsperf python3-dnspython python3-jwt python3-cryptography"
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
# Debian's own instances must not run beside the benchmark's.
for svc in pdns postgresql; do
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$SUDO systemctl stop "$svc.service" 2>/dev/null || true
		$SUDO systemctl disable "$svc.service" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$svc" ]; then
		$SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
	fi
done
exit 0
