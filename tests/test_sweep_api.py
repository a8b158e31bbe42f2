"""Regression tests from an adversarial sweep of the APIs around the math (Module,
optimizers, schedulers, nn.utils, save/load, utils.data) against torch 2.13: each case ran
differently in xpnn before its fix. A case is a function of the module (``xpnn`` or
``torch``), called the same way on both; results are compared, and an error must be
torch's exception class (or a subclass)."""
import io

import numpy as np
import pytest

import xpnn

torch = pytest.importorskip("torch")


def _run(case, m):
    """(True, result) or (False, exception) of ``case(m)``."""
    try:
        return True, case(m)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return False, e


def _check(case):
    """``case`` gives equal results on xpnn and torch, or raises torch's class in both."""
    t_ok, t = _run(case, torch)
    x_ok, x = _run(case, xpnn)
    assert x_ok == t_ok, f"torch {'returned' if t_ok else 'raised'} {t!r}; xpnn gave {x!r}"
    if t_ok:
        assert x == t
    else:
        assert isinstance(x, type(t)), f"torch raised {type(t).__name__}, xpnn {x!r}"


def _lin(m):
    l = m.nn.Linear(2, 1)
    with m.no_grad():
        l.weight.fill_(0.5)
        l.bias.fill_(0.1)
    return l


# -- nn.Module ----------------------------------------------------------------------------
def _plain_attr_before_init(m):
    class M(m.nn.Module):
        def __init__(self):
            self.width = 3  # a plain attribute may come before super().__init__()
            super().__init__()
            self.fc = m.nn.Linear(self.width, 1)
    return M().width, list(M().state_dict())


def _module_before_init(m):
    class M(m.nn.Module):
        def __init__(self):
            self.fc = m.nn.Linear(1, 1)
            super().__init__()
    M()


def _parameter_before_init(m):
    class M(m.nn.Module):
        def __init__(self):
            self.p = m.nn.Parameter(m.ones(1))
            super().__init__()
    M()


def _module_over_parameter(m):
    mod = m.nn.Module()
    mod.a = m.nn.Parameter(m.ones(1))
    mod.a = m.nn.Linear(1, 1)


def _incompatible_keys_repr(m):
    l = m.nn.Linear(2, 2)
    r = l.load_state_dict({"weight": m.zeros(2, 2), "extra": m.zeros(1)}, strict=False)
    return repr(r), str(r), r.missing_keys, r.unexpected_keys, repr(l.load_state_dict(
        l.state_dict()))


def _load_a_list_value(m):
    l = m.nn.Linear(2, 2)
    sd = dict(l.state_dict())
    sd["weight"] = [[0.0, 0.0], [0.0, 0.0]]
    l.load_state_dict(sd)


@pytest.mark.parametrize("case", [_plain_attr_before_init, _module_before_init,
                                  _parameter_before_init, _module_over_parameter,
                                  _incompatible_keys_repr, _load_a_list_value])
def test_module_matches_torch(case):
    _check(case)


def _two_level(m):
    return m.nn.Sequential(m.nn.Linear(2, 2), m.nn.Sequential(m.nn.Linear(2, 1)))


def _state_dict_hooks(m):
    s, log = _two_level(m), []
    s.register_state_dict_pre_hook(lambda mod, prefix, kv: log.append(("pre", prefix, kv)))
    s[1].register_state_dict_pre_hook(lambda mod, prefix, kv: log.append(("pre1", prefix)))

    def add_entry(mod, sd, prefix, meta):
        log.append(("post1", prefix, list(sd)))
        sd[prefix + "extra"] = m.zeros(1)

    s[1].register_state_dict_post_hook(add_entry)
    h = s.register_state_dict_post_hook(lambda mod, sd, prefix, meta: log.append(list(sd)))
    keys = list(s.state_dict(prefix="p."))
    h.remove()
    return log, keys, list(s.state_dict())


def _state_dict_post_hook_returns(m):
    s = _two_level(m)
    s.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
    s.state_dict()


