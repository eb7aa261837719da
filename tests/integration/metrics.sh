# Prometheus metrics: every node serves /metrics at its `metrics` address; Debian's
# python3-prometheus-client parses it, in the text format and with the strict OpenMetrics parser.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/observe_lib.sh"
APP=$WORK/app.toml
write_obs_app "$APP" "obs-metrics-$$" 7460
"$BIN/troupe" run "$APP" 2> "$WORK/run.err" &
launcher=$!
wait_running && pass "app running" || { fail "app did not start: $(cat "$WORK/run.err")"; finish; exit 1; }
for i in 1 2 3; do timeout 10 "$BIN/troupe" call "$APP" echo-a $i > /dev/null; done
timeout 10 "$BIN/troupe" call "$APP" echo-b 1 > /dev/null
sleep 0.5 # heartbeat probes for the round-trip histogram
/usr/bin/python3 - "$WORK" <<'PY' && pass "metrics parse and carry the expected series" || fail "metrics"
import sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

def scrape(port, openmetrics=False):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if openmetrics:
        req.add_header("Accept", "application/openmetrics-text; version=1.0.0")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.headers.get("Content-Type"), r.read().decode()

bad = []
def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        bad.append(what)

def samples(fams):
    return [s for f in fams for s in f.samples]

for node, port in (("gamma", 7466), ("beta", 7464), ("alpha", 7462)):
    ctype, text = scrape(port)
    expect(ctype.startswith("text/plain; version=0.0.4"), node + ": text format content type")
    fams = list(text_string_to_metric_families(text))
    ctype, om = scrape(port, True)
    expect(ctype.startswith("application/openmetrics-text"), node + ": OpenMetrics content type")
    om_fams = list(om_families(om))  # strict: raises on any format error
    expect(len(om_fams) == len(fams), node + ": both formats have the same families")
    names = {f.name for f in fams}
    for want in ("troupe_process_cpu_seconds", "troupe_process_resident_memory_bytes",
                 "troupe_bridge_frames", "troupe_bridge_bytes", "troupe_bridge_drops",
                 "troupe_bridge_queue_depth", "troupe_bridge_rtt_seconds"):
        expect(want in names, node + ": has " + want)
    for s in samples(fams):
        expect(s.name.startswith("troupe_"), node + ": name " + s.name)
        expect(s.labels.get("app", "").startswith("obs-metrics-") and s.labels.get("node") == node,
               node + ": app and node labels on " + s.name)
    # Histogram: cumulative buckets ending in +Inf == count, some probes recorded.
    rtt = [f for f in om_fams if f.name == "troupe_bridge_rtt_seconds"][0]
    by_peer = {}
    for s in rtt.samples:
        by_peer.setdefault(s.labels["peer"], []).append(s)
    expect(by_peer, node + ": a round-trip histogram per peer")
    for peer, ss in by_peer.items():
        buckets = [s.value for s in ss if s.name.endswith("_bucket")]
        count = [s.value for s in ss if s.name.endswith("_count")][0]
        expect(buckets == sorted(buckets) and buckets[-1] == count,
               node + ": buckets cumulative to the count for peer " + peer)
        expect(count > 0, node + ": heartbeat round trips recorded for peer " + peer)
        expect(all(s.labels.get("transport") == "tcp" for s in ss), node + ": transport label")

def value(fams, name, **labels):
    for s in samples(fams):
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None

fams = list(text_string_to_metric_families(scrape(7462)[1]))
handled = value(fams, "troupe_actor_messages_total", actor="echo-a")
expect(handled is not None and handled >= 3, "alpha: echo-a handled the 3 calls (%s)" % handled)
expect(value(fams, "troupe_actor_mailbox_depth", actor="echo-a") == 0, "alpha: mailbox gauge")
expect(value(fams, "troupe_actor_restarts_total", actor="worker", supervisor="sup") == 0,
       "alpha: restarts counter of the remote child")
expect(value(fams, "troupe_actor_up", actor="worker") == 1, "alpha: worker up")
b = list(text_string_to_metric_families(scrape(7464)[1]))
expect(value(b, "troupe_actor_messages_total", actor="echo-b") >= 1, "beta: echo-b counted")
before = value(fams, "troupe_bridge_frames_total", peer="gamma", direction="out")
time.sleep(0.5)
after = value(list(text_string_to_metric_families(scrape(7462)[1])), "troupe_bridge_frames_total",
              peer="gamma", direction="out")
expect(after > before, "alpha: frame counter to gamma grows (heartbeats): %s -> %s" % (before, after))
sys.exit(1 if bad else 0)
PY
# A restart shows in the counter.
kill -9 "$(node_pid "$launcher" gamma)"
ok=""
for _ in $(seq 100); do
  m=$(curl -s http://127.0.0.1:7462/metrics || true)
  if grep -q '^troupe_actor_restarts_total{.*actor="worker".*} 1$' <<< "$m"; then ok=1; break; fi
  sleep 0.1
done
[[ -n "$ok" ]] && pass "restart counted after kill -9 of gamma" || fail "restart not counted"
"$BIN/troupe" stop "$APP" > /dev/null; wait "$launcher"
# `troupe check` validates the addresses.
bad_file=$WORK/bad.toml
for case in '"7000"|expected "HOST:PORT"' '"127.0.0.1:0"|invalid port' '"http://x:1"|expected "HOST:PORT" without a scheme' '7000|expected "HOST:PORT", got integer'; do
  val=${case%%|*}; msg=${case#*|}
  printf '[app]\nname = "x"\n[nodes.a]\nmetrics = %s\n' "$val" > "$bad_file"
  out=$("$BIN/troupe" check "$bad_file" 2>&1) && rc=0 || rc=$?
  [[ $rc == 2 && "$out" == *"nodes.a.metrics: $msg"* ]] && pass "check rejects metrics = $val" \
    || fail "check metrics = $val: rc $rc: $out"
done
printf '[app]\nname = "x"\n[launcher]\nweb = "127.0.0.1:7000"\n[nodes.a]\nmetrics = "127.0.0.1:7000"\n[nodes.b]\n' > "$bad_file"
out=$("$BIN/troupe" check "$bad_file" 2>&1) && rc=0 || rc=$?
[[ $rc == 2 && "$out" == *"launcher.web: address 127.0.0.1:7000 already used by nodes.a.metrics"* ]] \
  && pass "check rejects a web address used for metrics" || fail "check web: rc $rc: $out"
finish
