#!/usr/bin/env bash
# The one place that knows which system packages the test suite needs: tshark and editcap (the
# cross-checks against Wireshark) and Chromium (the HTML report in a real browser). `npm test`
# runs it first (pretest), and so does .ci/run through `npm test`. It installs what is missing
# with apt-get (as root, or with sudo that needs no password); where it cannot, it stops with
# one line saying what to install. It uses bash built-ins only besides apt-get, so that it
# still gives its message on a machine that lacks everything else.
set -u

hint='nvme-tcp-timeline tests need tshark, editcap and chromium; install them — Debian: sudo apt-get install -y tshark chromium · Ubuntu: sudo apt-get install -y tshark chromium-browser · Fedora: sudo dnf install -y wireshark-cli chromium · macOS: brew install wireshark && brew install --cask chromium'

have() { command -v "$1" >/dev/null 2>&1; }

# Ubuntu ships Chromium as chromium-browser; Debian as chromium.
browser=chromium
if [ -r /etc/os-release ]; then
  while IFS='=' read -r key value; do [ "$key" = ID ] && [ "$value" = ubuntu ] && browser=chromium-browser; done </etc/os-release
fi

packages=()
{ have tshark && have editcap; } || packages+=(tshark)
have chromium || have chromium-browser || packages+=("$browser")
[ ${#packages[@]} -eq 0 ] && exit 0

fail() {
  [ -n "${1:-}" ] && echo "$1" >&2
  echo "$hint" >&2
  exit 1
}

have apt-get || fail ''
if [ "$EUID" -eq 0 ]; then
  as=()
elif have sudo && sudo -n true 2>/dev/null; then
  as=(sudo -n)
else
  fail "cannot install ${packages[*]}: not root and no password-less sudo"
fi

log="${TMPDIR:-/tmp}/nvme-tcp-timeline-apt.$$.log"
echo "installing ${packages[*]} with apt-get for the test suite (log: $log) ..." >&2
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether users outside the wireshark group may capture: answer no, unasked.
if have debconf-set-selections; then
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | "${as[@]}" debconf-set-selections >>"$log" 2>&1
fi
"${as[@]}" apt-get update >>"$log" 2>&1 || fail "apt-get update failed (see $log)"
"${as[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >>"$log" 2>&1 || fail "apt-get install ${packages[*]} failed (see $log)"
{ have tshark && have editcap && { have chromium || have chromium-browser; }; } || fail "apt-get installed ${packages[*]} but the commands are still missing (see $log)"
echo "installed ${packages[*]}" >&2
