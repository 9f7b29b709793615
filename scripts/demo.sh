#!/usr/bin/env bash
# cemon demo (make demo runs it after setup and build): starts cemon, brings up the
# Abilene network in Mininet (Open vSwitch, userspace datapath, OpenFlow 1.0), runs
# pingall and a few iperf3 transfers, prints the switches, links, hosts and flows
# cemon sees, then shuts everything down. Exit status 0 only if every step worked.
#
# Environment: CEMON_BIN (default bin/cemon), DEMO_TOPO (default abilene; any
# topology of mininet/topos.py, e.g. fattree or linear,5), DEMO_IDLE (flow idle
# timeout, default 3s).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${CEMON_BIN:-bin/cemon}
TOPO=${DEMO_TOPO:-abilene}
IDLE=${DEMO_IDLE:-3s}
PY=/usr/bin/python3 # the interpreter with Mininet's modules

die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (Mininet and Open vSwitch need it): sudo make demo"
[ -x "$BIN" ] || die "no cemon binary at $BIN (make build)"
for c in mn ovs-vsctl ovs-ofctl iperf3 curl; do
  command -v "$c" >/dev/null 2>&1 || die "missing $c (make setup installs it)"
done
"$PY" -c 'import mininet.net' 2>/dev/null || die "$PY cannot import mininet (make setup installs it)"

work=$(mktemp -d /tmp/cemon-demo.XXXXXX)
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
OF_PORT=$(free_port)
API_PORT=$(free_port)
API="http://127.0.0.1:$API_PORT"
CEMON_PID=""
HARNESS_PID=""
ok=0

