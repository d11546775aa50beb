#!/bin/bash
# Installs bench-signal's Debian packages when any is missing (idempotent; quiet when all are there).
set -euo pipefail
PACKAGES="bird2 mosquitto mosquitto-clients dbus knot valgrind python3-paho-mqtt python3-dnspython build-essential iproute2 util-linux openssl"
# shellcheck disable=SC2086 # one package a word
exec bash "$(dirname "${BASH_SOURCE[0]}")/../install.sh" $PACKAGES
