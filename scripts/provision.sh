#!/usr/bin/env bash
# Makes sure the real test servers `npm test` starts are installed (DESIGN §7):
#   influxd (Debian package influxdb), librdkafka's mock cluster headers (librdkafka-dev, with gcc),
#   and chromium for the notebook browser tests.
# As root it installs what is missing with apt-get; otherwise it stops with one line saying what to install.
set -euo pipefail

missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
[ -f /usr/include/librdkafka/rdkafka_mock.h ] || missing+=(librdkafka-dev)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose) # validates deploy/compose.yaml offline (test/deploy)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd) # systemd-analyze verify of deploy/systemd (test/deploy)
command -v goaccess >/dev/null 2>&1 || missing+=(goaccess)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "npm test needs the Debian packages ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' and try again." >&2
  exit 1
fi

echo "Installing test servers: ${missing[*]} (apt-get)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# --no-install-recommends keeps chromium's install small. A policy-rc.d that answers 101 stops Debian from
# starting influxd as a system service (the tests run their own); one the machine already has is left alone.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Installed: ${missing[*]}" >&2
