#!/bin/sh
# Install the Debian packages the build, the demo and the tests need, when
# they are missing.  Runs apt-get only if something is missing; uses sudo
# when not root.
set -eu
PKGS="build-essential pkg-config libssl-dev libjansson-dev libcriterion-dev
zlib1g-dev libcurl4-openssl-dev curl openssl python3 python3-requests
python3-httpx python3-aiohttp valgrind libcurl3-gnutls nghttp2-proxy nghttp2-client python3-h2
libnghttp2-dev libbrotli-dev libzstd-dev
chromium"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Node and npm: an image may bring its own (with npm inside), which
# Debian's npm package conflicts with; install Debian's only when absent.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
