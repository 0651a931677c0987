#!/usr/bin/env bash
# Debian packages the tests and the bench read: poppler's pdftotext/pdfinfo (the fidelity oracle) with
# its CMap data, qpdf (encrypts the password fixtures), and the TrueType/OpenType fonts the corpora
# embed (Latin, Japanese, Chinese), and iproute2, iptables and python3 (the partition drill and test
# build network namespaces, filter their links, and delay them through slow-link.py). Idempotent:
# installs only what is missing; needs root for that.
set -euo pipefail
PACKAGES=(
  poppler-utils poppler-data qpdf
  fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-otf
  fonts-ipafont-gothic fonts-arphic-gbsn00lp
  iproute2 iptables python3
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian-packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-packages: missing ${missing[*]}; as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "debian-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
