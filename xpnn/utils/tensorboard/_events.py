"""TensorBoard's event files, written without TensorFlow or the tensorboard package: each
record is a serialized ``Event`` protocol buffer, framed as TFRecord does (the length,
its masked CRC-32C, the bytes, their masked CRC-32C). The few messages a SummaryWriter needs
(Event, Summary and its Value, HistogramProto, Image, TensorProto for text, SessionLog,
SummaryMetadata) are encoded here field by field; the field numbers are those of
TensorBoard's .proto files."""
from __future__ import annotations

import struct


def _crc32c_table():
    poly, table = 0x82F63B78, []  # Castagnoli, reflected
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    """TFRecord's checksum: the CRC-32C rotated right by 15 bits plus a constant."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    """One TFRecord: the framing around ``data``."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc(length)) + data
            + struct.pack("<I", masked_crc(data)))


# -- protocol buffer encoding -----------------------------------------------------------------
def _varint(n):
    n &= (1 << 64) - 1  # negative int64s as ten bytes of two's complement
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def f_int(field, n):
    return _key(field, 0) + _varint(int(n))


def f_double(field, x):
    return _key(field, 1) + struct.pack("<d", float(x))


def f_float(field, x):
    return _key(field, 5) + struct.pack("<f", float(x))


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, 2) + _varint(len(data)) + data


def f_doubles(field, values):
    """A packed repeated double field."""
    return f_bytes(field, b"".join(struct.pack("<d", float(v)) for v in values))


# -- the messages -------------------------------------------------------------------------------
def event(wall_time, step=None, summary=None, file_version=None, session_log=None):
    out = f_double(1, wall_time)
    if step is not None:
        out += f_int(2, step)
    if file_version is not None:
        out += f_bytes(3, file_version)
    if summary is not None:
        out += f_bytes(5, summary)
    if session_log is not None:
        out += f_bytes(7, session_log)
    return out


def session_start():
    """SessionLog with status START: readers drop the events of later steps written
    before it (SummaryWriter's ``purge_step``)."""
    return f_int(1, 1)


def summary(*values):
    return b"".join(f_bytes(1, v) for v in values)


def plugin_metadata(name, content=b""):
    plugin = f_bytes(1, name) + (f_bytes(2, content) if content else b"")
    return f_bytes(1, plugin)


def value(tag, simple_value=None, image=None, histo=None, tensor=None, metadata=None):
    out = f_bytes(1, tag)
    if simple_value is not None:
        out += f_float(2, simple_value)
    if image is not None:
        out += f_bytes(4, image)
    if histo is not None:
        out += f_bytes(5, histo)
    if tensor is not None:
        out += f_bytes(8, tensor)
    if metadata is not None:
        out += f_bytes(9, metadata)
    return out


def histogram(lo, hi, num, total, squares, limits, counts):
    return (f_double(1, lo) + f_double(2, hi) + f_double(3, num) + f_double(4, total)
            + f_double(5, squares) + f_doubles(6, limits) + f_doubles(7, counts))


def image(height, width, channels, png):
    return f_int(1, height) + f_int(2, width) + f_int(3, channels) + f_bytes(4, png)


def string_tensor(strings):
    """A 1-D TensorProto of dtype DT_STRING (7) holding ``strings``."""
    shape = f_bytes(2, f_int(1, len(strings)))  # TensorShapeProto.dim[0].size
    return f_int(1, 7) + f_bytes(2, shape) + b"".join(f_bytes(8, s) for s in strings)
