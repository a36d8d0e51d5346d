#!/usr/bin/env bash
# Sets up a fresh machine for earshot: Debian tools for speech output and prompt import, the npm dependencies,
# and the models (downloaded, or found offline in EARSHOT_MODELS_DIR / ../shared/models).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in espeak-ng ffmpeg sox bzip2; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# onnxruntime-node-install=skip in .npmrc keeps its installer from fetching CUDA files.
npm ci --no-audit --no-fund

# Offline this falls back to EARSHOT_MODELS_DIR and ../shared/models; it fails only if a required model is nowhere.
npm run models
