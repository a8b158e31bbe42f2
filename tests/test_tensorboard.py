"""xpnn.utils.tensorboard.SummaryWriter against torch.utils.tensorboard's: both write the same
things to event files, read back with TensorBoard's own reader (EventAccumulator) and
compared field by field; the files are flushed as promised and survive a crash."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import xpnn
from xpnn.utils.tensorboard import SummaryWriter

accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
torch = pytest.importorskip("torch")
torch_tb = pytest.importorskip("torch.utils.tensorboard")

GUIDE = {"histograms": 0, "images": 0, "tensors": 0, "scalars": 0}


def _read(path):
    ea = accumulator.EventAccumulator(str(path), size_guidance=GUIDE)
    ea.Reload()
    return ea


def _log(writer, m):
    """The same calls on either library's writer."""
    rng = np.random.default_rng(0)
    for step in range(4):
        writer.add_scalar("train/loss", m.tensor(1.0 / (step + 1)), step)
        writer.add_scalar("lr", 0.1 * 0.5 ** step, step)
    values = rng.normal(size=500).astype(np.float32)
    writer.add_histogram("weights", m.tensor(values), 2)
    writer.add_histogram("weights_auto", values, 2, bins="auto")
    writer.add_histogram("weights_10", values, 3, bins=10, max_bins=4)
    writer.add_image("img", m.tensor(rng.random((3, 6, 5)).astype(np.float32)), 1)
    writer.add_image("img_hwc", (rng.random((4, 7, 3)) * 255).astype(np.uint8), 1,
                     dataformats="HWC")
    writer.add_image("gray", rng.random((5, 4)).astype(np.float32), 1, dataformats="HW")
    writer.add_text("notes", "lr **0.1**", 0)
    writer.add_scalars("run", {"a": 1.0, "b": 2.0}, 5)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb")
    for name, m, cls in (("xpnn", xpnn, SummaryWriter),
                         ("torch", torch, torch_tb.SummaryWriter)):
        with cls(str(root / name)) as w:
            _log(w, m)
    return _read(root / "xpnn"), _read(root / "torch"), root


def test_the_same_tags(both):
    mine, theirs, _ = both
    for kind in ("scalars", "histograms", "images", "tensors"):
        assert sorted(mine.Tags()[kind]) == sorted(theirs.Tags()[kind]), kind


def test_scalars(both):
    mine, theirs, _ = both
    for tag in theirs.Tags()["scalars"]:
        a, b = mine.Scalars(tag), theirs.Scalars(tag)
        assert [e.step for e in a] == [e.step for e in b]
        np.testing.assert_allclose([e.value for e in a], [e.value for e in b], rtol=1e-7)


def test_histograms(both):
    mine, theirs, _ = both
    for tag in theirs.Tags()["histograms"]:
        (a,), (b,) = mine.Histograms(tag), theirs.Histograms(tag)
        assert a.step == b.step
        ha, hb = a.histogram_value, b.histogram_value
        for field in ("min", "max", "num", "sum", "sum_squares"):
            np.testing.assert_allclose(getattr(ha, field), getattr(hb, field), rtol=1e-6)
        np.testing.assert_allclose(ha.bucket_limit, hb.bucket_limit, rtol=1e-6)
        np.testing.assert_array_equal(ha.bucket, hb.bucket)


def _pixels(event):
    import matplotlib.image
    return matplotlib.image.imread(io.BytesIO(event.encoded_image_string), format="png")


def test_images(both):
    mine, theirs, _ = both
    for tag in ("img", "img_hwc"):
        (a,), (b,) = mine.Images(tag), theirs.Images(tag)
        assert (a.width, a.height, a.step) == (b.width, b.height, b.step)
        np.testing.assert_array_equal(_pixels(a), _pixels(b))
    (g,) = mine.Images("gray")
    assert (g.width, g.height) == (4, 5)


def test_text_and_add_scalars_runs(both):
    mine, theirs, root = both
    (a,), (b,) = mine.Tensors("notes/text_summary"), theirs.Tensors("notes/text_summary")
    assert a.tensor_proto.string_val == b.tensor_proto.string_val == [b"lr **0.1**"]
    assert sorted(p.name for p in (root / "xpnn").iterdir() if p.is_dir()) == \
        sorted(p.name for p in (root / "torch").iterdir() if p.is_dir()) == ["run_a", "run_b"]
    run = _read(root / "xpnn" / "run_b")
    assert [(e.step, e.value) for e in run.Scalars("run")] == [(5, 2.0)]


def test_hparams_are_read_by_the_hparams_plugin(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2
    with SummaryWriter(str(tmp_path)) as w:
        w.add_hparams({"lr": 0.01, "opt": "adam", "bn": True}, {"acc": 0.9},
                      hparam_domain_discrete={"opt": ["adam", "sgd"]}, run_name="r1")
    run = _read(tmp_path / "r1")
    content = run.PluginTagToContent("hparams")
    exp = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    names = {h.name: h for h in exp.experiment.hparam_infos}
    assert set(names) == {"lr", "opt", "bn"}
    assert [v.string_value for v in names["opt"].domain_discrete.values] == ["adam", "sgd"]
    assert [m.name.tag for m in exp.experiment.metric_infos] == ["acc"]
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == 0.01
    assert start.hparams["opt"].string_value == "adam" and start.hparams["bn"].bool_value
    assert [e.value for e in run.Scalars("acc")] == [pytest.approx(0.9)]


def test_purge_step_and_default_logdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_trial")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_trial")
    w.close()
    with SummaryWriter(str(tmp_path / "p")) as w:
        for s in range(6):
            w.add_scalar("x", s, s)
    with SummaryWriter(str(tmp_path / "p"), purge_step=3) as w:
        w.add_scalar("x", 30.0, 3)
    assert [(e.step, e.value) for e in _read(tmp_path / "p").Scalars("x")] == \
        [(0, 0), (1, 1), (2, 2), (3, 30)]


def test_a_crashed_run_keeps_what_it_logged(tmp_path):
    """Events are in the file once max_queue of them are written; the rest at exit."""
    code = (f"from xpnn.utils.tensorboard import SummaryWriter\n"
            f"w = SummaryWriter({str(tmp_path)!r}, max_queue=2)\n"
            f"for s in range(5): w.add_scalar('x', s, s)\n"
            f"raise SystemExit(3)\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3
    assert [e.step for e in _read(tmp_path).Scalars("x")] == [0, 1, 2, 3, 4]


def test_bad_input_and_add_graph():
    w = SummaryWriter.__new__(SummaryWriter)  # no files: the checks come first
    with pytest.raises(ValueError, match="one number"):
        w.add_scalar("x", np.ones(3))
    with pytest.raises(ValueError, match="dataformats"):
        w.add_image("x", np.ones((3, 4)), dataformats="CHW")
    with pytest.warns(UserWarning, match="add_graph"):
        w.add_graph(xpnn.nn.Linear(2, 2))
