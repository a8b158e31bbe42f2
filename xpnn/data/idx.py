"""The IDX file format (MNIST, Fashion-MNIST): read and write, raw or gzip-compressed.

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <ndim>``, then ``ndim``
big-endian uint32 dimensions, then the values in C order, big-endian
(http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

# type code -> big-endian NumPy dtype, as the format defines them
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file is truncated, corrupt, or not what the caller expected."""


def _read_bytes(path):
    """The file's payload, decompressed when it starts with the gzip magic bytes."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {os.fspath(path)!r}") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        # a cut download ends the deflate stream early (EOFError); a damaged one fails its CRC
        raise IDXError(f"IDX file {os.fspath(path)!r}: corrupt or truncated gzip data "
                       f"({type(e).__name__}: {e})") from None


def read_idx(path, ndim=None, shape=None):
    """Read an IDX file (raw or gzip) into a NumPy array, checking it fully.

    Args:
        path: the file (``.gz`` or not; gzip is detected from the content).
        ndim: if given, the number of dimensions the file must have (1 for labels, 3 for
            images).
        shape: if given, a tuple of the trailing dimensions the file must have, e.g.
            ``(28, 28)`` for MNIST images.
    Returns:
        ndarray with the file's dimensions and its dtype in native byte order (uint8 for
        MNIST).
    Raises:
        FileNotFoundError: no such file.
        IDXError: bad magic number, unknown type code, unexpected ``ndim``/``shape``, or a
            payload shorter or longer than the header announces; the message names the file.
    """
    name = os.fspath(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise IDXError(f"IDX file {name!r}: {len(buf)} bytes, too short for the 4-byte magic "
                       "number (truncated or empty file)")
    zero, code, nd = buf[:2], buf[2], buf[3]
    if zero != b"\x00\x00" or code not in IDX_TYPES or nd == 0:
        raise IDXError(f"IDX file {name!r}: bad magic number 0x{buf[:4].hex()} (expected "
                       f"0x0000TTNN with type TT in {[hex(c) for c in IDX_TYPES]} and NN >= 1 "
                       "dimensions); not an IDX file")
    if ndim is not None and nd != ndim:
        raise IDXError(f"IDX file {name!r}: has {nd} dimensions, expected {ndim}")
    head = 4 + 4 * nd
    if len(buf) < head:
        raise IDXError(f"IDX file {name!r}: truncated header ({len(buf)} bytes, the {nd} "
                       f"dimensions need {head})")
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=nd, offset=4))
    if shape is not None and dims[len(dims) - len(shape):] != tuple(shape):
        raise IDXError(f"IDX file {name!r}: dimensions {dims}, expected trailing dimensions "
                       f"{tuple(shape)}")
    dtype = IDX_TYPES[code]
    want = head + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(buf) != want:
        what = "truncated" if len(buf) < want else "trailing bytes after the data"
        raise IDXError(f"IDX file {name!r}: {what}: the header announces dims {dims} of "
                       f"{dtype.name} ({want} bytes with the header), the file holds "
                       f"{len(buf)} bytes")
    arr = np.frombuffer(buf, dtype=dtype, offset=head).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # native order, and a writable copy


def write_idx(path, array, compress=None):
    """Write an array as an IDX file (gzip when ``compress`` or the name ends in ``.gz``).

    Args:
        path: destination.
        array: ndarray of uint8, int8, int16, int32, float32 or float64, ndim >= 1.
        compress: gzip the file; default: whether ``path`` ends with ``.gz``.
    """
    arr = np.asarray(array)
    codes = {dt.newbyteorder("="): c for c, dt in IDX_TYPES.items()}
    if arr.ndim < 1 or arr.dtype.newbyteorder("=") not in codes:
        raise IDXError(f"write_idx: cannot store an array of dtype {arr.dtype} and ndim "
                       f"{arr.ndim} (IDX holds ndim >= 1 of {[str(d) for d in codes]})")
    code = codes[arr.dtype.newbyteorder("=")]
    payload = (bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
               + arr.astype(IDX_TYPES[code]).tobytes())
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