def _private_state_dict_hook_replaces(m):
    s = _two_level(m)
    s._register_state_dict_hook(lambda mod, sd, prefix, meta: {k.upper(): v for k, v in
                                                                sd.items()})
    s[1]._register_state_dict_hook(lambda mod, sd, prefix, meta: {})  # not seen: a child
    return list(s.state_dict())


def _load_pre_hook_renames(m):
    s, log = _two_level(m), []

    def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
        log.append((type(mod).__name__, prefix, strict))
        for k in list(sd):
            if k.startswith(prefix + "old_"):
                sd[prefix + k[len(prefix) + 4:]] = sd.pop(k)

    s[1].register_load_state_dict_pre_hook(rename)
    s._register_load_state_dict_pre_hook(lambda sd, prefix, *rest: log.append((prefix,
                                                                               len(rest))))
    src = _two_level(m).state_dict()
    sd = {k.replace("1.0.", "1.old_0."): v for k, v in src.items()}
    r = s.load_state_dict(sd)
    return (log, repr(r), list(sd)[2],  # the caller's dict is not changed
            s[1][0].weight.tolist() == src["1.0.weight"].tolist())


def _load_pre_hook_error(m):
    s = _two_level(m)
    s[0].register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, meta, strict, missing, unexpected, errors: errors.append("no"))
    s.load_state_dict(s.state_dict())


def _load_post_hook_forgives(m):
    s, log = _two_level(m), []

    def forgive(mod, keys):
        log.append((list(keys.missing_keys), list(keys.unexpected_keys)))
        keys.unexpected_keys.clear()

    s[1].register_load_state_dict_post_hook(lambda mod, keys: log.append("inner first"))
    s.register_load_state_dict_post_hook(forgive)
    sd = dict(_two_level(m).state_dict())
    sd["junk"] = m.zeros(1)
    r = s.load_state_dict(sd)
    return log, repr(r), s[0].bias.tolist() == sd["0.bias"].tolist()


def _load_post_hook_strict(m):
    s = _two_level(m)
    s.register_load_state_dict_post_hook(lambda mod, keys: None)
    sd = dict(_two_level(m).state_dict())
    sd["junk"] = m.zeros(1)
    s.load_state_dict(sd)


@pytest.mark.parametrize("case", [_state_dict_hooks, _state_dict_post_hook_returns,
                                  _private_state_dict_hook_replaces, _load_pre_hook_renames,
                                  _load_pre_hook_error, _load_post_hook_forgives,
                                  _load_post_hook_strict])
def test_state_dict_hooks_match_torch(case):
    _check(case)


# -- optim --------------------------------------------------------------------------------
def _named_parameters(m):
    l = _lin(m)
    o = m.optim.SGD(l.named_parameters(), lr=0.1, momentum=0.9)
    l(m.ones(1, 2)).sum().backward()
    o.step()
    sd = o.state_dict()
    return (o.param_groups[0]["param_names"], sd["param_groups"][0]["param_names"],
            sd["param_groups"][0]["params"], l.weight.tolist(), l.bias.tolist())


def _named_groups(m):
    l = _lin(m)
    o = m.optim.Adam([{"params": [("w", l.weight)], "lr": 1.0},
                      {"params": [("b", l.bias)]}], lr=0.1)
    l(m.ones(1, 2)).sum().backward()
    o.step()
    sd = o.state_dict()
    o2 = m.optim.Adam([{"params": [("w", l.weight)]}, {"params": [("b", l.bias)]}])
    o2.load_state_dict(sd)
    return ([g["param_names"] for g in o.param_groups], [g["lr"] for g in o2.param_groups],
            [g["param_names"] for g in o2.param_groups])


def _named_and_unnamed_groups(m):
    l = _lin(m)
    m.optim.SGD([{"params": [("w", l.weight)]}, {"params": [l.bias]}], lr=0.1)


def _named_and_unnamed_params(m):
    l = _lin(m)
    m.optim.SGD([("w", l.weight), l.bias], lr=0.1)


def _non_leaf(m):
    w = m.ones(2, requires_grad=True) * 2
    m.optim.SGD([w], lr=0.1)


