"""xpnn.profiler (torch.profiler): op calls, backward passes and record_function ranges are
timed and reported as PyTorch's table; the schedule selects steps; the timing hooks exist
only while a profile runs."""
import json

import pytest

import xpnn
from xpnn.autograd import Function
from xpnn.profiler import (ProfilerAction, ProfilerActivity, profile, record_function,
                           schedule, tensorboard_trace_handler)


def _step(model, x, y):
    loss = xpnn.nn.functional.cross_entropy(model(x), y)
    loss.backward()


def _model():
    return xpnn.nn.Sequential(xpnn.nn.Linear(8, 16), xpnn.nn.ReLU(), xpnn.nn.Linear(16, 3))


def test_ops_ranges_and_backward_are_counted():
    model, x, y = _model(), xpnn.randn(4, 8), xpnn.tensor([0, 1, 2, 0])
    apply_before = Function.__dict__["apply"]
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(3):
            with record_function("step"):
                _step(model, x, y)
    assert Function.__dict__["apply"] is apply_before  # the hooks are gone
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["step"].count == 3 and rows["xpnn::Linear"].count == 6
    assert rows["xpnn::backward"].count == 3 and rows["xpnn::ReLU"].count == 3
    step = rows["step"]
    inner = sum(r.cpu_time_total for k, r in rows.items() if k != "step")
    assert step.cpu_time_total >= inner > 0
    assert step.self_cpu_time_total == pytest.approx(step.cpu_time_total - inner, rel=1e-6)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=3)
    lines = table.splitlines()
    assert "Self CPU %" in lines[1] and lines[3].strip().startswith("step")
    assert lines[-1].startswith("Self CPU time total:") and len(lines) == 8


def test_nothing_is_recorded_outside_and_profiles_do_not_nest():
    model, x, y = _model(), xpnn.randn(4, 8), xpnn.tensor([0, 1, 2, 0])
    with record_function("outside"):  # no profile: a no-op
        _step(model, x, y)
    with profile() as prof:
        with pytest.raises(RuntimeError, match="already running"):
            profile().start()
    assert prof.key_averages() == []


def test_schedule_steps_and_trace_handler(tmp_path):
    sched = schedule(wait=1, warmup=1, active=2, repeat=1)
    assert [sched(i) for i in range(5)] == [ProfilerAction.NONE, ProfilerAction.WARMUP,
                                           ProfilerAction.RECORD,
                                           ProfilerAction.RECORD_AND_SAVE, ProfilerAction.NONE]
    model, x, y = _model(), xpnn.randn(4, 8), xpnn.tensor([0, 1, 2, 0])
    ready = []
    with profile(schedule=sched, on_trace_ready=ready.append) as prof:
        for _ in range(5):
            with record_function("step"):
                _step(model, x, y)
            prof.step()
    assert ready == [prof]
    assert {r.key: r.count for r in prof.key_averages()}["step"] == 2  # the active steps
    tensorboard_trace_handler(str(tmp_path), worker_name="w")(prof)
    (trace,) = tmp_path.iterdir()
    events = json.loads(trace.read_text())["traceEvents"]
    assert trace.name.startswith("w.") and {e["ph"] for e in events} == {"X"}
    assert sum(e["name"] == "step" for e in events) == 2


def test_record_function_as_a_decorator_and_bad_activities():
    @record_function("helper")
    def helper(t):
        return t * 2

    with profile() as prof:
        helper(xpnn.ones(2))
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["helper"].count == 1 and len(rows) == 2  # the range and the product's op
    with pytest.raises(TypeError):
        profile(activities=["cpu"])
