"""xpnn.save / xpnn.load / load_file: the safetensors format, across backends and tools,
validation that leaves the model untouched on any bad input, and atomic writes (a process
SIGKILLed at random moments while saving checkpoints never loses the latest one)."""
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import BACKENDS, needs_torch, to_np

import xpnn
from xpnn import nn
from xpnn.io import CheckpointError, atomic_write, clean_stale
from xpnn.io import format as fmt

EPS32 = float(np.finfo(np.float32).eps)


def place(spec):
    """backend=/device= for a conftest BACKENDS entry ("name" or "name:device")."""
    name, _, dev = spec.partition(":")
    return {"backend": name, "device": dev or None}


def mlp(backend, seed=0):
    xpnn.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7, **place(backend)), nn.Tanh(),
                         nn.Linear(7, 3, **place(backend)))


def weights(model):
    return {k: to_np(v).copy() for k, v in model.state_dict().items()}


def raw_file(path, header, data=b"", pad=True):
    """Write a safetensors file by hand (to build the invalid ones)."""
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + data)
    return str(path)


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("src", BACKENDS)
@pytest.mark.parametrize("dst", BACKENDS)
def test_round_trip_across_backends(tmp_path, src, dst, rng):
    a, b = mlp(src, seed=1), mlp(dst, seed=2)
    path = xpnn.save(a, tmp_path / "w.safetensors")
    assert xpnn.load(b, path) is b
    for k, v in weights(a).items():
        got = b.state_dict()[k]
        assert xpnn.backend.backend_of(got) is xpnn.get_backend(**place(dst))
        assert np.array_equal(to_np(got), v), k  # bytes are copied, so exactly equal
    x = rng.standard_normal((4, 5)).astype(np.float32)
    ya, yb = to_np(a(xpnn.tensor(x, **place(src)))), to_np(b(xpnn.tensor(x, **place(dst))))
    # same weights, different BLAS: float32 rounding of a 5- and 7-term dot product
    np.testing.assert_allclose(ya, yb, rtol=0, atol=32 * EPS32)


@pytest.mark.parametrize("dst", BACKENDS)
def test_load_onto_named_backend_moves_the_model(tmp_path, dst):
    a = mlp("numpy", seed=1)
    path = xpnn.save(a, tmp_path / "w.safetensors")
    b = xpnn.load(mlp("numpy", seed=2), path, **place(dst))
    assert {p._be for p in b.parameters()} == {xpnn.get_backend(**place(dst))}
    for k, v in weights(a).items():
        assert np.array_equal(to_np(b.state_dict()[k]), v)


def test_loaded_numpy_weights_are_writable(tmp_path):
    path = xpnn.save(mlp("numpy"), tmp_path / "w.safetensors")
    b = xpnn.load(mlp("numpy", seed=3), path)
    for p in b.parameters():
        assert p.array.flags.writeable and p.array.flags.owndata  # optimizers update in place


def test_safetensors_package_reads_our_files(tmp_path):
    st_np = pytest.importorskip("safetensors.numpy")
    st_torch = pytest.importorskip("safetensors.torch")
    a = mlp("numpy")
    path = xpnn.save(a, tmp_path / "w.safetensors", metadata={"note": "hello"})
    ref = weights(a)
    got = st_np.load_file(path)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k].dtype == np.float32 and np.array_equal(got[k], ref[k])
    for k, t in st_torch.load_file(path).items():
        assert np.array_equal(t.numpy(), ref[k])
    from safetensors import safe_open
    with safe_open(path, framework="numpy") as f:
        assert f.metadata()["note"] == "hello"


def test_file_written_by_pytorch_loads_with_same_outputs(tmp_path, backend, rng):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    path = str(tmp_path / "torch.safetensors")
    st_torch.save_file(ref.state_dict(), path)
    model = xpnn.load(mlp(backend), path)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    got = to_np(model(xpnn.tensor(x, backend=backend)))
    assert got.dtype == np.float32 and got.shape == (6, 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=32 * EPS32)


