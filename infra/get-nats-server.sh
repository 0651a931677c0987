#!/usr/bin/env bash
# Puts a nats-server >= 2.12 where docswarm looks for one, without touching the system:
# Debian's unstable suite ships 2.15 as a static Go binary, so we download that .deb with a
# private apt state directory and unpack it into .cache/ (git-ignored). Run by this repository's
# `npm ci` (the tools/ workspace's postinstall), never in a project that installs the package.
set -euo pipefail

min_minor=12
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/.cache/nats-server"
bin="$dest/nats-server"

version_ok() { # $1 = binary; true when it is nats-server 2.x with x >= min_minor
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p') || return 1
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge "$min_minor" ]; }
}

for candidate in "${DOCSWARM_NATS_SERVER:-}" "$(command -v nats-server || true)" "$bin"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && version_ok "$candidate"; then
    echo "docswarm: using $candidate ($("$candidate" --version))"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "docswarm: no nats-server >= 2.$min_minor found and apt-get is not available here." >&2
  echo "docswarm: install nats-server yourself and put it on PATH or set DOCSWARM_NATS_SERVER (see DEVELOPERS.md)." >&2
  exit 0
fi

suite=${DOCSWARM_NATS_SUITE:-sid}
mirror=${DOCSWARM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/prefs.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work" -o "Dir::Cache::archives=$work/archives"
  -o "Dir::Etc::Preferences=$work/prefs" -o "Dir::Etc::PreferencesParts=$work/prefs.d"
  -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)" -qq
)
echo "docswarm: fetching nats-server from Debian $suite into .cache/ (the system is not touched)"
apt-get "${apt_opts[@]}" update
(cd "$work" && apt-get "${apt_opts[@]}" download nats-server)
dpkg -x "$work"/nats-server_*.deb "$work/x"
mkdir -p "$dest"
install -m 0755 "$work/x/usr/sbin/nats-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
version_ok "$bin" || { echo "docswarm: fetched $("$bin" --version) is older than 2.$min_minor" >&2; exit 1; }
echo "docswarm: installed $("$bin" --version) at .cache/nats-server/nats-server"
