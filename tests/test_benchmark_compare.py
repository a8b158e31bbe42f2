"""benchmarks/compare.py runs: one short round per setting prints a figure per library.

Nothing here is timed (speed is the benchmark's business, not the tests'): these check that
the command lines the README and the issue notes quote keep working, with their options.
"""
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "compare.py"


def _run(*args):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--models", "mlp64", "--rounds", "1",
                           "--seconds", "0.2", *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("args,threads", [((), None), (("--threads", "1"), "1"),
                                          (("--same-process", "--threads", "1"), "1")],
                         ids=["default", "threads1", "same-process"])
def test_compare_prints_both_libraries(args, threads):
    out = _run(*args)
    line = next(s for s in out.splitlines() if s.startswith("mlp64"))
    assert "xpnn" in line and "torch" in line and "ratio" in line
    if threads is not None:
        assert f"threads {threads};" in out  # the header says what was set
        assert f"xpnn threads {threads}  xpnn BLAS " in line
