#!/usr/bin/env bash
# Installs what building and testing heartbeatd needs on Debian/Ubuntu, and says what it installs.
# Usage: scripts/install-deps.sh [build|test]   (test adds the tools the test suite drives)
# libssl-dev: OpenSSL's libcrypto, the one crypto library (DeviceKeys; docs/design.md).
# libhiredis-dev: the Redis client the cluster link uses (docs/design.md, "Cluster").
set -euo pipefail
want=(libsystemd-dev libssl-dev libhiredis-dev pkg-config)
if [ "${1:-build}" = test ]; then
  # ss (iproute2) counts socket states; systemd-socket-activate (systemd) for socket activation;
  # systemd-journald + journalctl for the journald test; python3 for the Prometheus parser test;
  # gcc and make build the C client that clients/test/run.py drives; redis-server for the cluster tests;
  # openssl (the command) makes the TLS tests' certificates and plays s_client/s_server.
  want+=(iproute2 systemd python3 python3-prometheus-client gcc make redis-server openssl)
fi
missing=()
for package in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing missing packages with apt-get: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
