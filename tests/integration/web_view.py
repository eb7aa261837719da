"""The web view in a real browser: Debian's headless chromium, driven over the DevTools protocol
(--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4, so no extra Python package).

Checks that the page shows every node and actor of a three-node app, that a kill -9 of a node
shows within 2 s, that the page loads nothing from elsewhere, and saves screenshots as test
artifacts. Exits 77 (CTest: skipped) when chromium is not installed.

Usage: web_view.py BIN_DIR SOURCE_DIR ARTIFACT_DIR
"""
import base64, fcntl, json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.request

BIN, SRC, ARTIFACTS = sys.argv[1:4]
BASE = 7480
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    print("SKIP: chromium is not installed (apt-get install chromium); the web view is untested")
    sys.exit(77)

fails = []
def check(cond, what):
    print(("ok   - " if cond else "FAIL - ") + what, flush=True)
    if not cond:
        fails.append(what)

work = tempfile.mkdtemp(prefix="troupe-web.")
app = os.path.join(work, "app.toml")
name = "obs-web-%d" % os.getpid()
with open(app, "w") as f:
    f.write(f"""[app]
name = "{name}"
log_dir = "{work}/logs"
[bridges]
heartbeat_interval = "100ms"
heartbeat_timeout = "600ms"
connect_timeout = "2s"
[launcher]
web = "127.0.0.1:{BASE}"
max_restarts = 10
within = "60s"
[nodes.gamma]
listen = "tcp://127.0.0.1:{BASE + 5}"
[nodes.beta]
listen = "tcp://127.0.0.1:{BASE + 3}"
[nodes.alpha]
listen = "tcp://127.0.0.1:{BASE + 1}"
[[actors]]
name = "echo-a"
type = "echo"
node = "alpha"
[[actors]]
name = "echo-b"
type = "echo"
node = "beta"
[[actors]]
name = "worker"
type = "echo"
node = "gamma"
[[supervisors]]
name = "sup"
node = "alpha"
intensity = {{ max_restarts = 10, within = "60s" }}
children = ["echo-a", "worker"]
""")

launcher = subprocess.Popen([os.path.join(BIN, "troupe"), "run", app], stderr=subprocess.PIPE)
browser = None
try:
    log = os.path.join(work, "logs", "launcher.log")
    deadline = time.time() + 20
    while time.time() < deadline:
        if os.path.exists(log) and "running with 3 nodes" in open(log).read():
            break
        time.sleep(0.05)
    else:
        print("FAIL - app did not start")
        sys.exit(1)
    url = "http://127.0.0.1:%d/" % BASE

    # The JSON API on its own.
    st = json.load(urllib.request.urlopen(url + "api/status", timeout=5))
    check([n["node"] for n in st["nodes"]] == ["gamma", "beta", "alpha"], "api/status lists the nodes")
    check(all(n["state"] == "running" and n["report"] for n in st["nodes"]), "api/status: all running")
    check({a["name"]: a["node"] for a in st["actors"]} ==
          {"echo-a": "alpha", "echo-b": "beta", "worker": "gamma"}, "api/status: placement")
    ev = json.load(urllib.request.urlopen(url + "api/events?since=0", timeout=5))
    check(any(e["kind"] == "app_started" for e in ev), "api/events has app_started")

    # The browser: fds 3 (commands in) and 4 (replies out) of the chromium process.
    cmd_r, cmd_w = os.pipe()
    res_r, res_w = os.pipe()
    hi_cmd_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 20)
    hi_res_w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 20)
    def child_fds():
        os.dup2(hi_cmd_r, 3)
        os.dup2(hi_res_w, 4)
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=" + work + "/chromium",
         "about:blank"], pass_fds=(3, 4), preexec_fn=child_fds,
        stdout=subprocess.DEVNULL, stderr=open(work + "/chromium.log", "w"))
    for fd in (cmd_r, res_w, hi_cmd_r, hi_res_w):
        os.close(fd)
    out = os.fdopen(cmd_w, "wb", buffering=0)
    inp = os.fdopen(res_r, "rb", buffering=0)
    buf = b""
    next_id = [0]
    def call(method, session=None, **params):
        global buf
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        out.write(json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in buf:
                chunk = inp.read(65536)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                buf += chunk
            raw, buf = buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id[0]:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply["result"]
    target = call("Target.createTarget", url="about:blank")["targetId"]
    session = call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    call("Emulation.setDeviceMetricsOverride", session, width=1400, height=900,
         deviceScaleFactor=1, mobile=False)
    call("Page.navigate", session, url=url)
    def js(expr):
        r = call("Runtime.evaluate", session, expression=expr, returnByValue=True)
        return r["result"].get("value")
    def wait_for(expr, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if js(expr):
                return True
            time.sleep(0.05)
        return False
    def shot(file):
        os.makedirs(ARTIFACTS, exist_ok=True)
        png = base64.b64decode(call("Page.captureScreenshot", session, format="png")["data"])
        with open(os.path.join(ARTIFACTS, file), "wb") as f:
            f.write(png)
        print("# screenshot: " + os.path.join(ARTIFACTS, file))
    everything = ("['alpha','beta','gamma'].every(n => document.querySelector(`[data-node=${n}]"
                  "[data-state=running]`)) && ['sup','echo-a','echo-b','worker'].every(a => "
                  "document.querySelector(`[data-actor='${a}'][data-state=running]`))")
    check(wait_for(everything, 10), "the DOM shows every node and actor, running")
    check(wait_for("document.querySelectorAll('#bridges tr[data-bridge]').length >= 2", 5),
          "the bridges table lists the bridges")
    check(js("document.querySelectorAll('script[src],link[href],img[src],iframe').length") == 0,
          "the page loads nothing from elsewhere (works offline)")
    check(wait_for("!!document.querySelector('[data-kind=app_started]')", 5),
          "the timeline shows app_started")
    time.sleep(1.2)  # a second status, for rates
    shot("web_view.png")

    gamma = subprocess.check_output(["pgrep", "-P", str(launcher.pid), "-f", "--", "--node gamma$"]).split()[0]
    t0 = time.time()
    os.kill(int(gamma), signal.SIGKILL)
    shown = wait_for("(n => n && (n.dataset.state !== 'running' || n.dataset.restarts !== '0'))"
                     "(document.querySelector('[data-node=gamma]'))", 5)
    took = time.time() - t0
    check(shown and took <= 2.0, "kill -9 of gamma shows within 2 s (%.2f s)" % took)
    check(wait_for("!!document.querySelector('[data-kind=node_lost]')", 3),
          "the timeline shows node_lost")
    shot("web_view_kill.png")
    back = ("(n => n && n.dataset.state === 'running' && n.dataset.restarts === '1')"
            "(document.querySelector('[data-node=gamma]')) && "
            "!!document.querySelector(\"[data-actor='worker'][data-state=running]\") && "
            "!!document.querySelector('[data-kind=child_restarted]')")
    check(wait_for(back, 15), "gamma back with restarts 1, worker running again, child_restarted in the timeline")
    time.sleep(1.2)
    shot("web_view_after.png")
    try:
        call("Browser.close")
    except RuntimeError:
        pass
finally:
    if browser:
        try:
            browser.wait(timeout=5)
        except subprocess.TimeoutExpired:
            browser.kill()
    launcher.send_signal(signal.SIGTERM)
    try:
        launcher.wait(timeout=20)
    except subprocess.TimeoutExpired:
        launcher.kill()
    if not os.environ.get("KEEP_WORK"):
        shutil.rmtree(work, ignore_errors=True)

print("%d failed" % len(fails))
sys.exit(1 if fails else 0)