def test_every_dtype_round_trips_through_a_dict(tmp_path, rng):
    arrays = {"f64": rng.standard_normal((2, 3)), "f32": np.float32([1.5, -2]),
              "f16": np.float16([0.5, 1e4]), "i64": np.int64([-(2 ** 40), 3]),
              "i32": np.int32([[7]]), "i16": np.int16([-3]), "i8": np.int8([-128, 127]),
              "u8": np.uint8([255]), "u16": np.uint16([65535]), "u32": np.uint32([2 ** 32 - 1]),
              "u64": np.uint64([2 ** 64 - 1]), "b": np.array([True, False]),
              "scalar": np.array(3.25, dtype=np.float32), "empty": np.zeros((0, 4), np.float32)}
    path = xpnn.save(arrays, tmp_path / "d.safetensors")
    back = xpnn.load_file(path, backend="numpy")
    assert list(back) == list(arrays)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and \
            np.array_equal(back[k], v), k
    into = {}
    assert xpnn.load(into, path) is into and set(into) == set(arrays)


def test_bfloat16_on_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    t = torch.tensor([1.0, -2.5, 3e38], dtype=torch.bfloat16)
    path = xpnn.save({"w": t}, tmp_path / "bf.safetensors")
    assert torch.equal(st_torch.load_file(path)["w"], t)
    back = xpnn.load_file(path, backend="torch")["w"]
    assert back.dtype == torch.bfloat16 and torch.equal(back, t)
    with pytest.raises(CheckpointError, match="bfloat16.*backend 'numpy'"):
        xpnn.load_file(path, backend="numpy")


@needs_torch
def test_dict_target_fills_given_keys_on_their_backends(tmp_path):
    path = xpnn.save({"a": np.float32([1, 2]), "b": np.float32([3])}, tmp_path / "d.st")
    t = xpnn.tensor([0.0, 0.0], backend="torch")
    target = {"a": t, "b": xpnn.tensor([0.0], backend="array_api_strict").array}
    xpnn.load(target, path)
    assert target["a"] is t and t.backend == "torch" and to_np(t).tolist() == [1, 2]
    assert xpnn.backend.backend_of(target["b"]).name == "array_api_strict"


def test_save_rejects_bad_objects(tmp_path):
    with pytest.raises(TypeError, match=r"save: the saved object\['a'\]\[1\] is a "
                                        r"builtins.set, which xpnn.save cannot store"):
        xpnn.save({"a": [1.0, {2}]}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"\['f'\] is the function '.*<lambda>'.*not lambdas"):
        xpnn.save({"f": lambda x: x}, tmp_path / "x")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        xpnn.save({"a": np.zeros(1)}, tmp_path / "x", metadata={"n": 1})
    with pytest.raises(ValueError, match="keys starting with 'xpnn.' are reserved"):
        xpnn.save({"a": np.zeros(1)}, tmp_path / "x", metadata={"xpnn.object": "{}"})
    folder = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=f"the folder '{folder}' does not exist"):
        xpnn.save({"a": np.zeros(1)}, folder / "dir.st")
    assert os.listdir(tmp_path) == []


# -- validation: each bad file gives an error naming file and key; the model is unchanged -----
def _valid_header():
    return {"0.weight": {"dtype": "F32", "shape": [7, 5], "data_offsets": [0, 140]},
            "0.bias": {"dtype": "F32", "shape": [7], "data_offsets": [140, 168]},
            "2.weight": {"dtype": "F32", "shape": [3, 7], "data_offsets": [168, 252]},
            "2.bias": {"dtype": "F32", "shape": [3], "data_offsets": [252, 264]}}


def _edit(fn):
    h = _valid_header()
    fn(h)
    return h


