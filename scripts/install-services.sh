#!/usr/bin/env bash
# Debian packages the test suite's real servers and browser need, installed when missing:
#   postgresql  the `services` tests start their own throwaway cluster on a free loopback port
#               (mlops_assets_tests/services/servers.py);
#   redis-server  the online store test on Redis (services/test_online_store_on_redis.py);
#   chromium    the real-browser test drives it headless through Playwright's `executable_path`
#               (mlops_assets_tests/test_browser.py; Playwright's own browser download needs a
#               network this project does not have).
#   openjdk-17-jre-headless  (or -21-) the Java runtime Spark 4 needs: the Spark offline store's
#               end-to-end test (mlops_assets_tests/test_spark_store.py; pyspark itself is the
#               `spark` extra that `make test` installs).
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
have_java() {
  # Spark 4 runs on Java 17 or 21.
  command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(17|2[0-9])'
}
java_package() {
  # Debian 12 has 17, Debian 13 only 21 and newer.
  for version in 17 21; do
    if apt-cache show "openjdk-$version-jre-headless" >/dev/null 2>&1; then
      echo "openjdk-$version-jre-headless"
      return
    fi
  done
  echo openjdk-17-jre-headless
}

missing=()
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)
have_redis || missing+=(redis-server)
have_java || missing+=(java)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
  message="${missing[*]} not installed and apt-get cannot run here (not root or not Debian); the services, browser and Spark tests will skip. Install with: sudo apt-get install -y ${missing[*]/#java/openjdk-17-jre-headless}"
  echo "install-services: $message" >&2
  if [ "${1:-}" = "--if-possible" ]; then
    exit 0
  fi
  exit 1
fi
echo "install-services: installing Debian's ${missing[*]} (for the services, browser and Spark tests)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
packages=("${missing[@]/#java/$(java_package)}")
# The JRE's post-install links a man page; slim images lack the folder.
mkdir -p /usr/share/man/man1
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
have_postgres
have_chromium
have_redis
have_java