def _old_lr_scheduler_base(m):
    class Warmup(m.optim.lr_scheduler._LRScheduler):
        def __init__(self, opt, steps):
            self.steps = steps
            super().__init__(opt)

        def get_lr(self):
            return [b * min(1.0, (self.last_epoch + 1) / self.steps) for b in self.base_lrs]

    o = m.optim.SGD(_lin(m).parameters(), lr=0.1)
    s = Warmup(o, 4)
    lrs = []
    for _ in range(6):
        o.step()
        s.step()
        lrs.append(round(s.get_last_lr()[0], 9))
    return lrs, isinstance(s, m.optim.lr_scheduler.LRScheduler)


def _custom_optimizer_resumed(m):
    """An optimizer written as in PyTorch (its own step, Tensors in ``self.state``) keeps
    Tensor slots through state_dict, save, load and load_state_dict."""
    class HeavyBall(m.optim.Optimizer):
        def __init__(self, params, lr=0.01, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @m.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"] = 0
                        state["buf"] = m.zeros_like(p)
                        state["hist"] = [m.zeros(1, dtype=m.float64)]
                    state["step"] += 1
                    state["buf"].mul_(group["momentum"]).add_(p.grad)
                    state["hist"][0].add_(1)
                    p.add_(state["buf"], alpha=-group["lr"])

    l = _lin(m)
    opt = HeavyBall(l.parameters(), lr=0.1)
    for i in range(4):
        if i == 2:
            buf = io.BytesIO()
            m.save(opt.state_dict(), buf)
            buf.seek(0)
            opt = HeavyBall(l.parameters(), lr=0.1)
            opt.load_state_dict(m.load(buf))
        opt.zero_grad()
        (l(m.ones(1, 2)) ** 2).sum().backward()
        opt.step()
    st = opt.state[l.weight]
    return (np.round(np.array(l.weight.tolist()), 5).tolist(), type(st["buf"]).__name__,
            st["step"], str(st["hist"][0].dtype)[-7:], st["hist"][0].item())


def _custom_optimizer_without_lr(m):
    class NoLr(m.optim.Optimizer):
        def __init__(self, params, lr=None):
            super().__init__(params, dict(beta=0.9) if lr is None else dict(lr=lr))

        def step(self, closure=None):
            return None

    a = NoLr(m.nn.Linear(1, 1).parameters())
    b = NoLr(m.nn.Linear(1, 1).parameters(), lr=0.5)
    return sorted(a.param_groups[0]), b.param_groups[0]["lr"]


@pytest.mark.parametrize("case", [_named_parameters, _named_groups, _named_and_unnamed_groups,
                                  _named_and_unnamed_params, _non_leaf,
                                  _old_lr_scheduler_base, _custom_optimizer_resumed,
                                  _custom_optimizer_without_lr])
def test_optim_matches_torch(case):
    _check(case)


# -- nn.utils -----------------------------------------------------------------------------
def test_clip_grad_norm_of_an_inf_gradient_is_nan_without_a_warning():
    """torch gives nan gradients silently; pytest turns a NumPy RuntimeWarning into an
    error, so this fails if xpnn warns."""
    out = {}
    for m in (torch, xpnn):
        l = _lin(m)
        l.weight.grad = m.tensor([[float("inf"), 1.0]])
        l.bias.grad = m.tensor([1.0])
        total = m.nn.utils.clip_grad_norm_(l.parameters(), 1.0)
        out[m.__name__] = (total.item(), np.asarray(l.weight.grad.tolist()))
    assert out["xpnn"][0] == out["torch"][0] == float("inf")
    np.testing.assert_array_equal(out["xpnn"][1], out["torch"][1])


# -- utils.data ---------------------------------------------------------------------------
def _tensor_dataset_sizes(m):
    m.utils.data.TensorDataset(m.zeros(3), m.zeros(4))


def _concat_nothing(m):
    m.utils.data.ConcatDataset([])


def _stack_dataset(m):
    D = m.utils.data
    a = D.TensorDataset(m.arange(6.).reshape(3, 2))
    b = D.TensorDataset(m.arange(3))
    s, d = D.StackDataset(a, b), D.StackDataset(x=a, y=b)
    batch = next(iter(D.DataLoader(d, batch_size=2)))
    return (len(s), s[1][0][0].tolist(), s[1][1][0].item(), sorted(d[2]),
            batch["x"][0].tolist(), batch["y"][0].tolist())


def _stack_dataset_mixed(m):
    D = m.utils.data
    D.StackDataset(D.TensorDataset(m.zeros(2)), y=D.TensorDataset(m.zeros(2)))


def _stack_dataset_sizes(m):
    D = m.utils.data
    D.StackDataset(D.TensorDataset(m.zeros(2)), D.TensorDataset(m.zeros(3)))


@pytest.mark.parametrize("case", [_tensor_dataset_sizes, _concat_nothing, _stack_dataset,
                                  _stack_dataset_mixed, _stack_dataset_sizes])
def test_data_matches_torch(case):
    _check(case)


# -- a whole program: train, checkpoint through a file object, resume ---------------------
def _train(m, resume_at, data):
    X, Y = data

    def build():
        net = m.nn.Sequential(m.nn.Linear(6, 8, bias=False), m.nn.BatchNorm1d(8), m.nn.ReLU(),
                              m.nn.Linear(8, 2))
        with m.no_grad():
            for i, p in enumerate(net.parameters()):
                p.copy_(m.tensor(np.linspace(-0.5, 0.5, p.numel(), dtype=np.float32)
                                 .reshape(tuple(p.shape)) * (1 + i % 3)))
        return net

    def optimizer(net):
        return m.optim.AdamW([{"params": [p for n, p in net.named_parameters() if "bias" not in n]},
                              {"params": [p for n, p in net.named_parameters() if "bias" in n],
                               "weight_decay": 0.0}], lr=0.05)

    net = build()
    opt = optimizer(net)
    sched = m.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=16)
    losses, epoch = [], 0
    while epoch < 4:
        net.train()
        for b in range(4):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(net(m.tensor(X[b * 16:(b + 1) * 16])),
                                                 m.tensor(Y[b * 16:(b + 1) * 16]),
                                                 label_smoothing=0.1)
            loss.backward()
            m.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        epoch += 1
        if epoch == resume_at:
            buf = io.BytesIO()
            m.save({"model": net.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "epoch": epoch}, buf)
            buf.seek(0)
            ck = m.load(buf)
            net = build()
            net.load_state_dict(ck["model"])
            opt = optimizer(net)
            opt.load_state_dict(ck["opt"])
            sched = m.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=16)
            sched.load_state_dict(ck["sched"])
            epoch = ck["epoch"]
    net.eval()
    with m.no_grad():
        return np.array(losses), net(m.tensor(X)).numpy()