cleanup() {
  set +e
  if [ -n "$HARNESS_PID" ] && kill -0 "$HARNESS_PID" 2>/dev/null; then
    echo '{"cmd":"quit"}' >&"${HARNESS[1]}" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$HARNESS_PID" 2>/dev/null || break; sleep 0.2; done
    kill -TERM "$HARNESS_PID" 2>/dev/null && wait "$HARNESS_PID" 2>/dev/null
  fi
  if [ -n "$CEMON_PID" ] && kill -0 "$CEMON_PID" 2>/dev/null; then
    kill -TERM "$CEMON_PID"
    for _ in $(seq 1 75); do kill -0 "$CEMON_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$CEMON_PID" 2>/dev/null
    wait "$CEMON_PID" 2>/dev/null
  fi
  if [ "$ok" -eq 1 ]; then
    rm -rf "$work"
    echo "demo: network torn down, cemon stopped"
  else
    echo "demo: FAILED; logs kept in $work (cemon.log, harness.log)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# show KIND: prints the JSON on standard input as a table.
show() {
  "$PY" -c '
import json, sys
kind = sys.argv[1]
data = json.load(sys.stdin)
def table(head, rows):
    rows = [[str(c) for c in r] for r in rows]
    w = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    print("  " + "  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    for r in rows:
        print("  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
if kind == "switches":
    table(["dpid", "address", "ports", "connected since"],
          [[s["dpid"], s["address"], len([p for p in s["ports"] if p["port_no"] < 0xff00]), s["connected_since"]] for s in data])
elif kind == "links":
    table(["src dpid", "port", "dst dpid", "port"],
          [[l["src_dpid"], l["src_port"], l["dst_dpid"], l["dst_port"]] for l in data])
elif kind == "hosts":
    table(["mac", "ip", "dpid", "port"], [[h["mac"], h["ip"], h["dpid"], h["port"]] for h in data])
elif kind == "flows":
    def ep(ip, port, proto):
        return ip + (":%d" % port if proto in (6, 17) else "")
    names = {1: "icmp", 6: "tcp", 17: "udp"}
    rows = []
    for f in data:
        m = f["match"]
        what = names.get(m["nw_proto"], "0x%04x" % m["dl_type"]) if m["dl_type"] == 0x0800 else "0x%04x" % m["dl_type"]
        src = ep(m["nw_src"], m["tp_src"], m["nw_proto"]) if m["nw_src"] else m["dl_src"]
        dst = ep(m["nw_dst"], m["tp_dst"], m["nw_proto"]) if m["nw_dst"] else m["dl_dst"]
        final = ""
        if f.get("final_byte_count") is not None:
            final = "%d B / %d pkts" % (f["final_byte_count"], f["final_packet_count"])
        path = " > ".join(d.lstrip("0") or "0" for d in f["path"])
        rows.append([f["id"], f["cookie"], what, src, dst, f["state"], path, final])
    table(["id", "cookie", "proto", "src", "dst", "state", "path (dpids)", "final counters"], rows)
    print("  (%d flows)" % len(data))
elif kind == "transfers":
    for t in data["transfers"]:
        if t.get("error"):
            print("  %s -> %s: error: %s" % (t["src"], t["dst"], t["error"]))
        else:
            print("  %s -> %s %s %s:%s -> %s:%s: %d bytes sent in %.1f s (%.1f Mbit/s)" % (
                t["src"], t["dst"], t["protocol"], t["src_ip"], t["src_port"], t["dst_ip"], t["dst_port"],
                t["bytes_sent"], t["seconds"], t["bits_per_second"] / 1e6))
' "$1"
}

get() { curl -fsS --max-time 10 "$API$1"; }

# hcmd JSON [TIMEOUT]: sends one command to the harness and prints its result; fails
# (and reports the harness's error) if the command did.
hcmd() {
  local line
  echo "$1" >&"${HARNESS[1]}"
  if ! IFS= read -r -t "${2:-60}" line <&"${HARNESS[0]}"; then
    echo "demo: no answer from the harness to $1" >&2
    return 1
  fi
  "$PY" -c '
import json, sys
r = json.loads(sys.argv[1])
if not r.get("ok"):
    sys.stderr.write("demo: harness %s failed: %s\n" % (r.get("cmd"), r.get("error")))
    sys.exit(1)
print(json.dumps(r.get("result")))
' "$line"
}

count() { "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

layout=()
[ "$TOPO" = abilene ] && layout=(--layout-gml topology/testdata/Abilene.gml)
echo "demo: starting cemon (OpenFlow on 127.0.0.1:$OF_PORT, REST API and console on $API, idle timeout $IDLE)"
"$BIN" run --of-listen "127.0.0.1:$OF_PORT" --api-listen "127.0.0.1:$API_PORT" --idle-timeout "$IDLE" \
  "${layout[@]}" >"$work/cemon.log" 2>&1 &
CEMON_PID=$!
for i in $(seq 1 75); do
  get /healthz >/dev/null 2>&1 && break
  kill -0 "$CEMON_PID" 2>/dev/null || die "cemon exited at start: $(tail -5 "$work/cemon.log")"
  [ "$i" -lt 75 ] || die "cemon's API did not answer within 15 s"
  sleep 0.2
done

echo "demo: bringing up $TOPO in Mininet (waits for any other Mininet run to finish)"
coproc HARNESS { exec "$PY" mininet/harness.py --topo "$TOPO" --controller "127.0.0.1:$OF_PORT" 2>"$work/harness.log"; }

IFS= read -r -t 400 ready <&"${HARNESS[0]}" || die "the harness did not start: $(tail -5 "$work/harness.log")"
info=$("$PY" -c '
import json, sys
r = json.loads(sys.argv[1])
if not r.get("ok"):
    sys.exit("harness: " + str(r.get("error")))
i = r["result"]
print("%d %d %d %s" % (len(i["switches"]), len(i["links"]), len(i["hosts"]), i["startup_seconds"]))
' "$ready") || die "the network did not come up"
read -r nsw nlinks nhosts secs <<<"$info"
echo "demo: $TOPO is up in ${secs}s: $nsw switches, $((nlinks / 2)) links, $nhosts hosts"

hcmd '{"cmd":"wait_connected","timeout":30}' 60 >/dev/null || exit 1
echo "demo: all $nsw switches connected; waiting for cemon to discover the $nlinks directed links"
for i in $(seq 1 150); do
  n=$(get /api/v1/links | count)
  [ "$n" -eq "$nlinks" ] && break
  [ "$i" -lt 150 ] || die "cemon sees $n directed links after 30 s, want $nlinks"
  sleep 0.2
done

echo "demo: pingall"
ping=$(hcmd '{"cmd":"pingall","timeout":2}' 600) || exit 1
"$PY" -c '
import json, sys
r = json.loads(sys.argv[1])
print("  %d of %d pings answered%s" % (r["received"], r["sent"], "" if not r["lost"] else "; lost: %s" % r["lost"]))
sys.exit(0 if r["received"] == r["sent"] else 1)
' "$ping" || die "pingall lost packets"

# Let the pings' flows expire, so the tables below show the transfers.
wait_idle() {
  for i in $(seq 1 100); do
    n=$(get '/api/v1/flows?state=active,draining' | count)
    [ "$n" -eq 0 ] && return 0
    [ "$i" -lt 100 ] || { echo "demo: $n flows still active or draining after 20 s"; return 0; }
    sleep 0.2
  done
}
echo "demo: waiting for the pings' flows to go idle and expire"
wait_idle

echo "demo: iperf3 transfers (5 s each, at once)"
hosts=$("$PY" -c 'import json, sys; print(" ".join(h["name"] for h in json.loads(sys.argv[1])["result"]["hosts"]))' "$ready")
read -r -a hs <<<"$hosts"
n=${#hs[@]}
pairs="[{\"src\":\"${hs[0]}\",\"dst\":\"${hs[$((n / 2))]}\",\"duration\":5,\"bandwidth\":\"10M\"},"
pairs+="{\"src\":\"${hs[$((n - 1))]}\",\"dst\":\"${hs[1]}\",\"duration\":5,\"udp\":true,\"bandwidth\":\"5M\"},"
pairs+="{\"src\":\"${hs[2]}\",\"dst\":\"${hs[$((n - 2))]}\",\"duration\":5,\"bandwidth\":\"10M\"}]"
started=$(hcmd "{\"cmd\":\"iperf_start\",\"pairs\":$pairs}") || exit 1
id=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$started")
sleep 2

echo
echo "== switches (GET /api/v1/switches)"
get /api/v1/switches | show switches
echo
echo "== links (GET /api/v1/links)"
get /api/v1/links | show links
echo
echo "== hosts (GET /api/v1/hosts)"
get /api/v1/hosts | show hosts
echo
echo "== active flows during the transfers (GET /api/v1/flows?state=active)"
get '/api/v1/flows?state=active' | show flows

transfers=$(hcmd "{\"cmd\":\"iperf_wait\",\"id\":$id,\"timeout\":40}" 80) || exit 1
echo
echo "== transfers (iperf3, sender's totals)"
show transfers <<<"$transfers"
"$PY" -c 'import json, sys; sys.exit(any(t.get("error") for t in json.loads(sys.argv[1])["transfers"]))' "$transfers" ||
  die "an iperf3 transfer failed"

echo
echo "demo: waiting for the transfers' flows to go idle and expire"
wait_idle
echo "== expired flows with their final counters (GET /api/v1/flows?state=expired)"
get '/api/v1/flows?state=expired' | "$PY" -c '
import json, sys
fs = json.load(sys.stdin)
# The transfers (tcp/udp) first, then the rest, so the interesting ones show.
fs.sort(key=lambda f: (f["match"]["nw_proto"] not in (6, 17), -(f.get("final_byte_count") or 0)))
json.dump(fs[:25], sys.stdout)
print()
' | show flows
echo "  (the 25 largest of $(get '/api/v1/flows?state=expired' | count) expired flows)"

echo
echo "demo: shutting down"
hcmd '{"cmd":"quit"}' 120 >/dev/null || true
wait "$HARNESS_PID" 2>/dev/null || die "the harness did not tear down cleanly: $(tail -5 "$work/harness.log")"
HARNESS_PID=""
kill -TERM "$CEMON_PID"
wait "$CEMON_PID" || die "cemon exited with status $? on SIGTERM"
CEMON_PID=""
ok=1
