"""xpnn.data: the IDX reader, datasets, the downloader (against a local server), DataLoader."""
import gzip
import hashlib
import http.server
import os
import threading
import typing
from pathlib import Path

import numpy as np
import pytest
from conftest import to_np

import xpnn
from xpnn import data as D
from xpnn.data import datasets as DS

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


# -- IDX ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, rng, dtype, gz):
    a = (rng.random((3, 5, 4)) * 100).astype(dtype)
    p = tmp_path / ("a.idx.gz" if gz else "a.idx")
    D.write_idx(p, a)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == gz
    b = D.read_idx(p, ndim=3, shape=(5, 4))
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    b[0, 0, 0] = 1  # a writable, native-order copy


def _idx_bytes(arr):
    a = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes() + a.tobytes()


def test_idx_bad_magic(tmp_path):
    p = tmp_path / "bad.idx"
    p.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(D.IDXError, match=r"bad\.idx.*bad magic number 0x01020801"):
        D.read_idx(p)
    p.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")  # unknown type code 0x07
    with pytest.raises(D.IDXError, match="bad magic"):
        D.read_idx(p)


def test_idx_truncated_and_trailing(tmp_path):
    full = _idx_bytes(np.arange(24).reshape(2, 3, 4))
    p = tmp_path / "cut.idx"
    p.write_bytes(full[:-5])
    with pytest.raises(D.IDXError, match=r"cut\.idx.*truncated.*\(2, 3, 4\).*40 bytes.*35"):
        D.read_idx(p)
    p.write_bytes(full[:10])  # inside the dimension header
    with pytest.raises(D.IDXError, match="truncated header"):
        D.read_idx(p)
    p.write_bytes(full[:2])
    with pytest.raises(D.IDXError, match="too short"):
        D.read_idx(p)
    p.write_bytes(full + b"\x00")
    with pytest.raises(D.IDXError, match="trailing bytes"):
        D.read_idx(p)


