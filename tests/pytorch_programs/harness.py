"""Run a PyTorch program twice, on PyTorch and on xpnn (imports rewritten), and compare.

The programs in this folder are PyTorch's examples written in plain PyTorch. ``run`` executes
one in this process (``runpy``) with its own argv, in a working folder of its own:

1. on PyTorch, recording: the first model's initial parameters (at its first forward call),
   every random draw the program makes (dropout masks, ``randn``/``randn_like`` values,
   ``RandomSampler`` orders), and every ``.item()`` the program's own lines call;
2. on xpnn, from a copy whose import lines alone are rewritten (``to_xpnn``), replaying:
   the recorded parameters are loaded into the model at its first forward call, and xpnn's
   dropout masks, normal draws and sampler orders are the recorded ones, while the
   ``.item()`` values are recorded again.

The two lists of ``.item()`` values (the losses, the test losses, the correct counts, in the
order the program reads them) are then compared.

The patches that record and replay are in replay.py.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import replay

HERE = Path(__file__).resolve().parent

# -- the import rewrite -------------------------------------------------------------------

_IMPORT_TORCH = re.compile(r"^(\s*)import torch\s*(#.*)?$")
_IMPORT_SUB = re.compile(r"^(\s*)import torch((?:\.\w+)+)(\s+as\s+\w+)?\s*(#.*)?$")
_FROM_TORCH = re.compile(r"^(\s*)from torch((?:\.\w+)*) import (.+)$")


def to_xpnn(source):
    """``source`` with its torch import lines pointing at xpnn, nothing else changed.

    ``import torch`` -> ``import xpnn as torch``; ``import torch.X.Y as Z`` ->
    ``import xpnn.X.Y as Z``; ``from torch.X import a, b`` -> ``from xpnn.X import a, b``.

    Returns:
        ``(new_source, changed)``: the rewritten text and the list of ``(old, new)`` lines.
    Raises:
        ValueError: a line imports torch in a form this rewrite does not know.
    """
    out, changed = [], []
    for line in source.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        m = _IMPORT_TORCH.match(body)
        if m:
            new = f"{m.group(1)}import xpnn as torch"
        elif _IMPORT_SUB.match(body):
            m = _IMPORT_SUB.match(body)
            new = f"{m.group(1)}import xpnn{m.group(2)}{m.group(3) or ''}"
        elif _FROM_TORCH.match(body):
            m = _FROM_TORCH.match(body)
            new = f"{m.group(1)}from xpnn{m.group(2)} import {m.group(3)}"
        elif re.match(r"^\s*(import|from)\s+torch\b", body):
            raise ValueError(f"to_xpnn: cannot rewrite the import line {body!r}")
        else:
            out.append(line)
            continue
        changed.append((body, new))
        out.append(new + end)
    return "".join(out), changed


# -- what a run leaves --------------------------------------------------------------------

@dataclass
class Run:
    """One run of a program: what it printed, the ``.item()`` values its lines read, the
    tape of random draws (recorded or replayed), the warnings, and the error if it failed."""
    framework: str
    stdout: str = ""
    items: list = field(default_factory=list)
    tape: list = field(default_factory=list)
    params: dict | None = None
    buffers: dict | None = None
    warnings: list = field(default_factory=list)
    error: BaseException | None = None
    error_text: str = ""
    seconds: float = 0.0
    cpu: float = 0.0
    notes: list = field(default_factory=list)

    def __repr__(self):  # short: pytest prints it beside a failure
        return (f"Run({self.framework!r}, {len(self.items)} items, {len(self.tape)} draws, "
                f"error={type(self.error).__name__ if self.error else None})")

    def raise_error(self):
        if self.error is not None:
            raise AssertionError(f"the {self.framework} run failed:\n{self.error_text}"
                                 f"\n--- its output ---\n{self.stdout[-3000:]}") from self.error


# -- placing a program --------------------------------------------------------------------

def place(files, dest, framework):
    """Copy a program's files into ``dest``, rewriting their imports for xpnn.

    Args:
        files: paths relative to this folder (the first one is the script to run).
        dest: the folder to write into (made if missing).
        framework: "torch" (copied as they are) or "xpnn" (:func:`to_xpnn`).
    Returns:
        ``(script_path, changed_lines)``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    changed = []
    for rel in files:
        src = (HERE / rel).read_text(encoding="utf8")
        if framework == "xpnn":
            src, ch = to_xpnn(src)
            changed += ch
        (dest / Path(rel).name).write_text(src, encoding="utf8")
    return dest / Path(files[0]).name, changed