@pytest.mark.parametrize("resume_at", [None, 2])
def test_training_with_checkpoint_resume_matches_torch(resume_at):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6)).astype(np.float32)
    data = X, (X[:, 0] > 0).astype(np.int64)
    tol = 100 * np.finfo(np.float32).eps
    lt, ot = _train(torch, resume_at, data)
    lx, ox = _train(xpnn, resume_at, data)
    np.testing.assert_allclose(lx, lt, rtol=tol, atol=tol)
    np.testing.assert_allclose(ox, ot, rtol=tol, atol=tol)


# -- optim.swa_utils and BatchNorm.reset_running_stats ------------------------------------
def _swa_net(m):
    net = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4), m.nn.ReLU(), m.nn.Linear(4, 1))
    with m.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(m.tensor(np.linspace(-1, 1, p.numel(), dtype=np.float32)
                             .reshape(tuple(p.shape)) * (i + 1)))
    return net


def _swa_run(m, kind, xs):
    S = m.optim.swa_utils
    net = _swa_net(m)
    kw = {"swa": {}, "ema": dict(multi_avg_fn=S.get_ema_multi_avg_fn(0.9)),
          "ema_avg_fn": dict(avg_fn=S.get_ema_avg_fn(0.9)),
          "swa_avg_fn": dict(avg_fn=S.get_swa_avg_fn()),
          "buffers": dict(multi_avg_fn=S.get_ema_multi_avg_fn(0.9), use_buffers=True)}[kind]
    avg = S.AveragedModel(net, **kw)
    opt = m.optim.SGD(net.parameters(), lr=0.1)
    sched = S.SWALR(opt, swa_lr=0.05, anneal_epochs=3,
                    anneal_strategy="linear" if kind == "swa_avg_fn" else "cos")
    lrs = []
    for x in xs:
        opt.zero_grad()
        (net(m.tensor(x)) ** 2).mean().backward()
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        avg.update_parameters(net)
    S.update_bn([(m.tensor(x), 0) for x in xs], avg)
    sd = avg.state_dict()
    with m.no_grad():
        out = avg(m.tensor(xs[0])).numpy()
    values = np.concatenate([v.detach().numpy().ravel().astype(np.float64) for v in sd.values()])
    return np.array(lrs), out, list(sd), sd["n_averaged"].item(), values, avg.training