def test_idx_truncated_gzip(tmp_path):
    z = gzip.compress(_idx_bytes(np.arange(1000) % 256))
    p = tmp_path / "cut.idx.gz"
    p.write_bytes(z[: len(z) // 2])
    with pytest.raises(D.IDXError, match=r"cut\.idx\.gz.*corrupt or truncated gzip"):
        D.read_idx(p)


def test_idx_unexpected_dims_and_missing(tmp_path):
    p = tmp_path / "x.idx"
    D.write_idx(p, np.zeros((2, 5, 5), np.uint8))
    with pytest.raises(D.IDXError, match="has 3 dimensions, expected 1"):
        D.read_idx(p, ndim=1)
    with pytest.raises(D.IDXError, match=r"\(2, 5, 5\), expected trailing dimensions"):
        D.read_idx(p, shape=(28, 28))
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        D.read_idx(tmp_path / "nope.idx")


# -- toy datasets ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [D.moons, D.circles, D.spirals])
def test_toy_datasets(make):
    X, y = make(n=301, seed=3)
    assert X.shape == (301, 2) and X.dtype == np.float32
    assert y.shape == (301,) and y.dtype == np.int64
    X2, y2 = make(n=301, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(n=301, seed=4)[0])
    assert set(np.unique(y)) == set(range(y.max() + 1)) and y.max() >= 1


def test_xor_and_bad_args():
    X, y = D.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    Xn, _ = D.xor(n=100, noise=0.1, seed=1)
    assert Xn.shape == (100, 2) and Xn.dtype == np.float32
    with pytest.raises(ValueError, match="moons: n must be an int >= 2, got 0"):
        D.moons(0)
    with pytest.raises(ValueError, match="noise must be a finite number"):
        D.circles(10, noise=-1)
    with pytest.raises(ValueError, match="classes must be an int >= 2"):
        D.spirals(10, classes=1)


def test_train_test_split_stratified():
    X = np.arange(100, dtype=np.float32)[:, None]
    y = np.repeat([0, 1, 2, 3], 25).astype(np.int64)
    (a, b), (c, d) = D.train_test_split(X, y, test_size=0.2, seed=0)
    assert len(a) == 80 and len(c) == 20
    assert np.bincount(d).tolist() == [5, 5, 5, 5]
    assert sorted(np.concatenate([a, c])[:, 0].tolist()) == list(range(100))
    np.testing.assert_array_equal(a[:, 0].astype(np.int64) // 25, b)  # rows stay paired
    with pytest.raises(ValueError, match="X has 100 samples but y has 3"):
        D.train_test_split(X, y[:3])


def test_digits():
    pytest.importorskip("sklearn")
    (Xtr, ytr), (Xte, _) = D.digits()
    assert Xtr.shape == (1438, 64) and Xte.shape == (359, 64)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert 0.0 <= Xtr.min() and Xtr.max() <= 1.0
    assert D.digits(flatten=False)[0][0].shape == (1438, 1, 8, 8)


def test_mnist1d_is_reference_and_keeps_global_rng():
    pytest.importorskip("mnist1d")
    before = np.random.get_state()[1].copy()
    (Xtr, ytr), (Xte, _) = D.mnist1d()
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert Xtr.shape == (4000, 40) and Xte.shape == (1000, 40)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert sorted(np.unique(ytr).tolist()) == list(range(10))
    # standardised as the package does (over the whole set)
    allx = np.concatenate([Xtr, Xte])
    assert abs(allx.mean()) < 1e-3 and abs(allx.std() - 1) < 1e-3


# -- IDX datasets: local files ----------------------------------------------------------------
def _write_set(folder, n_train=6, n_test=4, gz=True, labels_train=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    D.write_idx(folder / f"train-images-idx3-ubyte{suffix}",
                rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8))
    lt = np.arange(n_train) % 10 if labels_train is None else labels_train
    D.write_idx(folder / f"train-labels-idx1-ubyte{suffix}", np.asarray(lt, np.uint8))
    D.write_idx(folder / f"t10k-images-idx3-ubyte{suffix}",
                rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8))
    D.write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}",
                (np.arange(n_test) % 10).astype(np.uint8))
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_from_path(tmp_path, gz):
    folder = _write_set(tmp_path / "f", gz=gz)
    (Xtr, ytr), (Xte, _) = D.fashion_mnist(path=folder)
    assert Xtr.shape == (6, 1, 28, 28) and Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert Xte.shape == (4, 1, 28, 28) and 0 <= Xtr.min() and Xtr.max() <= 1
    assert D.mnist(path=folder, flatten=True)[0][0].shape == (6, 784)


def test_fashion_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\.gz.*not found in "
                       r"path=.*nowhere"):
        D.fashion_mnist(path=tmp_path / "nowhere")
    folder = _write_set(tmp_path / "mismatch", n_train=6)
    D.write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(D.IDXError, match=r"train-images.*6 images but .*train-labels.*5 "
                       "labels"):
        D.fashion_mnist(path=folder)
    folder = _write_set(tmp_path / "magic")
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03xxxx"))
    with pytest.raises(D.IDXError, match=r"t10k-labels-idx1-ubyte\.gz.*3 dimensions"):
        D.fashion_mnist(path=folder)
    folder = _write_set(tmp_path / "cut")
    raw = gzip.decompress((folder / "train-images-idx3-ubyte.gz").read_bytes())
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(D.IDXError, match=r"train-images-idx3-ubyte\.gz.*truncated"):
        D.fashion_mnist(path=folder)


def test_search_order_xpnn_data_then_offline_error(tmp_path, monkeypatch):
    src = dict(DS.SOURCES["fashion-mnist"], system_dirs=[str(tmp_path / "no-system")],
               mirrors=["http://127.0.0.1:9/"])  # port 9 (discard): nothing listens
    monkeypatch.setitem(DS.SOURCES, "fashion-mnist", src)
    monkeypatch.setenv("XPNN_CACHE", str(tmp_path / "cache"))
    _write_set(tmp_path / "data" / "fashion-mnist", n_train=7)
    monkeypatch.setenv("XPNN_DATA", str(tmp_path / "data"))
    assert len(D.fashion_mnist()[0][0]) == 7
    monkeypatch.setenv("XPNN_DATA", str(tmp_path / "empty"))
    with pytest.raises(D.DatasetNotFoundError, match="download=False.*apt-get install "
                       "dataset-fashion-mnist.*XPNN_DATA"):
        D.fashion_mnist(download=False)
    with pytest.raises(D.DatasetNotFoundError, match="download failed.*cannot reach.*apt-get "
                       "install dataset-fashion-mnist"):
        D.fashion_mnist()
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no partial file


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_files():
    (Xtr, ytr), (Xte, yte) = D.fashion_mnist(path=FASHION_DIR)
    assert Xtr.shape == (60000, 1, 28, 28) and Xte.shape == (10000, 1, 28, 28)
    assert np.bincount(ytr).tolist() == [6000] * 10 and np.bincount(yte).tolist() == [1000] * 10


