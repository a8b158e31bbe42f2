"""``torch.profiler``: where a step's time goes, per op, as PyTorch's profiler reports it.

Inside ``with profile() as prof:`` every xpnn op call (each ``Function.apply``: ``xpnn::Linear``,
``xpnn::ReLU``, ...), each whole backward pass (``xpnn::backward``) and each
``record_function("name")`` range is timed on the host clock; ``prof.key_averages().table()``
prints PyTorch's table (self and total CPU time, average, calls) and
``prof.export_chrome_trace(path)`` writes a trace for chrome://tracing or Perfetto. The
timing hooks are put in place when profiling starts and removed when it stops, so code run
outside a profile pays nothing. Times are host times: on a GPU backend an op's time is its
launch unless something synchronizes. ``schedule`` and ``step()`` select the steps that are
recorded, and ``on_trace_ready`` is called when an active stretch ends, as in PyTorch.
"""
from __future__ import annotations

import enum
import functools
import json
import os
import time

from . import autograd

__all__ = ["ProfilerActivity", "ProfilerAction", "profile", "record_function", "schedule",
           "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """PyTorch's step schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle,
    ``warmup`` and ``active`` recorded steps (the last one saves), ``repeat`` times (0:
    forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("schedule: wait, warmup, repeat and skip_first must be >= 0 and "
                         "active > 0")
    cycle = wait + warmup + active

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if repeat and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD_AND_SAVE if pos == cycle - 1 else ProfilerAction.RECORD
    return action


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` that writes each trace as ``<worker>.<ms>.pt.trace.json`` in
    ``dir_name``."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{os.uname().nodename}_{os.getpid()}"
        path = os.path.join(dir_name, f"{name}.{int(time.time() * 1000)}.pt.trace.json")
        prof.export_chrome_trace(path + (".gz" if use_gzip else ""))
    return handler


class _Event:
    __slots__ = ("name", "start", "end", "depth", "children")

    def __init__(self, name, start, depth):
        self.name, self.start, self.end, self.depth, self.children = name, start, None, depth, 0.0


_active = []  # the profile recording now (at most one)


def _open(name):
    prof = _active[0] if _active else None
    if prof is None or not prof._recording:
        return None
    ev = _Event(name, time.perf_counter_ns(), len(prof._stack))
    prof._stack.append(ev)
    return ev


def _close(ev):
    prof = _active[0] if _active else None
    if ev is None or prof is None:
        return
    ev.end = time.perf_counter_ns()
    stack = prof._stack
    while stack and stack[-1] is not ev:
        stack.pop()
    if stack:
        stack.pop()
    if stack:
        stack[-1].children += ev.end - ev.start
    prof._events.append(ev)


class record_function:
    """A named range in the profile (a context manager or a decorator)."""

    def __init__(self, name, args=None):
        self.name, self._ev = name, None

    def __enter__(self):
        self._ev = _open(self.name)
        return self

    def __exit__(self, *exc):
        _close(self._ev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*a, **k):
            with record_function(self.name):
                return fn(*a, **k)
        return wrapped


class _Hooks:
    """Timing wrappers around Function.apply and the backward passes, installed while a
    profile runs."""

    def __init__(self):
        self.saved = None

    def install(self):
        original = autograd.Function.__dict__["apply"]
        apply = original.__func__
        run, run_graph = autograd._run, autograd._run_graph

        def timed_apply(cls, *inputs, **params):
            ev = _open(f"xpnn::{cls.__name__}")
            try:
                return apply(cls, *inputs, **params)
            finally:
                _close(ev)

        def timed(fn):
            def pass_(*a, **k):
                ev = _open("xpnn::backward")
                try:
                    return fn(*a, **k)
                finally:
                    _close(ev)
            return pass_
        self.saved = (original, run, run_graph)
        autograd.Function.apply = classmethod(timed_apply)
        autograd._run, autograd._run_graph = timed(run), timed(run_graph)

    def remove(self):
        if self.saved is None:
            return
        original, run, run_graph = self.saved
        autograd.Function.apply = original
        autograd._run, autograd._run_graph = run, run_graph
        self.saved = None


class FunctionEventAvg:
    """One row of :meth:`profile.key_averages`: times in microseconds, as PyTorch's."""

    def __init__(self, key):
        self.key, self.count = key, 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}"
                f"us cpu_time={self.cpu_time:.3f}us count={self.count}>")


def _format_us(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    """Rows of averaged events, with PyTorch's ``table``."""

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, header=None, top_level_events_only=False):
        rows = list(self)
        if sort_by is not None:
            key = sort_by.replace("cpu_time_total", "cpu_time_total")
            if key not in ("cpu_time_total", "self_cpu_time_total", "cpu_time", "count"):
                key = "cpu_time_total" if "total" in key else "self_cpu_time_total"
            rows.sort(key=lambda r: getattr(r, key), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        total_self = sum(r.self_cpu_time_total for r in self) or 1.0
        width = min(max_name_column_width, max([len(r.key) for r in rows] + [4]))
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                "# of Calls"]
        rule = "-" * width + "  " + "  ".join("-" * 12 for _ in cols) + "  "
        lines = [rule, f"{'Name':>{width}}  " + "  ".join(f"{c:>12}" for c in cols) + "  ", rule]
        for r in rows:
            cells = [f"{100 * r.self_cpu_time_total / total_self:.2f}%",
                     _format_us(r.self_cpu_time_total),
                     f"{100 * r.cpu_time_total / total_self:.2f}%",
                     _format_us(r.cpu_time_total), _format_us(r.cpu_time), str(r.count)]
            lines.append(f"{r.key[:width]:>{width}}  " + "  ".join(f"{c:>12}" for c in cells)
                         + "  ")
        lines += [rule, f"Self CPU time total: {_format_us(total_self)}"]
        if header:
            lines.insert(0, header)
        return "\n".join(lines) + "\n"

    def total_average(self):
        out = FunctionEventAvg("Total")
        for r in self:
            out.count += r.count
            out.cpu_time_total += r.cpu_time_total
            out.self_cpu_time_total += r.self_cpu_time_total
        return out

    def __str__(self):
        return self.table()


class profile:
    """``torch.profiler.profile`` (module docstring): a context manager that records the
    ops run inside it; ``activities`` other than CPU are accepted (the host times cover
    them), ``record_shapes``, ``profile_memory``, ``with_stack`` and ``with_flops`` are
    accepted and add nothing."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None):
        for a in activities or ():
            if not isinstance(a, ProfilerActivity):
                raise TypeError(f"profile: activities must be ProfilerActivity members, got "
                                f"{a!r}")
        self.schedule, self.on_trace_ready = schedule, on_trace_ready
        self.step_num = 0
        self._events, self._stack, self._hooks = [], [], _Hooks()
        self._recording = False
        self._saved_events = []

    # -- running ----------------------------------------------------------------------------
    def start(self):
        if _active and _active[0] is not self:
            raise RuntimeError("profile: another profiler is already running")
        if not _active:
            _active.append(self)
            self._hooks.install()
        self._recording = self._action() in (ProfilerAction.RECORD,
                                             ProfilerAction.RECORD_AND_SAVE)

    def stop(self):
        if self._recording:
            self._finish()
        self._recording = False
        self._hooks.remove()
        if _active and _active[0] is self:
            _active.clear()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _action(self):
        return ProfilerAction.RECORD if self.schedule is None else self.schedule(self.step_num)

    def _finish(self):
        self._saved_events = list(self._events)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self):
        """The end of a training step: the schedule decides whether the next one records;
        the end of an active stretch calls ``on_trace_ready``."""
        before = self._action()
        self.step_num += 1
        after = self._action()
        if before == ProfilerAction.RECORD_AND_SAVE or (
                self._recording and after in (ProfilerAction.NONE, ProfilerAction.WARMUP)):
            self._finish()
            self._events = []
        self._recording = after in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)

    # -- results ----------------------------------------------------------------------------
    def _recorded(self):
        return self._saved_events if not self._recording and self._saved_events else \
            self._events

    def events(self):
        return list(self._recorded())

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        rows = {}
        for ev in self._recorded():
            row = rows.get(ev.name)
            if row is None:
                row = rows[ev.name] = FunctionEventAvg(ev.name)
            total = (ev.end - ev.start) / 1e3
            row.count += 1
            row.cpu_time_total += total
            row.self_cpu_time_total += total - ev.children / 1e3
        return EventList(rows.values())

    def export_chrome_trace(self, path):
        """The recorded events as a Chrome trace (JSON; gzip for a path ending in .gz)."""
        pid = os.getpid()
        trace = {"traceEvents": [{"name": ev.name, "ph": "X", "cat": "cpu_op",
                                  "ts": ev.start / 1e3, "dur": (ev.end - ev.start) / 1e3,
                                  "pid": pid, "tid": 0} for ev in self._recorded()]}
        data = json.dumps(trace).encode()
        if str(path).endswith(".gz"):
            import gzip
            data = gzip.compress(data)
        with open(path, "wb") as f:
            f.write(data)
