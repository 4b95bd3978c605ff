#!/usr/bin/env bash
# Installs the system programs the project needs, only those missing, from Debian's packages.
# Usage: scripts/install_system_deps.sh ffmpeg [postgresql] [redis] [chromium] [caddy] [docker-compose]
set -euo pipefail

declare -A probe=([ffmpeg]=ffprobe [postgresql]=initdb [redis]=redis-server [chromium]=/usr/bin/chromium
  [caddy]=caddy [docker-compose]=docker-compose)
declare -A package=([ffmpeg]=ffmpeg [postgresql]=postgresql [redis]=redis-server [chromium]=chromium
  [caddy]=caddy [docker-compose]=docker-compose)

missing=()
for name in "$@"; do
  cmd=${probe[$name]}
  if [ "$cmd" = initdb ]; then
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=("${package[$name]}")
  elif [ "${cmd:0:1}" = / ]; then
    [ -x "$cmd" ] || missing+=("${package[$name]}")
  else
    command -v "$cmd" >/dev/null || missing+=("${package[$name]}")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "not root and no sudo: install ${missing[*]} with your package manager" >&2; exit 1
  fi
else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
