#!/usr/bin/env bash
# Debian's PostgreSQL and Redis server programs for the `services` tests, which start their own
# throwaway servers on free loopback ports (mlops_assets_tests/services/servers.py). Idempotent and quiet:
# does nothing when the programs are there.
#   scripts/install-services.sh              install or fail (CI: .ci/run)
#   scripts/install-services.sh --if-possible install when root, else say why the tests will skip
set -euo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null
}

have_redis() {
  command -v redis-server >/dev/null
}

if have_postgres && have_redis; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  message="PostgreSQL or Redis server not installed and apt-get cannot run here (not root or not Debian); the services tests will skip. Install them with: sudo apt-get install -y postgresql redis-server"
  if [ "${1:-}" = "--if-possible" ]; then
    echo "install-services: $message" >&2
    exit 0
  fi
  echo "install-services: $message" >&2
  exit 1
fi
echo "install-services: installing Debian's postgresql and redis-server (for the services tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null
have_postgres && have_redis
