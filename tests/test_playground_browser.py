"""The playground page in a real headless chromium, driven through playwright.

One server (port 0) and one page per module; the tests run in file order on that page, as
a user would: spiral, add a layer, play, pause, step, change the learning rate, upload a
CSV, trip the NaN guard, export and reload the model in Python.

Needs ``pip install playwright`` and a chromium (Debian: ``apt-get install chromium``;
another binary: ``XPNN_CHROMIUM=/path``). Skipped when either is missing, unless
``XPNN_REQUIRE_BROWSER`` is set (CI sets it): then a missing browser is a failure.
A screenshot of the page mid-training is saved to ``$XPNN_ARTIFACTS`` (default: a pytest
temporary folder).
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import xpnn
from xpnn.playground import make_server
from xpnn.playground.network import grid_points

CHROMIUM = os.environ.get("XPNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Debian's chromium on a closed network: no sandbox (root in CI), no GPU, and none of the
# background connections, which are otherwise refused many at a time and slow the start.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(xpnn.__file__).resolve().parent.parent
FAST = "#layers=8,8&act=relu&opt=adam&lr=0.01&features=x1,x2"   # spiral learns in seconds


def _missing():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not os.path.exists(CHROMIUM):
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set XPNN_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("XPNN_REQUIRE_BROWSER"):
            pytest.fail(f"XPNN_REQUIRE_BROWSER is set but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    s = make_server(port=0).start_background()
    yield s
    s.close()


@pytest.fixture(scope="module")
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 860}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.goto(server.url + FAST)
    ready(pg)
    yield pg
    ctx.close()


def ready(pg):
    pg.wait_for_function("() => window.xpnnPlayground && xpnnPlayground.frame !== null")


def tid(pg, name):
    return pg.get_by_test_id(name)


def value(pg, name):
    return json.loads(tid(pg, name).get_attribute("data-value"))


def wait_js(pg, expr, timeout=15000):
    pg.wait_for_function(f"() => {expr}", timeout=timeout)


EPOCH = "Number(document.querySelector('[data-testid=epoch]').dataset.value)"
STATE = "document.querySelector('[data-testid=status]').dataset.state"


def test_page_loads_with_every_control(page):
    for name in ["play", "step", "reset", "dataset-circle", "dataset-spiral", "add-layer",
                 "remove-layer", "learning-rate", "activation", "regularization",
                 "regularization-rate", "batch-size", "noise", "train-ratio", "epoch",
                 "loss-train", "loss-test", "accuracy", "boundary", "upload-csv",
                 "export-weights", "status", "confusion", "loss-chart"]:
        assert tid(page, name).count() == 1, name
    assert tid(page, "pause").is_hidden() and tid(page, "play").is_visible()
    assert value(page, "epoch") == 0
    assert tid(page, "backend").inner_text() == "numpy · cpu"
    # the URL hash was applied: 2 inputs, two ReLU layers of 8, Adam at 0.01
    cfg = page.evaluate("xpnnPlayground.state.config")
    assert cfg["layers"] == [8, 8] and cfg["optimizer"] == "adam" and cfg["learning_rate"] == 0.01
    assert page.locator(".node").count() == 7 + 16 + 1
    # the boundary map is drawn (not blank): many distinct colours
    colours = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=boundary]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return seen.size; }""")
    assert colours > 20