@pytest.mark.parametrize("kind", ["swa", "ema", "ema_avg_fn", "swa_avg_fn", "buffers"])
def test_averaged_model_swalr_update_bn_match_torch(kind):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((8, 3)).astype(np.float32) for _ in range(6)]
    t, x = _swa_run(torch, kind, xs), _swa_run(xpnn, kind, xs)
    tol = 1000 * np.finfo(np.float32).eps  # six averaged SGD steps in float32
    np.testing.assert_allclose(x[0], t[0], rtol=1e-12)
    np.testing.assert_allclose(x[1], t[1], rtol=tol, atol=tol)
    assert x[2:4] == t[2:4]
    np.testing.assert_allclose(x[4], t[4], rtol=tol, atol=tol)
    assert x[5] == t[5]


def _swalr_bad_strategy(m):
    m.optim.swa_utils.SWALR(m.optim.SGD(m.nn.Linear(1, 1).parameters(), lr=0.1), 0.01,
                            anneal_strategy="step")


def _swalr_after_cosine(m):
    o = m.optim.SGD(m.nn.Linear(1, 1).parameters(), lr=0.1)
    cos = m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)
    lrs = []
    for i in range(10):
        o.step()
        if i < 5:
            cos.step()
        else:
            if i == 5:
                swa = m.optim.swa_utils.SWALR(o, [0.02], anneal_epochs=2)
            swa.step()
        lrs.append(round(o.param_groups[0]["lr"], 12))
    return lrs


def _reset_running_stats(m):
    bn = m.nn.BatchNorm1d(2)
    bn(m.tensor([[1.0, 2.0], [3.0, 7.0]]))
    bn.reset_running_stats()
    a = bn.running_mean.tolist(), bn.running_var.tolist(), bn.num_batches_tracked.item()
    bn(m.tensor([[1.0, 2.0], [3.0, 7.0]]))
    bn.reset_parameters()  # resets the statistics too, as PyTorch's
    return a, bn.running_var.tolist(), bn.num_batches_tracked.item()


@pytest.mark.parametrize("case", [_swalr_bad_strategy, _swalr_after_cosine,
                                  _reset_running_stats])
def test_swa_cases_match_torch(case):
    _check(case)


def test_averaged_model_on_every_backend(backend):
    """The copy-or-average choice stays on the device (device1 refuses host reads)."""
    S = xpnn.optim.swa_utils
    net = xpnn.nn.Sequential(xpnn.nn.Linear(3, 2), xpnn.nn.BatchNorm1d(2))
    for kw in [{}, dict(multi_avg_fn=S.get_ema_multi_avg_fn(0.9)),
               dict(avg_fn=S.get_ema_avg_fn(0.9))]:
        avg = S.AveragedModel(net, **kw)
        first = net[0].weight.numpy().copy()
        avg.update_parameters(net)
        np.testing.assert_array_equal(avg.module[0].weight.numpy(), first)
        with xpnn.no_grad():
            net[0].weight.add_(1.0)
        avg.update_parameters(net)
        weight = 0.5 if not kw else 0.1  # SWA's mean of two, or the EMA's 1 - decay
        np.testing.assert_allclose(avg.module[0].weight.numpy(), first + weight,
                                   rtol=1e-6, atol=1e-6)
        S.update_bn([xpnn.randn(4, 3)], avg)
        assert avg.n_averaged.item() == 2 and str(avg.n_averaged.dtype).endswith("int64")


