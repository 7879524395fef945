#!/usr/bin/env bash
# Debian's PostgreSQL server programs for the `services` tests, which start their own throwaway
# cluster on a free loopback port (mlops_assets_tests/services/servers.py). Idempotent and quiet:
# does nothing when the programs are there.
#   scripts/install-services.sh              install or fail (CI: .ci/run)
#   scripts/install-services.sh --if-possible install when root, else say why the tests will skip
set -euo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null
}

if have_postgres; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  message="PostgreSQL server not installed and apt-get cannot run here (not root or not Debian); the services tests will skip. Install it with: sudo apt-get install -y postgresql"
  if [ "${1:-}" = "--if-possible" ]; then
    echo "install-services: $message" >&2
    exit 0
  fi
  echo "install-services: $message" >&2
  exit 1
fi
echo "install-services: installing Debian's postgresql (for the services tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
have_postgres
