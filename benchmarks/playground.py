"""Playground speed: frames per second on the page, and training samples per second.

Starts ``python -m xpnn.playground`` in its own process (as a user would), presses play,
and for ``--seconds`` measures:

* page fps: frames the page drew (headless chromium through playwright, counting the
  page's own ``xpnnPlayground.framesDrawn``); needs ``pip install playwright`` and a
  chromium (``apt-get install chromium``), else skipped;
* stream fps: frames a second tab (a plain Python SSE reader) received;
* samples/s: training samples per second of wall time while frames stream (from the
  frames' sample counter), and the trainer's own figure, which leaves out frame time.

Networks: the default 2-4-2-1 (tanh, SGD, circle) and 8 hidden layers x 16 (tanh).

    python benchmarks/playground.py [--seconds 5] [--backend numpy] [--threads 1]
    python benchmarks/playground.py --screenshot docs/playground.png   # the README's image
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM = os.environ.get("XPNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
NETWORKS = {"2-4-2-1 (default)": "", "8 x 16 tanh": "#layers=" + ",".join(["16"] * 8) +
            "&act=tanh"}
SHOT = "#dataset=spiral&noise=5&layers=8,8,6&act=tanh&opt=adam&lr=0.01&features=x1,x2&showTest=1"


def start_server(args):
    cmd = [sys.executable, "-m", "xpnn.playground", "--port", "0", "--no-browser",
           "--backend", args.backend, "--threads", str(args.threads)]
    if args.device:
        cmd += ["--device", args.device]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), root) if p))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the playground did not start: {line!r}")
    return proc, line.split()[3]


def request(url, method, path, obj=None):
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        body = None if obj is None else json.dumps(obj).encode()
        conn.request(method, path, body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        return json.loads(r.read())
    finally:
        conn.close()


class StreamReader(threading.Thread):
    """A second tab: reads /events and counts frames."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.frames, self.stop = url, [], False

    def run(self):
        u = urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("GET", "/events")
        r = conn.getresponse()
        kind = None
        while not self.stop:
            line = r.readline().decode()
            if not line:
                break
            if line.startswith("event: "):
                kind = line[7:].strip()
            elif line.startswith("data: ") and kind == "frame":
                self.frames.append((time.perf_counter(), len(line)))
        conn.close()


def measure(url, page, seconds):
    """Train for ``seconds`` with the page and a second tab watching; return figures."""
    reader = StreamReader(url)
    reader.start()
    time.sleep(0.3)
    request(url, "POST", "/api/control", {"action": "play"})
    time.sleep(0.5)                               # warm up
    s0, t0 = request(url, "GET", "/api/state")["frame"]["samples"], time.perf_counter()
    d0 = page.evaluate("xpnnPlayground.framesDrawn") if page else 0
    n0 = len(reader.frames)
    time.sleep(seconds)
    d1 = page.evaluate("xpnnPlayground.framesDrawn") if page else 0
    n1 = len(reader.frames)
    f = request(url, "GET", "/api/state")["frame"]
    t1 = time.perf_counter()
    request(url, "POST", "/api/control", {"action": "pause"})
    reader.stop = True
    sizes = [n for _, n in reader.frames[n0:n1]] or [0]
    return {"page_fps": (d1 - d0) / (t1 - t0) if page else None,
            "stream_fps": (n1 - n0) / (t1 - t0),
            "samples_per_s": (f["samples"] - s0) / (t1 - t0),
            "trainer_samples_per_s": f["samples_per_s"], "epochs": f["epoch"],
            "frame_kib": sum(sizes) / len(sizes) / 1024}


def screenshot(page, url, path):
    """The page mid-training (spiral, test points shown), as a small palette PNG."""
    page.goto("about:blank")
    page.goto(url + SHOT)
    page.wait_for_function("() => window.xpnnPlayground && xpnnPlayground.frame !== null")
    page.get_by_test_id("play").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=epoch]')"
                           ".dataset.value) >= 120", timeout=60000)
    page.get_by_test_id("node-2-3").hover()       # the big map follows a neuron... briefly
    page.wait_for_timeout(150)
    page.mouse.move(5, 5)
    page.wait_for_timeout(200)
    png = page.screenshot()
    page.get_by_test_id("pause").click()
    try:
        from PIL import Image
        img = Image.open(io.BytesIO(png)).convert("RGB")
        img = img.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        png = buf.getvalue()
    except ImportError:   # Pillow (the viz extra) shrinks it; without it, keep the original
        pass
    with open(path, "wb") as f:
        f.write(png)
    print(f"screenshot: {path} ({len(png) / 1024:.0f} KiB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--backend", default="numpy")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads in the server")
    ap.add_argument("--no-browser", action="store_true", help="only the Python stream reader")
    ap.add_argument("--screenshot", metavar="PNG", help="also save a mid-training screenshot")
    args = ap.parse_args()
    proc, url = start_server(args)
    pw = browser = page = None
    try:
        if not args.no_browser and os.path.exists(CHROMIUM):
            try:
                from playwright.sync_api import sync_playwright
                pw = sync_playwright().start()
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 860})
            except ImportError:
                print("playwright is not installed: page fps skipped")
        load = os.getloadavg()[0]
        print(f"backend {args.backend}, BLAS threads {args.threads}, {args.seconds:g} s per "
              f"network, load {load:.1f}, {os.cpu_count()} CPUs")
        print(f"{'network':<20} {'page fps':>9} {'stream fps':>11} {'samples/s':>11} "
              f"{'trainer samples/s':>18} {'frame KiB':>10}")
        for name, hash_ in NETWORKS.items():
            if page:
                page.goto("about:blank")
                page.goto(url + hash_)
                page.wait_for_function("() => window.xpnnPlayground && "
                                       "xpnnPlayground.frame !== null")
            else:
                request(url, "POST", "/api/config", {"layers": [4, 2], "activations": ["tanh"]}
                        if not hash_ else {"layers": [16] * 8, "activations": ["tanh"] * 8})
            r = measure(url, page, args.seconds)
            fps = "-" if r["page_fps"] is None else f"{r['page_fps']:.1f}"
            print(f"{name:<20} {fps:>9} {r['stream_fps']:>11.1f} {r['samples_per_s']:>11,.0f} "
                  f"{r['trainer_samples_per_s']:>18,} {r['frame_kib']:>10.1f}", flush=True)
        if args.screenshot:
            if not page:
                raise SystemExit("--screenshot needs playwright and chromium")
            screenshot(page, url, args.screenshot)
    finally:
        if browser:
            browser.close()
        if pw:
            pw.stop()
        proc.send_signal(signal.SIGINT)      # Ctrl-C: the server stops cleanly
        proc.wait(10)


if __name__ == "__main__":
    main()