def _data_parallel(m):
    net = _lin(m)
    dp = m.nn.DataParallel(net)
    out = dp(m.ones(3, 2))
    out.sum().backward()
    return (list(dp.state_dict()), dp.module is net, out.tolist(), net.weight.grad.tolist(),
            repr(dp), m.nn.parallel.DataParallel is m.nn.DataParallel)


def _data_parallel_of_a_function(m):
    dp = m.nn.DataParallel(lambda x: x * 2)
    return repr(dp), dp(m.ones(2)).tolist(), list(dp.state_dict())


@pytest.mark.parametrize("case", [_data_parallel, _data_parallel_of_a_function])
def test_data_parallel_matches_torch(case):
    _check(case)


# -- optimizer hooks ----------------------------------------------------------------------
def _step_hooks(m):
    l, log = _lin(m), []
    o = m.optim.Adam(l.parameters(), lr=0.1)
    h1 = o.register_step_pre_hook(
        lambda opt, args, kwargs: log.append(("pre", len(args), args[0] is opt, kwargs)))
    h2 = o.register_step_post_hook(lambda opt, args, kwargs: log.append("post"))
    l(m.ones(1, 2)).sum().backward()
    o.step()
    h1.remove()
    o.step()
    h2.remove()
    o.step()
    return log


def _step_pre_hook_replaces_args(m):
    l, log = _lin(m), []
    o = m.optim.SGD(l.parameters(), lr=0.1)

    def closure():
        log.append("closure")
        return m.tensor(1.0)

    o.register_step_pre_hook(lambda opt, args, kwargs: ((opt, closure), {}))
    return log, o.step().item()


def _custom_optimizer_step_hooks(m):
    class Plain(m.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def step(self, closure=None):
            log.append("step")

    log = []
    o = Plain(_lin(m).parameters())
    o.register_step_pre_hook(lambda *a: log.append("pre"))
    o.register_step_post_hook(lambda *a: log.append("post"))
    o.step()
    return log


def _optimizer_state_dict_hooks(m):
    l, log = _lin(m), []
    o = m.optim.AdamW(l.parameters(), lr=0.1)
    o.register_state_dict_pre_hook(lambda opt: log.append("pre"))

    def add_key(opt, sd):
        sd["extra"] = 1
        return sd

    def drop_key(opt, sd):
        log.append(sorted(sd))
        return {k: v for k, v in sd.items() if k != "extra"}

    o.register_state_dict_post_hook(add_key)
    o.register_load_state_dict_pre_hook(drop_key)
    o.register_load_state_dict_post_hook(lambda opt: log.append("loaded"))
    sd = o.state_dict()
    o.load_state_dict(sd)
    return log, sorted(sd)


@pytest.mark.parametrize("case", [_step_hooks, _step_pre_hook_replaces_args,
                                  _custom_optimizer_step_hooks, _optimizer_state_dict_hooks])
def test_optimizer_hooks_match_torch(case):
    _check(case)


def _memory_formats(m):
    conv = m.nn.Conv2d(1, 2, 3)
    x = m.ones(1, 1, 4, 4)
    y = conv.to(memory_format=m.channels_last)(x.contiguous(memory_format=m.channels_last))
    return (conv.to(memory_format=m.channels_last) is conv, tuple(y.shape),
            isinstance(m.channels_last, m.memory_format),
            repr(m.contiguous_format).split(".")[-1],
            tuple(x.clone(memory_format=m.preserve_format).shape),
            m.channels_last_3d is not m.channels_last)


def test_memory_formats_match_torch():
    _check(_memory_formats)
