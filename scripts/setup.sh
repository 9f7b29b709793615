#!/usr/bin/env bash
# Installs and starts what cemon needs on Debian 12, idempotently.
# Run as root: make setup (make demo and make test call it).
set -euo pipefail

need_pkgs=(openvswitch-switch openvswitch-common mininet tshark iperf3 iputils-ping
  ethtool netcat-openbsd coinor-cbc iproute2 prometheus curl chromium fonts-dejavu-core hping3
  openvswitch-testcontroller)
# Commands that prove the packages are there; checked before touching apt.
need_cmds=(ovs-vsctl ovs-ofctl mn tshark iperf3 ping ethtool nc cbc ip promtool curl chromium hping3
  ovs-testcontroller)

if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go 1.26 or newer is needed on PATH (cemon is built from source)" >&2
  exit 1
fi

missing=()
for c in "${need_cmds[@]}"; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing commands: ${missing[*]}" >&2
    echo "setup: run as root (sudo make setup) to install: ${need_pkgs[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: installing ${need_pkgs[*]}"
  apt-get update -qq
  # prometheus is only needed for promtool; keep its service from starting.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Debian's openvswitch-testcontroller package is also a boot service listening on
# 6653 (cemon's port). `cemon cbench --vs-ovs` starts its own ovs-testcontroller
# as the reference to compare with, so the service stays off.
if [ "$(id -u)" -eq 0 ] && [ -x /etc/init.d/openvswitch-testcontroller ]; then
  update-rc.d openvswitch-testcontroller disable >/dev/null 2>&1 || true
  if pgrep -f 'ovs-testcontroller.*pssl:' >/dev/null 2>&1; then
    /etc/init.d/openvswitch-testcontroller stop >/dev/null 2>&1 || true
  fi
fi

if [ "$(id -u)" -ne 0 ]; then
  if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
    echo "setup: Open vSwitch is installed but not running; start it as root:" >&2
    echo "  /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random" >&2
    exit 1
  fi
  echo "setup: ok (not root: nothing started)"
  exit 0
fi

# Open vSwitch with the userspace datapath (no kernel module here).
if ! /usr/share/openvswitch/scripts/ovs-ctl status >/dev/null 2>&1; then
  /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/dev/null 2>&1 || true
fi
if ! ovs-vsctl --timeout=5 show >/dev/null 2>&1; then
  echo "setup: Open vSwitch did not start (see /var/log/openvswitch)" >&2
  exit 1
fi

# Go tools used by make test (staticcheck); installed into GOBIN.
if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  echo "setup: installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

echo "setup: ok ($(ovs-vswitchd --version | head -1), mininet $(mn --version 2>&1 | tail -1), $(tshark --version 2>/dev/null | head -1 | cut -d' ' -f1-3))"
