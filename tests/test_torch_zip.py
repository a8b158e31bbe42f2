"""``xpnn.load`` of files that ``torch.save`` wrote (xpnn/io/torch_zip.py): state dicts,
optimizer states and checkpoint dicts load as ``torch.load`` returns them, without PyTorch's
unpickler and without running anything the file names.

Each file is written here by torch 2.13 and read back by xpnn: values exactly (bit for bit),
dtypes, shapes, containers and their types, strides and shared storages, placement by
map_location, and the refusals (a pickled module, a global that is not a tensor's rebuild
function, a damaged archive, the legacy pre-1.6 format) with xpnn's CheckpointError /
UnsafeGlobalError (a pickle.UnpicklingError, as PyTorch's weights_only refusal).
"""
import collections
import io
import pickle
import zipfile

import numpy as np
import pytest

import xpnn
from conftest import to_np
from xpnn.io.format import CheckpointError
from xpnn.io.safe import UnsafeGlobalError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(77)


def _saved(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def _load(data, **kw):
    return xpnn.load(io.BytesIO(data), **kw)


def _same(got, want):
    np.testing.assert_array_equal(to_np(got), want.detach().cpu().numpy())
    assert str(got.dtype).rpartition(".")[2] == str(want.dtype).rpartition(".")[2]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "int16", "int32",
                                   "int64", "uint8", "bool", "complex64", "complex128"])
def test_every_dtype_bit_for_bit(dtype):
    t = torch.from_numpy((RNG.standard_normal((3, 4)) * 50).astype(
        np.complex128 if "complex" in dtype else np.float64)).to(getattr(torch, dtype))
    got = _load(_saved({"t": t}))["t"]
    _same(got, t)


def test_bfloat16_needs_a_backend_that_has_it():
    t = torch.randn(5).to(torch.bfloat16)
    data = _saved({"t": t})
    with pytest.raises(CheckpointError, match="bfloat16 tensor cannot be loaded on backend "
                                              "'numpy'"):
        _load(data)
    got = _load(data, map_location="torch")["t"]
    assert got.backend == "torch" and torch.equal(got.array, t)


def test_views_strides_and_shared_storage():
    base = torch.arange(24.0).reshape(4, 6)
    obj = {"t": base.t(), "slice": base[1:3, ::2], "row": base[2], "base": base,
           "expanded": torch.ones(3, 1).expand(3, 4), "empty": base[:0]}
    got = _load(_saved(obj))
    for k, v in obj.items():
        _same(got[k], v)
    got["row"].add_(1.0)  # each view loads as its own tensor: writes stay in it
    assert float(got["base"][2, 0].item()) == 12.0


def _conv_model(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))


