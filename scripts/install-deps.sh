#!/usr/bin/env bash
# Installs the system packages wasapi-jack needs, only those that are missing.
# Debian/Ubuntu; uses sudo when not root. Starts no service.
set -euo pipefail
packages=(jackd2 jacktrip libjack-jackd2-dev libsamplerate0-dev libsndfile1-dev libdb5.3-dev gdb pkg-config util-linux
          pipewire pipewire-bin pipewire-jack libspa-0.2-modules)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