BAD_FILES = {
    # name: (header or raw bytes, data length, expected message fragment, key in message)
    "empty": (b"", None, "too short", None),
    "short length": (b"\x05\x00\x00", None, "too short", None),
    "huge length": ((2 ** 62).to_bytes(8, "little") + b"{}", None, "header length", None),
    "not json": (b"\x08\x00\x00\x00\x00\x00\x00\x00not json", None, "corrupt", None),
    "not an object": (b"\x08\x00\x00\x00\x00\x00\x00\x00[1,2,3] ", None, "start with", None),
    "pickle": (b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.", None, "header length",
               None),
    "unknown dtype": (_edit(lambda h: h["0.bias"].update(dtype="F128")), 264,
                      "unknown dtype", "0.bias"),
    "dtype as list": (_edit(lambda h: h["0.bias"].update(dtype=["F32"])), 264,
                      "unknown dtype", "0.bias"),
    "float shape": (_edit(lambda h: h["0.bias"].update(shape=[7.0])), 264, "shape must",
                    "0.bias"),
    "negative dim": (_edit(lambda h: h["0.bias"].update(shape=[-7])), 264, "shape must",
                     "0.bias"),
    "span mismatch": (_edit(lambda h: h["0.bias"].update(shape=[6])), 264, "needs 24 bytes",
                      "0.bias"),
    "overlap": (_edit(lambda h: h["2.weight"].update(data_offsets=[160, 244])), 264,
                "overlap or hole", "2.weight"),
    "beyond file": (_edit(lambda h: h["2.bias"].update(data_offsets=[252, 264])), 200,
                    "ends at byte 264", None),
    "trailing bytes": (_valid_header(), 300, "ends at byte 264", None),
    "extra entry field": (_edit(lambda h: h["0.bias"].update(x=1)), 264, "exactly dtype",
                          "0.bias"),
    "bad metadata": (_edit(lambda h: h.update(__metadata__={"a": 1})), 264,
                     "strings to strings", "__metadata__"),
    "missing key": (_edit(lambda h: h.pop("2.bias")), 252, "missing ['2.bias']", "2.bias"),
    "unexpected key": (_edit(lambda h: h.update(extra={"dtype": "F32", "shape": [1],
                                                       "data_offsets": [264, 268]})), 268,
                       "unexpected ['extra']", "extra"),
    "mis-shaped key": (_edit(lambda h: h.update({"0.bias": {"dtype": "F32", "shape": [1, 7],
                                                          "data_offsets": [140, 168]}})), 264,
                       "shape (1, 7) in the file but (7,)", "0.bias"),
    "wrong dtype": (_edit(lambda h: h.update({"0.bias": {"dtype": "I32", "shape": [7],
                                                       "data_offsets": [140, 168]}})), 264,
                    "dtype int32 in the file but float32", "0.bias"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_raises_and_leaves_model_unchanged(tmp_path, case):
    content, n_data, message, key = BAD_FILES[case]
    path = tmp_path / "bad.safetensors"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        raw_file(path, content, b"\x00" * n_data)
    model = mlp("numpy")
    before = weights(model)
    with pytest.raises(CheckpointError) as err:
        xpnn.load(model, path)
    text = str(err.value)
    assert str(path) in text and message in text, text
    if key is not None:
        assert f"key {key!r}" in text, text
    assert all(np.array_equal(v, before[k]) for k, v in weights(model).items())
    assert isinstance(err.value, ValueError)  # CheckpointError is a ValueError


def test_duplicate_json_key_is_rejected(tmp_path):
    text = (b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
            b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    path = tmp_path / "dup.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"\x00" * 4)
    with pytest.raises(CheckpointError, match="duplicate key 'a'"):
        xpnn.load_file(path)


def test_flipped_data_byte_fails_the_checksum(tmp_path):
    path = xpnn.save(mlp("numpy"), tmp_path / "w.safetensors")
    blob = bytearray(Path(path).read_bytes())
    blob[-3] ^= 0x10  # inside 2.bias: still a well-formed file, only the digest can tell
    Path(path).write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        xpnn.load(mlp("numpy"), path)


def test_non_strict_load_ignores_extra_and_missing(tmp_path):
    path = xpnn.save({"0.weight": np.ones((7, 5), np.float32), "junk": np.zeros(2)},
                     tmp_path / "p.safetensors")
    model = mlp("numpy")
    bias = to_np(model[0].bias).copy()
    xpnn.load(model, path, strict=False)
    assert np.array_equal(to_np(model[0].weight), np.ones((7, 5))) and \
        np.array_equal(to_np(model[0].bias), bias)


# -- atomic writes -----------------------------------------------------------------------------
def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = str(tmp_path / "w.safetensors")
    xpnn.save({"a": np.float32([1])}, path)
    old = Path(path).read_bytes()

    def boom(*a):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        xpnn.save({"a": np.float32([2])}, path)
    monkeypatch.undo()

    def chunks():
        yield b"partial"
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, chunks())
    assert Path(path).read_bytes() == old
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_an_unwritable_folder_is_reported_with_the_file_asked_for(tmp_path, monkeypatch):
    """The error named the temporary file beside the target (".xpnn-tmp-..."), which the
    user never asked for."""
    import errno
    import tempfile

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".tmp"))
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    path = str(tmp_path / "m.safetensors")
    with pytest.raises(PermissionError, match="Permission denied: '.*m.safetensors'") as e:
        xpnn.save({"a": np.float32([1])}, path)
    assert e.value.filename == path and ".tmp" not in str(e.value)


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".xpnn-tmp-{dead}-abc"
    mine = tmp_path / f".xpnn-tmp-{os.getpid()}-def"  # a live writer (this process)
    other = tmp_path / "notes.tmp"
    for f in (stale, mine, other):
        f.write_bytes(b"x")
    xpnn.save({"a": np.float32([1])}, tmp_path / "w.safetensors")
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, other.name, "w.safetensors"])
    os.utime(mine, (0, 0))  # a day old: removed even though its pid is alive
    assert clean_stale(tmp_path) == [mine.name]