# -- running ------------------------------------------------------------------------------

@contextlib.contextmanager
def _default_backend(xpnn, name):
    xpnn.set_default_backend(name)
    try:
        yield
    finally:
        xpnn.set_default_backend("numpy")


@contextlib.contextmanager
def _global_settings(lib):
    """The framework's process-wide settings a program may change (the default dtype, the
    print options, the float32 matmul precision) put back after it, so that the next program
    starts from the defaults."""
    dtype, precision = lib.get_default_dtype(), lib.get_float32_matmul_precision()
    try:
        yield
    finally:
        lib.set_default_dtype(dtype)
        lib.set_printoptions(profile="default")
        lib.set_float32_matmul_precision(precision)


_LOCAL_MODULES = ("data", "model", "local_data")


@contextlib.contextmanager
def _program_context(script, argv, workdir, env):
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_env = {k: os.environ.get(k) for k in env}
    saved_mods = {m: sys.modules.pop(m) for m in _LOCAL_MODULES if m in sys.modules}
    cwd = os.getcwd()
    try:
        os.chdir(workdir)
        os.environ.update({k: str(v) for k, v in env.items()})
        sys.argv = [str(script), *argv]
        sys.path[:0] = [str(script.parent), str(HERE)]
        yield
    finally:
        os.chdir(cwd)
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for m in _LOCAL_MODULES:
            sys.modules.pop(m, None)
        sys.modules.update(saved_mods)


def run(files, argv, workdir, framework, recorded=None, env=None, backend="numpy",
        replay_draws=True):
    """Run a program in this process on ``framework`` and return its :class:`Run`.

    Args:
        files: the program's files relative to this folder, the script first.
        argv: its command-line arguments.
        workdir: an empty folder: the program's copy goes to ``workdir/src`` and it runs
            in ``workdir/run`` (where it writes its files).
        framework: "torch" (recording) or "xpnn" (replaying ``recorded``, the PyTorch run).
        env: environment variables for the run (the local data's subset sizes).
        backend: xpnn's default backend for the xpnn run.
        replay_draws: False runs the program plainly on its own seeds (a program with
            several models, or draws the replay does not cover): only its ``.item()``
            values are recorded, and ``recorded`` is not used.
    """
    workdir = Path(workdir)
    script, _ = place(files, workdir / "src", framework)
    rundir = workdir / "run"
    rundir.mkdir(parents=True, exist_ok=True)
    result = Run(framework)
    roots = (str(script.parent) + os.sep,)
    if framework == "torch":
        import torch
        hooks = replay.torch_hooks(result, roots) if replay_draws else \
            [replay.item_hook(torch.Tensor, result, roots)]
    else:
        import xpnn
        hooks = replay.xpnn_hooks(result, recorded, roots) if replay_draws else \
            [replay.item_hook(xpnn.Tensor, result, roots)]
        hooks.append(_default_backend(xpnn, backend))
        # warnings xpnn gives once per process are given again, as in the program's own
        # process (a program's run does not depend on the programs run before it)
        xpnn.amp.autocast_mode._warned = False
    hooks.append(_global_settings(torch if framework == "torch" else xpnn))
    out = io.StringIO()
    start, start_cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(_program_context(script, argv, rundir, env or {}))
                for h in hooks:
                    stack.enter_context(h)
                stack.enter_context(contextlib.redirect_stdout(out))
                runpy.run_path(str(script), run_name="__main__")
        except BaseException as e:  # SystemExit from argparse too
            result.error = e
            result.error_text = "".join(traceback.format_exception(e))
    result.seconds = time.perf_counter() - start
    result.cpu = time.process_time() - start_cpu
    result.stdout = out.getvalue()
    result.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return result


def run_both(files, argv, tmp_path, env=None, replay_draws=True):
    """The PyTorch run (recording) and the xpnn run (replaying): ``(torch_run, xpnn_run)``;
    with ``replay_draws=False``, each run plainly on its own seeds."""
    t = run(files, argv, Path(tmp_path) / "torch", "torch", env=env,
            replay_draws=replay_draws)
    t.raise_error()
    x = run(files, argv, Path(tmp_path) / "xpnn", "xpnn", recorded=t, env=env,
            replay_draws=replay_draws)
    return t, x


# -- comparing ----------------------------------------------------------------------------

