"""The safetensors file format, written and validated here (never pickle).

Layout (https://github.com/huggingface/safetensors, "Format"):

    8 bytes   N, the header length, unsigned little-endian
    N bytes   a JSON object: {"__metadata__": {str: str}, name: {"dtype": "F32",
              "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}, padded with
              spaces (we pad to a multiple of 8 so the data that follows is aligned)
    the rest  the tensors' raw little-endian bytes, offsets relative to this buffer

Every check is done before a single array is built, and every failure raises
:class:`CheckpointError` naming the file and, where there is one, the key. xpnn adds one
metadata entry, ``xpnn.sha256``: the digest of the canonical header (without that entry) plus
the data, so a flipped byte anywhere that changes a value is caught, not loaded.

Complex tensors: complex64 is safetensors' own "C64" (safetensors.torch reads it as
torch.complex64). complex128 has no tag: it is written as "F64" with a trailing dimension of
2 (real, imaginary; the same bytes) and named in the ``xpnn.complex128`` metadata entry (a
JSON list), so xpnn reads it back as complex128 and other readers see the float64 pairs.

Host-side code, so NumPy is imported here (only layer, op and optimizer code must get their
namespace from the data).
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np

from .. import backend as B

# safetensors dtype tag -> little-endian NumPy dtype; BF16 travels as raw uint16 bits
DTYPES = {"BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
          "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
          "BF16": np.dtype("<u2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
          "F32": np.dtype("<f4"), "U64": np.dtype("<u8"), "I64": np.dtype("<i8"),
          "F64": np.dtype("<f8"), "C64": np.dtype("<c8"), "C128": np.dtype("<c16")}
TAGS = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "uint16": "U16", "int16": "I16",
        "float16": "F16", "bfloat16": "BF16", "uint32": "U32", "int32": "I32",
        "float32": "F32", "uint64": "U64", "int64": "I64", "float64": "F64",
        "complex64": "C64", "complex128": "C128"}
NAMES = {tag: name for name, tag in TAGS.items()}
# complex128 has no safetensors tag: "C128" is xpnn's name for it inside this package only.
# In the file it is an "F64" tensor with a trailing dimension of 2 (real, imaginary: the same
# bytes), listed by name in the __metadata__ entry COMPLEX128_KEY (a JSON list), which xpnn
# reads back as complex128; other safetensors readers see the float64 pairs.
FILE_TAGS = frozenset(DTYPES) - {"C128"}
COMPLEX128_KEY = "xpnn.complex128"
MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit too
DIGEST_KEY = "xpnn.sha256"
# what xpnn.save adds to __metadata__ (serialize.py, recipe.py)
VERSION_KEY, OBJECT_KEY, MODULES_KEY = "xpnn.version", "xpnn.object", "xpnn.modules"


class CheckpointError(ValueError):
    """A file is not a valid safetensors/xpnn file, or does not fit what it is loaded into.

    Args:
        path: the file.
        message: what is wrong.
        key: the tensor or entry concerned, if any.
    """

    def __init__(self, path, message, key=None):
        where = f"{str(path)!r}" + (f", key {key!r}" if key is not None else "")
        super().__init__(f"{where}: {message}")
        self.path, self.key = str(path), key


# -- writing ---------------------------------------------------------------------------------
def to_host(name, arr):
    """(dtype tag, contiguous little-endian NumPy array) for an array of any backend.

    bfloat16 has no NumPy dtype, so its bits are reinterpreted as uint16 on the device first.
    """
    dname = B.dtype_name(arr.dtype)
    if dname not in TAGS:
        raise TypeError(f"save: key {name!r} has dtype {arr.dtype}, which safetensors cannot "
                        f"store; supported: {sorted(TAGS)}")
    if dname == "bfloat16":
        be = B.backend_of(arr)
        arr = arr.view(be.dtype("int16"))  # torch's bit reinterpretation; no value change
    host = B.to_numpy(arr)
    if not host.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
        host = host.copy(order="C")
    return TAGS[dname], host.astype(DTYPES[TAGS[dname]], copy=False)


def _canonical(header):
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def encode(arrays, metadata=None):
    """The bytes of a safetensors file, as a list of chunks to write in order.

    Args:
        arrays: {name: (dtype tag, little-endian contiguous NumPy array)}, in file order.
        metadata: {str: str} stored under ``__metadata__``; the digest is added to it.
    Returns:
        list of bytes-like chunks: length prefix, header, then each array's bytes.
    """
    header, chunks, offset = {}, [], 0
    meta = {} if metadata is None else dict(metadata)
    for k, v in meta.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save: metadata must map str to str, got {k!r}: {type(v).__name__}")
    for name, (tag, host) in arrays.items():
        nbytes = host.size * host.itemsize
        header[name] = {"dtype": tag, "shape": list(host.shape),
                        "data_offsets": [offset, offset + nbytes]}
        chunks.append(host.reshape(-1).view(np.uint8).data)
        offset += nbytes
    meta.pop(DIGEST_KEY, None)
    meta.pop(COMPLEX128_KEY, None)
    pairs = [name for name, e in header.items() if e["dtype"] == "C128"]
    for name in pairs:
        header[name]["dtype"] = "F64"
        header[name]["shape"].append(2)
    if pairs:
        meta[COMPLEX128_KEY] = json.dumps(pairs, separators=(",", ":"))
    digest = hashlib.sha256(_canonical({**header, "__metadata__": meta}))
    for c in chunks:
        digest.update(c)
    meta[DIGEST_KEY] = digest.hexdigest()
    text = json.dumps({"__metadata__": meta, **header}, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return [len(text).to_bytes(8, "little"), text, *chunks]


# -- reading ---------------------------------------------------------------------------------
# the start of torch.save's legacy files: protocol 2, then its magic number as a long
_TORCH_LEGACY = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8"


def _guess(buf):
    """What a non-safetensors file looks like, for the error message."""
    head = bytes(buf[:4])
    if head.startswith(b"PK\x03\x04"):  # load() reads torch.save's archives before this
        return "; it is a zip archive"
    if bytes(buf[:12]) == _TORCH_LEGACY:
        return ("; it is torch.save's legacy format (PyTorch before 1.6, or "
                "_use_new_zipfile_serialization=False): a bare pickle, which xpnn never "
                "loads. Load it in PyTorch and save it again with torch.save, whose zip "
                "archives xpnn reads")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "; it is a pickle, which xpnn never loads"
    return ""


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r} in the JSON header")
        out[k] = v
    return out


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name} in the header")


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def decode(buf, path, require_digest=False):
    """Validate a whole safetensors file and return its metadata and tensor locations.

    Args:
        buf: the file's bytes.
        path: the file's name, for error messages.
        require_digest: the file must carry xpnn's digest (checkpoints always do).
    Returns:
        (metadata dict {str: str}, {name: (dtype tag, shape tuple, begin, end)}) with
        offsets absolute in ``buf``, in file order.
    Raises:
        CheckpointError: truncated, corrupt, or not safetensors at all.
    """
    size = len(buf)
    if size < 8:
        raise CheckpointError(path, f"file is {size} bytes, too short to be safetensors (an "
                              "8-byte header length comes first); truncated?")
    n = int.from_bytes(buf[:8], "little")
    if n < 2 or n > min(size - 8, MAX_HEADER):
        raise CheckpointError(path, f"header length {n} does not fit a file of {size} bytes "
                              f"(truncated, or not a safetensors file{_guess(buf)})")
    try:
        text = bytes(buf[8:8 + n]).decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("the header does not start with '{'")
        header = json.loads(text, object_pairs_hook=_no_duplicates,
                            parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(path, f"the JSON header is corrupt: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(path, "the JSON header is not an object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(path, "__metadata__ must map strings to strings",
                              key="__metadata__")
    base, entries = 8 + n, {}
    for name, e in header.items():
        entries[name] = _entry(path, name, e, base)
    spans = sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3]))
    pos = base
    for name, (_, _, begin, end) in spans:
        if begin != pos:
            raise CheckpointError(path, f"data starts at byte {begin - base} but the previous "
                                  f"tensor ended at {pos - base} (overlap or hole)", key=name)
        pos = end
    if pos != size:
        raise CheckpointError(path, f"tensor data ends at byte {pos - base} of a "
                              f"{size - base}-byte data section (truncated or padded file)")
    _check_digest(path, buf, header, meta, base, require_digest)
    return meta, _complex128(path, meta, dict(spans))


def _complex128(path, meta, entries):
    """Entries listed in the COMPLEX128_KEY metadata entry (F64, trailing dim 2) as C128."""
    if COMPLEX128_KEY not in meta:
        return entries
    try:
        names = json.loads(meta[COMPLEX128_KEY])
    except (ValueError, RecursionError):
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or \
            len(set(names)) != len(names):
        raise CheckpointError(path, f"{COMPLEX128_KEY} must be a JSON list of distinct tensor "
                              f"names, got {meta[COMPLEX128_KEY]!r}"[:300], key=COMPLEX128_KEY)
    for name in names:
        if name not in entries:
            raise CheckpointError(path, f"{COMPLEX128_KEY} lists {name!r}, which is not a "
                                  "tensor of the file", key=COMPLEX128_KEY)
        tag, shape, begin, end = entries[name]
        if tag != "F64" or not shape or shape[-1] != 2:
            raise CheckpointError(path, f"{COMPLEX128_KEY} lists it as complex128, which is "
                                  f"stored as F64 with a trailing dimension of 2, but it is "
                                  f"{tag} of shape {shape}", key=name)
        entries[name] = ("C128", shape[:-1], begin, end)
    return entries


def _entry(path, name, e, base):
    if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(path, "entry must have exactly dtype, shape and data_offsets, "
                              f"got {e!r}"[:300], key=name)
    tag, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
    if not isinstance(tag, str) or tag not in FILE_TAGS:
        raise CheckpointError(path, f"unknown dtype {tag!r}; known: {sorted(FILE_TAGS)}",
                              key=name)
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise CheckpointError(path, f"shape must be a list of ints >= 0, got {shape!r}",
                              key=name)
    if (not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) for o in offs)
            or not 0 <= offs[0] <= offs[1]):
        raise CheckpointError(path, f"data_offsets must be [begin, end] with 0 <= begin <= "
                              f"end, got {offs!r}", key=name)
    want = math.prod(shape) * DTYPES[tag].itemsize
    if offs[1] - offs[0] != want:
        raise CheckpointError(path, f"{tag} of shape {tuple(shape)} needs {want} bytes but "
                              f"data_offsets {offs} span {offs[1] - offs[0]}", key=name)
    return tag, tuple(shape), base + offs[0], base + offs[1]


def _check_digest(path, buf, header, meta, base, required):
    expected = meta.get(DIGEST_KEY)
    if expected is None:
        if required:
            raise CheckpointError(path, f"no {DIGEST_KEY} entry in __metadata__: not written "
                                  "by xpnn.save_checkpoint", key="__metadata__")
        return
    rest = {k: v for k, v in meta.items() if k != DIGEST_KEY}
    digest = hashlib.sha256(_canonical({**header, "__metadata__": rest}))
    digest.update(memoryview(buf)[base:])
    if digest.hexdigest() != expected:
        raise CheckpointError(path, "checksum mismatch: the file is corrupt (its contents "
                              f"do not match the {DIGEST_KEY} it was written with)")


def host_array(buf, tag, shape, begin, end):
    """A read-only NumPy view of one tensor's bytes (uint16 bits for BF16)."""
    return np.frombuffer(buf, dtype=DTYPES[tag], count=math.prod(shape),
                         offset=begin).reshape(shape)


def to_backend(path, name, host, tag, be):
    """Copy one host array onto a Backend; BF16 bits become bfloat16 where the backend has it."""
    # own, writable memory: the view into the file buffer is read-only (optimizers update in
    # place) and would keep the whole file alive
    host = host.copy()
    if tag != "BF16":
        return be.asarray(host, dtype=NAMES[tag])
    try:
        bf16 = be.dtype("bfloat16")
    except TypeError:
        raise CheckpointError(path, f"bfloat16 tensor cannot be loaded on backend "
                              f"{be.name!r}, which has no bfloat16; load it with "
                              "backend='torch'", key=name) from None
    bits = be.asarray(host.view(np.int16), dtype="int16")
    return bits.view(bf16)  # torch's bit reinterpretation
