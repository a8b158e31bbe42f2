"""The three summaries of TensorBoard's HParams plugin (its plugin_data.proto and api.proto,
field by field): the experiment (each hyperparameter's name, type and discrete domain, and
the metrics' tags), the session's start (the values) and its end (success)."""
from __future__ import annotations

import time

from . import _events as E

_FLOAT64, _STRING, _BOOL = 3, 1, 2  # api.proto's DataType


def _protobuf_value(v):
    """google.protobuf.Value of a number, string or bool, and its DataType."""
    if isinstance(v, bool):
        return E.f_int(4, int(v)), _BOOL
    if isinstance(v, (int, float)):
        return E.f_double(2, v), _FLOAT64
    if isinstance(v, str):
        return E.f_bytes(3, v), _STRING
    raise ValueError(f"SummaryWriter.add_hparams: a value must be a number, a string, a bool "
                     f"or a one-element tensor, got {type(v).__name__}")


def _plain(v):
    if hasattr(v, "item") and not isinstance(v, (bool, int, float, str)):
        return v.item()
    return v


def _tagged(tag, plugin_data):
    return E.value(tag, metadata=E.plugin_metadata("hparams", plugin_data))


def summaries(hparams, metrics, discrete):
    infos, entries = b"", b""
    for name, raw in hparams.items():
        value, kind = _protobuf_value(_plain(raw))
        info = E.f_bytes(1, name) + E.f_int(4, kind)
        if name in discrete:
            choices = b"".join(E.f_bytes(1, _protobuf_value(c)[0]) for c in discrete[name])
            info += E.f_bytes(5, choices)
        infos += E.f_bytes(4, info)
        entries += E.f_bytes(1, E.f_bytes(1, name) + E.f_bytes(2, value))
    for name in metrics:
        infos += E.f_bytes(5, E.f_bytes(1, E.f_bytes(2, name)))  # MetricInfo{MetricName{tag}}
    experiment = E.f_bytes(2, infos)
    start = E.f_bytes(3, entries + E.f_double(5, time.time()))
    end = E.f_bytes(4, E.f_int(1, 1) + E.f_double(2, time.time()))  # STATUS_SUCCESS
    return [_tagged("_hparams_/experiment", experiment),
            _tagged("_hparams_/session_start_info", start),
            _tagged("_hparams_/session_end_info", end)]