def test_saved_file_has_ordinary_permissions(tmp_path):
    path = xpnn.save({"a": np.float32([1])}, tmp_path / "w.safetensors")
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~fmt_umask()


def fmt_umask():
    from xpnn.io import atomic
    return atomic._UMASK


def test_header_is_aligned_and_starts_with_brace(tmp_path):
    path = xpnn.save(mlp("numpy"), tmp_path / "w.safetensors")
    blob = Path(path).read_bytes()
    n = int.from_bytes(blob[:8], "little")
    assert (8 + n) % 8 == 0 and blob[8:9] == b"{"
    _, entries = fmt.decode(blob, path, require_digest=True)
    assert list(entries) == ["0.weight", "0.bias", "2.weight", "2.bias"]


# -- SIGKILL at random moments never loses the latest checkpoint -------------------------------
# the child: saves checkpoints forever, checkpoint i having every weight equal to i (a bare
# script, not this file: importing pytest would double the start-up time of 30 children)
def _writer(path, ready):
    """Save checkpoints in a loop, the step number in every weight, until killed."""
    model = nn.Sequential(*[nn.Linear(512, 512) for _ in range(2)])
    i = xpnn.load_checkpoint(path, model)["step"] if os.path.exists(path) else 0
    ready.set()
    while True:
        i += 1
        for p in model.parameters():
            p.array[...] = i
        xpnn.save_checkpoint(path, model, step=i)


def test_sigkill_during_saves_never_corrupts_the_latest(tmp_path):
    path = str(tmp_path / "latest.safetensors")
    rng = random.Random(0)
    model = nn.Sequential(*[nn.Linear(512, 512) for _ in range(2)])
    kills = mid_write = 0
    start, last = time.monotonic(), 0
    fork = multiprocessing.get_context("fork")  # a forked writer starts at once
    while kills < 30 and time.monotonic() - start < 60:
        ready = fork.Event()
        child = fork.Process(target=_writer, args=(path, ready))
        child.start()
        assert ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        kills += 1
        temps = [f for f in os.listdir(tmp_path) if f.startswith(".xpnn-tmp-")]
        assert len(temps) <= 1, temps  # at most the one being written at the kill
        mid_write += len(temps)
        if not os.path.exists(path):
            continue  # killed before its first save ever finished
        step = xpnn.load_checkpoint(path, model)["step"]
        assert step >= last and all(bool((p.array == step).all()) for p in model.parameters())
        last = step
    assert kills >= 10 and last > 0
    xpnn.save_checkpoint(path, model, step=last)  # the next save clears a dead writer's file
    assert os.listdir(tmp_path) == ["latest.safetensors"]
    print(f"{kills} kills, {mid_write} during a write, last step {last}")