def test_state_dict_into_a_model():
    """A PyTorch model's state dict (buffers, num_batches_tracked, _metadata) loads into the
    same xpnn model, which then computes what PyTorch's does."""
    tm = _conv_model(torch)
    tm.train()
    tm(torch.randn(8, 2, 6, 6))  # running statistics move
    tm.eval()
    sd = _load(_saved(tm.state_dict()))
    assert isinstance(sd, collections.OrderedDict) and list(sd) == list(tm.state_dict())
    assert sd._metadata == tm.state_dict()._metadata
    assert str(sd["1.num_batches_tracked"].dtype).endswith("int64")
    m = _conv_model(xpnn)
    m.load_state_dict(sd)
    m.eval()
    x = RNG.standard_normal((2, 2, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(to_np(m(xpnn.tensor(x))), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_checkpoint_dict_resumes_training():
    """{"epoch", "model", "optimizer"} from a PyTorch run: xpnn's model and Adam take the
    states and the next step moves the weights as PyTorch's next step does."""
    torch.manual_seed(1)
    tm = torch.nn.Linear(4, 2)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    for _ in range(3):
        topt.zero_grad()
        torch.nn.functional.mse_loss(tm(x), y).backward()
        topt.step()
    ck = _load(_saved({"epoch": 3, "model": tm.state_dict(), "optimizer": topt.state_dict(),
                       "best": 0.25, "note": "adam", "tag": b"\x00\x01"}))
    assert ck["epoch"] == 3 and ck["best"] == 0.25 and ck["note"] == "adam"
    assert ck["tag"] == b"\x00\x01"
    m = xpnn.nn.Linear(4, 2)
    m.load_state_dict(ck["model"])
    opt = xpnn.optim.Adam(m.parameters(), lr=0.01)
    opt.load_state_dict(ck["optimizer"])
    for lib, model, o in ((xpnn, m, opt), (torch, tm, topt)):
        o.zero_grad()
        xx, yy = (lib.tensor(a.numpy()) for a in (x, y))
        lib.nn.functional.mse_loss(model(xx), yy).backward()
        o.step()
    np.testing.assert_allclose(to_np(m.weight), tm.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-7)


def test_parameters_sizes_dtypes_devices_and_numbers():
    obj = {"p": torch.nn.Parameter(torch.ones(2)), "frozen": torch.nn.Parameter(
        torch.zeros(1), requires_grad=False), "g": torch.ones(2, requires_grad=True),
        "size": torch.Size([2, 3]), "dtype": torch.float16, "device": torch.device("cpu"),
        "np": np.float64(0.5), "npi": np.int64(7), "set": {1, 2}, "tuple": (1, (2.5, None)),
        "slice": slice(1, 5, 2), "complex": 1 + 2j}
    got = _load(_saved(obj))
    assert isinstance(got["p"], xpnn.nn.Parameter) and got["p"].requires_grad
    assert isinstance(got["frozen"], xpnn.nn.Parameter) and not got["frozen"].requires_grad
    assert got["g"].requires_grad and not isinstance(got["g"], xpnn.nn.Parameter)
    assert tuple(got["size"]) == (2, 3) and got["dtype"] == xpnn.float16
    assert str(got["device"]) == "cpu"
    assert got["np"] == 0.5 and got["npi"] == 7
    for k in ("set", "tuple", "slice", "complex"):
        assert got[k] == obj[k]


def test_map_location_places_the_tensors():
    data = _saved({"w": torch.randn(3)})
    assert _load(data)["w"].backend == "numpy"
    assert _load(data, map_location="torch")["w"].backend == "torch"
    assert _load(data, map_location={"cpu": "torch"})["w"].backend == "torch"
    seen = []
    got = _load(data, map_location=lambda t, loc: seen.append(loc))
    assert seen == ["cpu"] and got["w"].backend == "numpy"


def test_a_file_path_as_torch_load_takes_it(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"a": torch.arange(3)}, path)
    np.testing.assert_array_equal(to_np(xpnn.load(path)["a"]), [0, 1, 2])
    np.testing.assert_array_equal(to_np(xpnn.load(str(path), weights_only=True)["a"]),
                                  [0, 1, 2])


def test_a_pickled_module_is_refused():
    with pytest.raises(UnsafeGlobalError, match=r"torch\.nn\.modules.*save and load "
                                                r"model\.state_dict\(\)"):
        _load(_saved(torch.nn.Linear(2, 2)))


def _archive(pkl, storages=None, name="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/data.pkl", pkl)
        for key, raw in (storages or {}).items():
            z.writestr(f"{name}/data/{key}", raw)
    return buf.getvalue()


class _System:
    """Pickles as a call of os.system: what a malicious file would hold."""

    def __reduce__(self):
        import os
        return (os.system, ("touch /tmp/xpnn_pwned_by_pickle",))


def test_nothing_the_file_names_runs(tmp_path):
    import os
    marker = "/tmp/xpnn_pwned_by_pickle"
    if os.path.exists(marker):
        os.remove(marker)
    data = _archive(pickle.dumps({"x": _System()}, protocol=2))
    with pytest.raises(UnsafeGlobalError, match=r"posix\.system|os\.system"):
        _load(data)
    assert not os.path.exists(marker)
    with pytest.raises(pickle.UnpicklingError):  # PyTorch's class for the same refusal
        _load(data)


def test_damaged_archives_raise_checkpoint_errors():
    good = _saved({"w": torch.arange(6.0)})
    z = zipfile.ZipFile(io.BytesIO(good))
    prefix = [n for n in z.namelist() if n.endswith("data.pkl")][0][:-len("data.pkl")]
    pkl = z.read(prefix + "data.pkl")
    with pytest.raises(CheckpointError, match="data is missing"):
        _load(_archive(pkl, {}, name=prefix[:-1]))
    with pytest.raises(CheckpointError, match="storage holds 8 bytes, not 6 x 4"):
        _load(_archive(pkl, {"0": b"\x00" * 8}, name=prefix[:-1]))
    with pytest.raises(CheckpointError, match="malformed"):
        _load(_archive(pkl[:20], {}, name=prefix[:-1]))
    with pytest.raises(CheckpointError, match="zip archive"):
        _load(good[:40])
    with pytest.raises(CheckpointError, match="no single '<name>/data.pkl'"):
        _load(_archive(b"", {}, name="a/b"))


def test_a_view_past_its_storage_is_refused():
    """A tensor whose size and stride reach past its storage (a crafted file) is an error,
    not a read of other memory."""
    src = ("\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00((X\x07\x00\x00\x00storage"
           "ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x0a"
           "\x85K\x01\x85\x89NtR.")
    pkl = src.encode("latin1")  # _rebuild_tensor_v2(storage of 4 floats, 0, (10,), (1,))
    with pytest.raises(CheckpointError, match="reaches past its storage of 4 elements"):
        _load(_archive(pkl, {"0": b"\x00" * 16}))


def test_legacy_format_says_how_to_convert():
    with pytest.raises(CheckpointError, match="legacy format.*save it again with torch.save"):
        _load(_saved({"w": torch.ones(2)}, _use_new_zipfile_serialization=False))
