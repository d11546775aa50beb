#!/bin/sh
# A self-signed development certificate for DNS over TLS (`make run`): DIR/cert.pem and DIR/key.pem,
# for localhost and 127.0.0.1 (EC P-256, a year), made when missing or ending within a day.
#     devcert.sh DIR
set -eu
dir=${1:?usage: devcert.sh DIR}
mkdir -p "$dir"
if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] &&
	openssl x509 -checkend 86400 -noout -in "$dir/cert.pem" >/dev/null 2>&1; then
	exit 0
fi
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 644 "$dir/cert.pem"
