#!/usr/bin/env bash
# Debian packages the test suite's real servers and browser need, installed when missing:
#   postgresql  the `services` tests start their own throwaway cluster on a free loopback port
#               (mlops_assets_tests/services/servers.py);
#   redis-server  the online store test on Redis (services/test_online_store_on_redis.py);
#   chromium    the real-browser test drives it headless through Playwright's `executable_path`
#               (mlops_assets_tests/test_browser.py; Playwright's own browser download needs a
#               network this project does not have).
# Idempotent and quiet: does nothing when everything is there.
#   scripts/install-services.sh              install or fail (CI: .ci/run)
#   scripts/install-services.sh --if-possible install when root, else say why those tests will skip
set -euo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null
}
have_chromium() {
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null
}
have_redis() {
  command -v redis-server >/dev/null
}

missing=()
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)
have_redis || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  message="${missing[*]} not installed and apt-get cannot run here (not root or not Debian); the services and browser tests will skip. Install with: sudo apt-get install -y ${missing[*]}"
  echo "install-services: $message" >&2
  if [ "${1:-}" = "--if-possible" ]; then
    exit 0
  fi
  exit 1
fi
echo "install-services: installing Debian's ${missing[*]} (for the services and browser tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
have_postgres
have_chromium
have_redis