# -- download against a local HTTP server -------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    files: typing.ClassVar[dict] = {}  # path -> (body, bytes actually sent)

    def do_GET(self):
        if self.path not in self.files:
            self.send_error(404)
            return
        body, send = self.files[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:send])  # fewer bytes than announced: a cut transfer
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.files
    httpd.shutdown()
    httpd.server_close()
    thread.join()
    _Handler.files.clear()


def test_download_good(server, tmp_path):
    base, files = server
    body = os.urandom(3 * 100_000 + 17)
    files["/f.bin"] = (body, len(body))
    dest = D.download(f"{base}/f.bin", tmp_path / "c" / "f.bin",
                      hashlib.sha256(body).hexdigest(), chunk=65536)
    assert dest.read_bytes() == body and D.sha256_of(dest) == hashlib.sha256(body).hexdigest()
    assert os.listdir(tmp_path / "c") == ["f.bin"]


def test_download_checksum_mismatch(server, tmp_path):
    base, files = server
    files["/f.bin"] = (b"tampered" * 100, 800)
    with pytest.raises(D.DownloadError, match=r"f\.bin: checksum mismatch.*expected 00ff"):
        D.download(f"{base}/f.bin", tmp_path / "f.bin", "00ff" * 16)
    assert os.listdir(tmp_path) == []


def test_download_truncated_and_missing(server, tmp_path):
    base, files = server
    body = b"x" * 50_000
    files["/cut.bin"] = (body, 20_000)
    with pytest.raises(D.DownloadError, match="truncated transfer"):
        D.download(f"{base}/cut.bin", tmp_path / "cut.bin", hashlib.sha256(body).hexdigest())
    with pytest.raises(D.DownloadError, match="HTTP 404"):
        D.download(f"{base}/missing.bin", tmp_path / "m.bin", "00" * 32)
    assert os.listdir(tmp_path) == []


def test_dataset_download_end_to_end(server, tmp_path, monkeypatch):
    base, files = server
    folder = _write_set(tmp_path / "upstream", n_train=5)
    sums = {}
    for f in folder.iterdir():
        files["/fm/" + f.name] = (f.read_bytes(), f.stat().st_size)
        sums[f.name] = D.sha256_of(f)
    src = dict(DS.SOURCES["fashion-mnist"], mirrors=[f"{base}/broken/", f"{base}/fm/"],
               system_dirs=[], sha256=sums)
    monkeypatch.setitem(DS.SOURCES, "fashion-mnist", src)
    monkeypatch.delenv("XPNN_DATA", raising=False)
    monkeypatch.setenv("XPNN_CACHE", str(tmp_path / "cache"))
    (Xtr, _), _ = D.fashion_mnist()  # the first mirror 404s, the second serves
    assert len(Xtr) == 5
    assert sorted(os.listdir(tmp_path / "cache" / "fashion-mnist")) == sorted(sums)
    files.clear()  # now served from the cache without the network
    assert len(D.fashion_mnist()[0][0]) == 5


# -- DataLoader --------------------------------------------------------------------------------
def test_loader_batches(backend):
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    loader = D.DataLoader(X, y, batch_size=4, backend=backend)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, xpnn.Tensor) and xb.backend == backend
    assert xpnn.backend.dtype_name(xb.dtype) == "float32"  # float64 narrowed
    assert xpnn.backend.dtype_name(yb.dtype) == "int64"
    np.testing.assert_array_equal(np.concatenate([to_np(b[1]) for b in batches]), y)
    dropped = D.DataLoader(X, y, batch_size=4, drop_last=True, backend=backend)
    assert len(dropped) == 2 and dropped.num_samples == 8
    assert [len(b[0]) for b in dropped] == [4, 4]