def test_spiral_add_layer_play_until_learned(page, tmp_path_factory):
    tid(page, "dataset-spiral").click()
    wait_js(page, "xpnnPlayground.state.config.dataset === 'spiral'")
    assert "dataset=spiral" in page.url
    tid(page, "add-layer").click()
    wait_js(page, "xpnnPlayground.state.config.layers.length === 3")
    assert tid(page, "layer-count").inner_text() == "3 hidden layers"
    start = time.monotonic()
    tid(page, "play").click()
    wait_js(page, f"{STATE} === 'running'")
    assert tid(page, "pause").is_visible()
    wait_js(page, "Number(document.querySelector('[data-testid=accuracy]').dataset.value) >= 0.95"
                  " || Number(document.querySelector('[data-testid=loss-test]').dataset.value) "
                  "< 0.1", timeout=30000)
    learned_in = time.monotonic() - start
    out = Path(os.environ.get("XPNN_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "playground-mid-training.png"))
    assert (out / "playground-mid-training.png").stat().st_size > 10_000
    print(f"spiral learned in {learned_in:.1f} s; screenshot in {out}")


def test_pause_stops_the_epoch_counter(page):
    if not tid(page, "pause").is_visible():
        tid(page, "play").click()
    tid(page, "pause").click()
    wait_js(page, f"{STATE} === 'paused'")
    epoch = value(page, "epoch")
    page.wait_for_timeout(500)
    assert value(page, "epoch") == epoch and tid(page, "play").is_visible()


def test_step_advances_exactly_one_epoch(page):
    epoch = value(page, "epoch")
    tid(page, "step").click()
    wait_js(page, f"{EPOCH} === {epoch + 1}")
    page.wait_for_timeout(300)
    assert value(page, "epoch") == epoch + 1


def test_learning_rate_change_mid_run_keeps_the_network(page):
    run = page.evaluate("xpnnPlayground.state.run")
    tid(page, "play").click()
    epoch = value(page, "epoch")
    wait_js(page, f"{EPOCH} > {epoch + 3}")
    mid = value(page, "epoch")
    tid(page, "learning-rate").select_option("0.003")
    wait_js(page, "xpnnPlayground.state.config.learning_rate === 0.003")
    wait_js(page, f"{EPOCH} > {mid + 3}")         # still training, counting on from mid
    assert page.evaluate("xpnnPlayground.state.run") == run
    assert "lr=0.003" in page.url
    tid(page, "pause").click()
    wait_js(page, f"{STATE} === 'paused'")


def test_keyboard_play_pause_and_step(page):
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Space")
    wait_js(page, f"{STATE} === 'running'")
    page.keyboard.press("Space")
    wait_js(page, f"{STATE} === 'paused'")
    epoch = value(page, "epoch")
    page.keyboard.press("s")
    wait_js(page, f"{EPOCH} === {epoch + 1}")


def test_hover_neuron_and_edit_a_weight(page):
    tid(page, "node-1-0").hover()
    wait_js(page, "document.querySelector('[data-testid=map-title]').textContent"
                  ".startsWith('Neuron 1 of hidden layer 1')")
    # x1 -> unit 1 of layer 1 is a flat line that no other link crosses in its middle;
    # playwright's hover() sees a flat path as having no box, so the mouse goes there
    box = tid(page, "link-0-0-0").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert tid(page, "tooltip").inner_text().startswith("weight ")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert tid(page, "weight-editor").is_visible()
    tid(page, "weight-input").fill("0.75")
    tid(page, "weight-input").press("Enter")
    wait_js(page, "xpnnPlayground.frame.weights[0][0][0] === 0.75")
    tid(page, "bias-1-0").click()
    tid(page, "weight-input").fill("-0.25")
    tid(page, "weight-input").press("Enter")
    wait_js(page, "xpnnPlayground.frame.biases[0][0] === -0.25")


def test_second_tab_watches_the_same_run(page):
    other = page.context.new_page()
    try:
        other.goto(page.url)                      # the shared URL: same settings, no reset
        ready(other)
        assert other.evaluate("xpnnPlayground.state.run") == page.evaluate(
            "xpnnPlayground.state.run")
        epoch = value(page, "epoch")
        assert value(other, "epoch") == epoch
        tid(page, "step").click()
        wait_js(page, f"{EPOCH} === {epoch + 1}")
        wait_js(other, f"{EPOCH} === {epoch + 1}")         # the other tab saw the step
    finally:
        other.close()


def test_upload_csv(page):
    rng = np.random.default_rng(3)
    pts = rng.uniform(-4, 4, (150, 2))
    names = np.where(pts[:, 0] > 1, "right", np.where(pts[:, 1] > 0, "top", "bottom"))
    text = "x1,x2,label\n" + "\n".join(f"{a:.3f},{b:.3f},{n}" for (a, b), n in zip(pts, names))
    tid(page, "upload-csv").set_input_files(files=[
        {"name": "points.csv", "mimeType": "text/csv", "buffer": text.encode()}])
    wait_js(page, "document.querySelector('[data-testid=upload-message]').classList.contains('ok')")
    assert "Loaded 150 points" in tid(page, "upload-message").inner_text()
    wait_js(page, "xpnnPlayground.state.config.dataset === 'csv'")
    assert "selected" in tid(page, "dataset-csv").get_attribute("class")
    assert page.locator("[data-testid=confusion] tr").count() == 4     # header + 3 classes
    bad = "x1,x2,label\n1,2,a\n3,b,c\n5,6\n"
    tid(page, "upload-csv").set_input_files(files=[
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    wait_js(page, "document.querySelector('[data-testid=upload-message]').classList.contains('bad')")
    msg = tid(page, "upload-message").inner_text()
    assert "row 3" in msg and "row 4" in msg
    assert page.evaluate("xpnnPlayground.state.config.dataset") == "csv"


def test_nan_guard_pauses_and_says_why(page):
    tid(page, "optimizer").select_option("sgd")
    tid(page, "regularization").select_option("l2")
    tid(page, "regularization-rate").select_option("10")
    tid(page, "learning-rate").select_option("10")
    wait_js(page, "xpnnPlayground.state.config.learning_rate === 10 && "
                  "xpnnPlayground.state.config.regularization_rate === 10")
    tid(page, "play").click()
    wait_js(page, f"{STATE} === 'halted'")
    text = tid(page, "status").inner_text()
    assert "NaN" in text and "learning rate 10" in text
    epoch = value(page, "epoch")
    page.wait_for_timeout(400)
    assert value(page, "epoch") == epoch and tid(page, "play").is_visible()
    assert np.isfinite(value(page, "loss-test")) and np.isfinite(value(page, "loss-train"))
    weights = page.evaluate("xpnnPlayground.frame.weights")
    assert all(np.isfinite(np.array(w, dtype=float)).all() for w in weights)
    tid(page, "learning-rate").select_option("0.03")
    tid(page, "regularization").select_option("none")
    tid(page, "optimizer").select_option("adam")
    wait_js(page, "xpnnPlayground.state.config.optimizer === 'adam'")


def test_export_and_load_in_python_gives_the_page_predictions(page, tmp_path):
    tid(page, "dataset-gauss").click()
    wait_js(page, "xpnnPlayground.state.config.dataset === 'gauss'")
    tid(page, "classes").select_option("3")
    wait_js(page, "xpnnPlayground.state.classes === 3")
    for _ in range(3):
        epoch = value(page, "epoch")
        tid(page, "step").click()
        wait_js(page, f"{EPOCH} === {epoch + 1}")
    with page.expect_download() as dl:
        tid(page, "export-weights").click()
    dl.value.save_as(tmp_path / "w.safetensors")
    with page.expect_download() as dl:
        tid(page, "export-script").click()
    dl.value.save_as(tmp_path / "model.py")
    state = page.evaluate("xpnnPlayground.state")
    shown = np.array(page.evaluate("xpnnPlayground.boundaryValues()"))      # (3, n*n)
    accuracy = value(page, "accuracy")
    pts = grid_points(state["extent"], state["grid"])
    np.save(tmp_path / "grid.npy", pts)
    np.save(tmp_path / "test.npy", np.array(state["test"]["x"], dtype=np.float32))
    # the exported script, run as its own program on the downloaded weights file
    driver = ("import runpy, sys, numpy as np; a = sys.argv[1:]; sys.argv = a[:2]; "
              "ns = runpy.run_path(a[0], run_name='exported'); "
              "np.save(a[2], ns['predict'](np.load(a[3]))); "
              "np.save(a[4], ns['predict'](np.load(a[5])))")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-c", driver] + [
        str(tmp_path / f) for f in ("model.py", "w.safetensors", "p_grid.npy", "grid.npy",
                                    "p_test.npy", "test.npy")],
        env=env, timeout=120, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    p_grid = np.load(tmp_path / "p_grid.npy")
    assert p_grid.shape == (len(pts), 3)
    # the page holds each probability as a byte: within half a step of the script's
    np.testing.assert_allclose(shown.T, p_grid, atol=0.5 / 255 + 1e-4)
    p_test = np.load(tmp_path / "p_test.npy")
    script_acc = float(np.mean(p_test.argmax(1) == np.array(state["test"]["y"])))
    assert abs(script_acc - accuracy) < 1e-6


def test_big_network_stays_usable(page, server):
    page.goto("about:blank")
    page.goto(server.url + "#dataset=circle&layers=" + ",".join(["16"] * 8) + "&act=tanh")
    ready(page)
    wait_js(page, "xpnnPlayground.state.config.layers.length === 8")
    assert page.locator(".node").count() == 7 + 8 * 16 + 1
    tid(page, "add-neuron-7").click()
    wait_js(page, "xpnnPlayground.state.config.layers[7] === 17")
    tid(page, "play").click()
    wait_js(page, f"{EPOCH} > 3")
    tid(page, "pause").click()
    wait_js(page, f"{STATE} === 'paused'")
    tid(page, "remove-layer").click()
    wait_js(page, "xpnnPlayground.state.config.layers.length === 7")


def test_no_errors_in_the_page(page):
    # the bad CSV's HTTP 400 is logged by chromium; the page showed its message (above)
    assert [e for e in page.errors if "status of 400" not in e] == []
