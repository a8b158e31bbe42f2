"""The examples reach their accuracy goals: on the full data where that takes seconds (XOR,
moons, digits), on a shorter run with a lower but still discriminating bar otherwise
(MNIST-1D, Fashion-MNIST)."""
import importlib.util
from pathlib import Path

import pytest

from xpnn.data import DatasetNotFoundError
from xpnn.data import datasets as DS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name):
    """Import examples/<name>.py under a private module name (so examples/mnist1d.py does not
    shadow the mnist1d package)."""
    spec = importlib.util.spec_from_file_location(f"_xpnn_example_{name}",
                                                  EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def one_blas_thread():
    """These are small matrices: one BLAS thread is faster than a pool fighting over a busy
    CI machine's cores (OpenBLAS spins; measured 5x slower on a loaded 2-core box)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


def test_xor_learns_all_four(capsys):
    assert _example("xor").main([]) == 1.0
    assert "test accuracy: 1.0000 (4/4)" in capsys.readouterr().out


def test_moons_quick_start(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    acc = _example("moons").main(["--out", str(tmp_path)])
    assert acc >= 0.99  # issue 3: >= 99% on 1000 points, noise 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "moons_boundary.png", "moons_history.png", "moons_network.png"]
    assert capsys.readouterr().out.strip().endswith(f"test accuracy: {acc:.4f}")


def test_moons_on_torch():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as above: 15x faster than 2 threads on a busy 2-core box
    try:
        assert _example("moons").main(["--backend", "torch", "--epochs", "25"]) >= 0.99
    finally:
        torch.set_num_threads(threads)


def test_digits_mlp():
    pytest.importorskip("sklearn")
    assert _example("digits").main([]) >= 0.975  # sklearn's MLPClassifier: ~0.97


def test_mnist1d_mlp_short_run():
    """8 of the 100 epochs: ~0.56 here (the full run reaches ~0.75); a linear model gets
    ~0.32 on MNIST-1D, chance is 0.10."""
    pytest.importorskip("mnist1d")
    assert _example("mnist1d").main(["--epochs", "8"]) >= 0.50


def test_fashion_mnist_subset(monkeypatch):
    """30000 training images, 2 epochs: 0.857 (the full 12-epoch run: ~0.90). Softmax
    regression, the linear baseline, tops out near 0.84 on the full data."""
    # never download in tests: with no local copy, skip
    monkeypatch.setitem(DS.SOURCES, "fashion-mnist",
                        dict(DS.SOURCES["fashion-mnist"], mirrors=[]))
    example = _example("fashion_mnist")
    try:
        acc = example.main(["--train-samples", "30000", "--epochs", "2"])
    except DatasetNotFoundError as e:
        pytest.skip(f"Fashion-MNIST files not on this machine: {e}")
    assert acc >= 0.845