def rel_diffs(a, b):
    """Relative differences |a - b| / max(|b|, tiny) of two lists of numbers, pairwise."""
    out = []
    for x, y in zip(a, b):
        out.append(abs(x - y) / max(abs(y), 1e-12))
    return out


def init_mismatches(t, x, min_size=32):
    """Where xpnn's own initial parameters (before the replay loaded PyTorch's) are not drawn
    like PyTorch's: a constant tensor (zeros, ones) must be the same constant, and a tensor
    of at least ``min_size`` entries must have a standard deviation within
    max(10%, 4 / sqrt(2 n)) of PyTorch's (four standard errors of the estimate; another
    init scheme or fan is off by far more)."""
    out = []
    for name, tw in t.params.items():
        xw = x.params[name]
        if tw.size > 1 and np.all(tw == tw.flat[0]):
            if not np.all(xw == tw.flat[0]):
                out.append(f"{name}: PyTorch starts it at {tw.flat[0]} everywhere, xpnn "
                           f"does not (mean {xw.mean():.3g}, std {xw.std():.3g})")
        elif tw.size >= min_size:
            ratio = xw.std() / tw.std()
            if abs(ratio - 1) > max(0.1, 4 / np.sqrt(2 * tw.size)):
                out.append(f"{name} {tw.shape}: std {xw.std():.4g} on xpnn, {tw.std():.4g} "
                           f"on PyTorch")
    return out


_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?")

# Printed differences that are known and cosmetic, applied to PyTorch's masked lines before
# they are compared with xpnn's: xpnn prints a dtype by its bare name (a Size prints as
# PyTorch's, "xpnn.Size([2, 3])"), except in a tensor's repr (", dtype=xpnn.int32)"), where
# it prints PyTorch's, also where a long repr wraps and its "dtype=" starts a line.
COSMETIC = [(r"(?<!, dtype=)(?<!^dtype=)torch\.(u?int#|float#|complex#|bool)", r"\1")]


def masked_lines(text, ignore=()):
    """The printed lines with every number replaced by '#' and runs of spaces by one (a
    padded field's width depends on its value), without those matching any regex of
    ``ignore``."""
    return [" ".join(_NUMBER.sub("#", line).split()) for line in text.splitlines()
            if not any(re.search(r, line) for r in ignore)]


def cosmetic(lines):
    """PyTorch's printed ``lines`` with the known cosmetic differences (COSMETIC) mapped to
    what xpnn prints, for the printed-line comparisons."""
    for pattern, repl in COSMETIC:
        lines = [re.sub(pattern, repl, line) for line in lines]
    return lines


def report(name, t, x, compared):
    """A one-line summary of a comparison."""
    d = rel_diffs(x.items[:compared], t.items[:compared])
    worst = max(d) if d else float("nan")
    return (f"{name}: {len(t.items)} values read by PyTorch, {len(x.items)} by xpnn; "
            f"first {compared} compared, max relative difference {worst:.2e}; "
            f"CPU seconds torch {t.cpu:.1f}, xpnn {x.cpu:.1f}")


def assert_items_agree(name, t, x, count, tol=lambda i: 1e-4):
    """The first ``count`` values the program read with .item() agree: floats within
    ``tol(i)`` relative, integers (counts, argmax indices) exactly."""
    for i, (a, b) in enumerate(zip(x.items[:count], t.items[:count])):
        assert type(a) is type(b), f"value {i}: {type(a).__name__} on xpnn, " \
                                   f"{type(b).__name__} on PyTorch"
        if isinstance(b, float):
            assert abs(a - b) <= tol(i) * abs(b), \
                f"{name}: value {i}: xpnn {a!r}, PyTorch {b!r} " \
                f"(rel {abs(a - b) / abs(b):.2e}); replay notes: {x.notes}"
        else:
            assert a == b, f"{name}: value {i}: xpnn {a!r}, PyTorch {b!r}"


def assert_learns(name, t, x, learning, land):
    """The loss falls on xpnn and lands within ``land`` (relative) of PyTorch's.
    ``learning(stdout, items)`` gives (early loss, late loss)."""
    (t0, t1), (x0, x1) = learning(t.stdout, t.items), learning(x.stdout, x.items)
    assert t1 < t0, f"{name}: PyTorch's loss did not fall ({t0} -> {t1}); fix the test"
    assert x1 < x0, f"{name}: xpnn's loss did not fall ({x0} -> {x1})"
    assert abs(x1 - t1) <= land * abs(t1), (name, x1, t1)
