"""``torch.utils.benchmark``: ``Timer`` (``timeit``, ``blocked_autorange``,
``adaptive_autorange``), the ``Measurement`` it returns and ``Compare`` to tabulate several,
for the benchmarking snippets of PyTorch programs.

A statement is compiled once with ``setup`` run first in a fresh namespace (``globals``
copied in) and timed in blocks of ``number`` runs with ``timer`` (``time.perf_counter``);
a Measurement holds the per-run time of each block. ``num_threads`` (1 by default, as in
PyTorch) is xpnn's thread count during the timing; the thread policy comes back after (left
alone where the BLAS's threads were set outside xpnn). Only Python statements
are timed (``language="python"``).
"""
from __future__ import annotations

import statistics
import time
import timeit as _timeit

from .. import cpu

__all__ = ["Compare", "Measurement", "Timer"]


class TaskSpec:
    def __init__(self, stmt, setup, label, sub_label, description, num_threads, env):
        self.stmt, self.setup, self.label, self.sub_label = stmt, setup, label, sub_label
        self.description, self.num_threads, self.env = description, num_threads, env

    @property
    def title(self):
        if self.label is None:
            return self.stmt
        return self.label + (f": {self.sub_label}" if self.sub_label else "")


def _unit(seconds):
    for name, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return name, scale
    return "ns", 1e-9


class Measurement:
    """Per-run times of the timed blocks: ``times`` (seconds a run, one per block),
    ``raw_times`` (seconds a block), ``number_per_run`` runs a block; ``mean``, ``median``,
    ``iqr``."""

    def __init__(self, number_per_run, raw_times, task_spec):
        self.number_per_run, self.raw_times, self.task_spec = number_per_run, list(raw_times), \
            task_spec

    @property
    def times(self):
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self):
        return statistics.fmean(self.times)

    @property
    def median(self):
        return statistics.median(self.times)

    def _quartiles(self):
        t = sorted(self.times)
        if len(t) < 2:
            return t[0], t[0]
        q = statistics.quantiles(t, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def iqr(self):
        lo, hi = self._quartiles()
        return hi - lo

    @property
    def title(self):
        return self.task_spec.title

    @property
    def label(self):
        return self.task_spec.label

    @property
    def sub_label(self):
        return self.task_spec.sub_label

    @property
    def description(self):
        return self.task_spec.description

    def __repr__(self):
        spec = self.task_spec
        name, scale = _unit(self.median)
        lines = [f"<xpnn.utils.benchmark.Measurement object at {hex(id(self))}>", spec.title]
        if spec.description:
            lines.append(spec.description)
        if spec.setup and spec.setup != "pass":
            lines.append(f"setup: {spec.setup}")
        n, threads = len(self.raw_times), spec.num_threads
        plural = "s" if threads != 1 else ""
        if n == 1:
            lines += [f"  {self.median / scale:.2f} {name}",
                      f"  1 measurement, {self.number_per_run} runs , {threads} thread{plural}"]
        else:
            lo, hi = self._quartiles()
            lines += [f"  Median: {self.median / scale:.2f} {name}",
                      f"  IQR:    {self.iqr / scale:.2f} {name} ({lo / scale:.2f} to "
                      f"{hi / scale:.2f})",
                      f"  {n} measurements, {self.number_per_run} runs per measurement, "
                      f"{threads} thread{plural}"]
        return "\n".join(lines)


class Timer:
    """Times ``stmt`` (a string of Python) after ``setup``, as PyTorch's Timer."""

    def __init__(self, stmt="pass", setup="pass", global_setup="", timer=time.perf_counter,
                 globals=None, label=None, sub_label=None, description=None, env=None,
                 num_threads=1, language="python"):
        if str(getattr(language, "name", language)).lower() != "python":
            raise ValueError(f"Timer: xpnn times Python statements only, got language="
                             f"{language!r}")
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"Timer: num_threads must be a positive int, got {num_threads!r}")
        self._spec = TaskSpec(stmt, setup, label, sub_label, description, num_threads, env)
        self._timer = _timeit.Timer(stmt=stmt, setup=(global_setup + "\n" + setup).strip()
                                    or "pass", timer=timer, globals=dict(globals or {}))

    def _blocks(self, number, count):
        mode = cpu.thread_policy()
        if mode == "external":  # the BLAS's threads were set outside xpnn: left alone
            return [self._timer.timeit(number) for _ in range(count)]
        before = "auto" if mode == "auto" else cpu.get_num_threads()
        cpu.set_num_threads(self._spec.num_threads)
        try:
            return [self._timer.timeit(number) for _ in range(count)]
        finally:
            cpu.set_num_threads(before)  # the load-following policy, or the fixed count

    def timeit(self, number=1000000):
        """One block of ``number`` runs."""
        return Measurement(number, self._blocks(number, 1), self._spec)

    def _block_size(self):
        number = 1
        while True:  # runs per block: the first power of 10 whose block takes 1 ms or more
            if self._blocks(number, 1)[0] >= 1e-3 or number >= 10 ** 9:
                return number
            number *= 10

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Blocks of a size that takes at least 1 ms, until ``min_run_time`` seconds."""
        number, times, total = self._block_size(), [], 0.0
        while total < min_run_time or not times:
            t = self._blocks(number, 1)[0]
            times.append(t)
            total += t
            if callback is not None:
                callback(number, t)
        return Measurement(number, times, self._spec)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0,
                           callback=None):
        """Blocks until the spread (IQR over median) falls under ``threshold`` after at
        least ``min_run_time`` seconds, or ``max_run_time`` passes."""
        number, times, total = self._block_size(), [], 0.0
        while total < max_run_time:
            t = self._blocks(number, 1)[0]
            times.append(t)
            total += t
            if callback is not None:
                callback(number, t)
            if total >= min_run_time and len(times) >= 3:
                m = Measurement(number, times, self._spec)
                if m.iqr / m.median < threshold:
                    break
        return Measurement(number, times, self._spec)


class Compare:
    """A table of Measurements: a block per label, a row per sub_label, a column per
    description, median times in one unit."""

    def __init__(self, results):
        self._results = list(results)

    def __str__(self):
        out = []
        labels = list(dict.fromkeys(m.label for m in self._results))
        for label in labels:
            group = [m for m in self._results if m.label == label]
            cols = list(dict.fromkeys(m.description for m in group))
            rows = list(dict.fromkeys(m.sub_label for m in group))
            name, scale = _unit(min(m.median for m in group))
            cells = {(m.sub_label, m.description): f"{m.median / scale:.1f}" for m in group}
            head = ["", *[str(c or "") for c in cols]]
            body = [[str(r or ""), *[cells.get((r, c), "") for c in cols]] for r in rows]
            widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
            out.append(f"[----- {label or ''} -----]")
            out.append(" | ".join(h.rjust(w) for h, w in zip(head, widths)))
            out += [" | ".join(v.rjust(w) for v, w in zip(row, widths)) for row in body]
            out.append(f"\nTimes are in {name}.\n")
        return "\n".join(out)

    def print(self):
        print(str(self))
