#!/bin/bash
# What every bench's deps.sh does: installs the Debian packages named that are missing (idempotent;
# quiet when all are there). Options before the packages:
#   --no-start    no service starts from a package's postinst while installing (policy-rc.d 101)
#   --stop SVC    Debian's own SVC is stopped and disabled (the bench runs its own), each time
# Usage: bench/install.sh [--no-start] [--stop SVC]... PACKAGE...
set -euo pipefail
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
no_start=0
stop=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-start) no_start=1 ;;
	--stop) stop+=("$2"); shift ;;
	*) break ;;
	esac
	shift
done
missing=$(for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
done | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
	echo "installing: $missing"
	added_policy=0
	if [ $no_start = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod +x /usr/sbin/policy-rc.d
		added_policy=1
	fi
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing ||
		{ [ $added_policy = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d; exit 1; }
	[ $added_policy = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
for svc in "${stop[@]}"; do
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$SUDO systemctl stop "$svc.service" 2>/dev/null || true
		$SUDO systemctl disable "$svc.service" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$svc" ]; then
		$SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
	fi
done
exit 0