def test_loader_shuffle_seeded(backend):
    X = np.arange(50, dtype=np.float32)[:, None]
    y = np.arange(50)

    def epochs(loader):
        return [np.concatenate([to_np(b[1]) for b in loader]) for _ in range(2)]

    a = epochs(D.DataLoader(X, y, batch_size=8, shuffle=True, backend=backend, seed=5))
    b = epochs(D.DataLoader(X, y, batch_size=8, shuffle=True, backend=backend, seed=5))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], a[1])  # a new order every epoch
    assert sorted(a[0].tolist()) == list(range(50))
    # the seeded order is the same on every backend: it comes from a host generator
    ref = epochs(D.DataLoader(X, y, batch_size=8, shuffle=True, backend="numpy", seed=5))
    np.testing.assert_array_equal(a[0], ref[0])
    for batch in D.DataLoader(X, y, batch_size=8, shuffle=True, backend=backend, seed=5):
        np.testing.assert_array_equal(to_np(batch[0])[:, 0].astype(np.int64), to_np(batch[1]))
    # seed=None: the backend's generator, reproducible through xpnn.manual_seed
    xpnn.manual_seed(11)
    c = epochs(D.DataLoader(X, y, batch_size=8, shuffle=True, backend=backend))
    xpnn.manual_seed(11)
    d = epochs(D.DataLoader(X, y, batch_size=8, shuffle=True, backend=backend))
    np.testing.assert_array_equal(c[0], d[0])


def test_loader_host_side_and_x_only(backend):
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    host = D.DataLoader(X, np.arange(6), batch_size=4, shuffle=True, backend=backend, seed=2,
                        on_device=False)
    dev = D.DataLoader(X, np.arange(6), batch_size=4, shuffle=True, backend=backend, seed=2)
    for (a, ya), (b, yb) in zip(host, dev):
        np.testing.assert_array_equal(to_np(a), to_np(b))
        assert a.backend == backend
    only = list(D.DataLoader(X, batch_size=5, backend=backend))
    assert isinstance(only[0], xpnn.Tensor) and only[1].shape == (1, 2)


def test_loader_bad_input():
    X = np.zeros((10, 3), np.float32)
    with pytest.raises(ValueError, match=r"X has 10 samples \(shape \(10, 3\)\) but y has 9"):
        D.DataLoader(X, np.zeros(9))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=f"batch_size must be an int >= 1, got {bad!r}"):
            D.DataLoader(X, batch_size=bad)
    with pytest.raises(ValueError, match="empty"):
        D.DataLoader(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="must be numeric"):
        D.DataLoader(np.array(["a", "b"]))


def test_loader_older_form_is_torch_loader(backend, monkeypatch):
    """DataLoader(X, y) is xpnn.utils.data.DataLoader over a TensorDataset: PyTorch's
    attributes, and device arrays stay on their device (no host round trip)."""
    X = xpnn.tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = xpnn.tensor(np.arange(6, dtype=np.int32))
    reads = []
    real = xpnn.backend.to_numpy
    monkeypatch.setattr(xpnn.backend, "to_numpy", lambda a: reads.append(1) or real(a))
    loader = D.DataLoader(X, y, batch_size=4, shuffle=True, seed=0)
    batches = list(loader)
    assert reads == [] and loader.backend == backend
    assert isinstance(loader.dataset, xpnn.utils.data.TensorDataset)
    assert isinstance(loader.sampler, xpnn.utils.data.RandomSampler)
    assert loader.batch_size == 4 and len(loader) == 2 and loader.num_samples == 6
    assert xpnn.backend.dtype_name(batches[0][1].dtype) == "int64"
    np.testing.assert_array_equal(np.sort(np.concatenate([to_np(b[1]) for b in batches])),
                                  np.arange(6))
