"""What NeuralNetClassifier and NeuralNetRegressor share: parameters, building, training."""
from __future__ import annotations

import copy
import functools
import inspect
import numbers
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .. import backend as B
from .. import backend_rng_state as S
from .. import nn, optim
from ..callbacks import Callback
from ..data.loader import DataLoader
from ..train import fit, predict

PREFIXES = ("module__", "optimizer__", "criterion__")
FLOATS = [np.float64, np.float32]  # validate_data keeps these and makes the rest float64


def default_module(n_features_in, n_outputs, hidden=100, dropout=0.0):
    """The module used when ``module=None``: an MLP that returns logits (raw outputs).

    Args:
        n_features_in: input features (int >= 1).
        n_outputs: output units: classes for a classifier, targets for a regressor.
        hidden: hidden-layer width (int) or widths (sequence of ints; empty: linear model).
        dropout: dropout probability after each hidden ReLU (0: no Dropout layer).
    Returns:
        nn.Sequential: ``Linear -> ReLU [-> Dropout]`` per hidden layer, then ``Linear``.
    """
    widths = [hidden] if isinstance(hidden, numbers.Integral) else list(hidden)
    if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1
               for h in widths):
        raise ValueError(f"default_module: hidden (module__hidden) must be an int >= 1 or a "
                         f"sequence of them, got {hidden!r}")
    layers, width = [], n_features_in
    for h in widths:
        layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_outputs))


@contextmanager
def _seeded(seed):
    """Seed xpnn's generators for the block (seed None: leave them), then restore them."""
    if seed is None:
        yield
        return
    state = S.get_rng_state()
    B.manual_seed(seed)
    try:
        yield
    finally:
        S.set_rng_state(state)


def _accepts(fn, name):
    """Whether ``fn`` has a parameter called ``name`` (not counting ``**kwargs``)."""
    try:
        p = inspect.signature(fn).parameters.get(name)
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return p is not None and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)


def _is_int(value, low):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


class NeuralNet(BaseEstimator):
    """The shared base; NeuralNetClassifier's docstring describes the parameters.

    Subclasses set ``_size_name`` (the output-size argument passed to a module callable),
    ``_default_criterion`` and ``_metrics``, and write ``_validate_xy``.
    """

    _size_name = "n_outputs"
    _default_criterion = nn.MSELoss
    _metrics = ()

    def __init__(self, module=None, *, criterion=None, optimizer=optim.Adam, lr=1e-2,
                 max_epochs=20, batch_size=32, backend=None, device=None, random_state=None,
                 callbacks=None, verbose=0, **kwargs):
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.backend = backend
        self.device = device
        self.random_state = random_state
        self.callbacks = callbacks
        self.verbose = verbose
        # Nested parameters (module__hidden=64, ...) and unknown names live here and are
        # checked in fit: scikit-learn's checks pass every name in the signature, "kwargs"
        # included, to the constructor and to set_params, and expect neither to raise.
        self._kwargs = dict(kwargs)

    # -- parameters ---------------------------------------------------------------------
    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._kwargs)
        return params

    def set_params(self, **params):
        """Set parameters, nested ones (``module__hidden=64``) included. Returns self."""
        names = self._get_param_names()
        for key in [k for k in params
                    if k.startswith(PREFIXES) or k.partition("__")[0] not in names]:
            self._kwargs[key] = params.pop(key)
        return super().set_params(**params)

    def _prefixed(self, prefix):
        return {k[len(prefix):]: v for k, v in self._kwargs.items() if k.startswith(prefix)}

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    # -- checks -------------------------------------------------------------------------
    def _check_settings(self, where):
        for key in self._kwargs:
            prefix = next((p for p in PREFIXES if key.startswith(p)), None)
            if prefix is None or len(key) == len(prefix):
                raise ValueError(f"{where}: unknown parameter {key!r}; nested parameters are "
                                 f"named module__<arg>, optimizer__<arg> or criterion__<arg>")
        for arg, low in (("max_epochs", 1), ("batch_size", 1), ("verbose", 0)):
            if not _is_int(getattr(self, arg), low):
                raise ValueError(f"{where}: {arg} must be an int >= {low}, got "
                                 f"{getattr(self, arg)!r}")
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.RandomState) or _is_int(rs, 0)):
            raise ValueError(f"{where}: random_state must be None, an int >= 0 or a "
                             f"numpy.random.RandomState, got {rs!r}")
        if not callable(self.optimizer):
            raise TypeError(f"{where}: optimizer must be an xpnn.optim class or a callable "
                            f"(params, lr, **kwargs) -> optimizer, got {self.optimizer!r}")
        cbs = self.callbacks
        if cbs is not None and (not isinstance(cbs, (list, tuple)) or
                                not all(isinstance(cb, Callback) for cb in cbs)):
            raise TypeError(f"{where}: callbacks must be None or a list of "
                            f"xpnn.callbacks.Callback objects, got {cbs!r}")

    # -- building -----------------------------------------------------------------------
    @staticmethod
    def _call(where, prefix, fn, args, kw):
        """``fn(*args, **kw)``; an argument ``fn`` does not take (given as ``prefix`` +
        name) raises ValueError naming it, as a bad top-level parameter does."""
        try:
            return fn(*args, **kw)
        except TypeError as exc:
            bad = [k for k in kw if f"'{k}'" in str(exc)]
            if not bad:
                raise
            raise ValueError(f"{where}: {prefix}{bad[0]} is not an argument of "
                             f"{getattr(fn, '__name__', fn)!s}: {exc}") from exc

    def _build_module(self, n_features, n_out, where):
        kw, module = self._prefixed("module__"), self.module
        if module is None:
            built = self._call(where, "module__", default_module, (n_features, n_out), kw)
        elif isinstance(module, nn.Module):
            if kw:
                raise ValueError(f"{where}: module__ parameters {sorted(kw)} need module to "
                                 f"be a class or callable, got an instance of "
                                 f"{type(module).__name__}")
            # Train a copy, re-initialised from random_state: fit never changes the caller's
            # module, and its result depends only on the parameters and the data.
            built = copy.deepcopy(module)
            for sub in built.modules():
                if callable(getattr(sub, "reset_parameters", None)):
                    sub.reset_parameters()
        elif callable(module):
            sizes = {"n_features_in": n_features, self._size_name: n_out}
            given = {k: v for k, v in sizes.items() if _accepts(module, k)}
            built = self._call(where, "module__", module, (), {**given, **kw})
        else:
            raise TypeError(f"{where}: module must be an xpnn.nn.Module, a class or callable "
                            f"returning one, or None, got {module!r}")
        if not isinstance(built, nn.Module):
            raise TypeError(f"{where}: module {module!r} returned {type(built).__name__}, not "
                            f"an xpnn.nn.Module")
        if self.backend is not None or self.device is not None:
            built.to(self.backend, device=self.device)
        return built

    def _build_criterion(self, be, where):
        crit = self._default_criterion if self.criterion is None else self.criterion
        kw = self._prefixed("criterion__")
        if not callable(crit):
            raise TypeError(f"{where}: criterion must be a loss class, module or function "
                            f"(output, y) -> loss, got {crit!r}")
        if isinstance(crit, type):
            crit = self._call(where, "criterion__", crit, (), kw)
        elif isinstance(crit, nn.Module):
            crit = copy.deepcopy(crit)  # moved below: the caller's object stays as it is
        elif kw:
            crit = functools.partial(crit, **kw)
        if isinstance(crit, nn.Module):
            crit.to(be.name, device=be.device)  # e.g. a class-weight buffer
        return crit

    def _backend_of(self, module):
        for p in module.parameters():
            return B.get_backend(p.backend, p.device)
        return B.get_backend(self.backend, self.device)

    def _seeds(self, epochs_done):
        """(xpnn seed, loader seed) for this call; (None, None) with random_state=None."""
        if self.random_state is None:
            return None, None
        if isinstance(self.random_state, numbers.Integral):
            base = int(self.random_state)
        else:  # a RandomState: drawn from, as scikit-learn's estimators do
            base = int(check_random_state(self.random_state).randint(2**31 - 1))
        init, shuffle = np.random.SeedSequence([base, epochs_done]).generate_state(2)
        return int(init), int(shuffle)

    # -- training and inference -----------------------------------------------------------
    def _fit(self, X, y, epochs, warm, classes=None):
        """Validate; build unless ``warm`` and already fitted; train ``epochs`` epochs."""
        where = f"{type(self).__name__}.{'partial_fit' if warm else 'fit'}"
        self._check_settings(where)
        first = not (warm and self.__sklearn_is_fitted__())
        X, y, fitted = self._validate_xy(X, y, first, classes, where)
        init_seed, loader_seed = self._seeds(0 if first else len(self.history_))
        with _seeded(init_seed):
            if first:
                module = self._build_module(X.shape[1], fitted.pop("n_out"), where)
                be = self._backend_of(module)
                criterion = self._build_criterion(be, where)
                opt = self._call(where, "optimizer__", self.optimizer,
                                 (module.parameters(),),
                                 {"lr": self.lr, **self._prefixed("optimizer__")})
            else:
                module, criterion, opt = self.module_, self.criterion_, self.optimizer_
                be = self._backend_of(module)
            loader = DataLoader(X.astype(np.float32, copy=False), y, batch_size=self.batch_size,
                                shuffle=True, backend=be.name, device=be.device,
                                seed=loader_seed)
            callbacks = copy.deepcopy(list(self.callbacks or ()))
            run = fit(module, loader, loss=criterion, optimizer=opt, epochs=epochs,
                      metrics=self._metrics, callbacks=callbacks,
                      progress={0: False, 1: "lines"}.get(self.verbose, True))
        module.zero_grad()  # the last step's gradients: not needed, and not worth pickling
        if not first:  # partial_fit: one History across the calls
            history = self.history_
            for logs in zip(*run.history.values()):
                history.append(len(history), dict(zip(run.history, logs)))
            run = history
        fitted.update(module_=module, criterion_=criterion, optimizer_=opt, history_=run,
                      callbacks_=callbacks)
        for key, value in fitted.items():  # only now: a failed fit leaves the old state
            setattr(self, key, value)
        return self

    def fit(self, X, y):
        """Build the module afresh and train it for ``max_epochs`` epochs.

        Args:
            X: array-like (n_samples, n_features), or (n_samples, ...) for a module that
                takes images or sequences; cast to float32.
            y: targets, (n_samples,) or, for the regressor, (n_samples, n_outputs).
        Returns:
            self
        """
        return self._fit(X, y, self.max_epochs, warm=False)

    def _outputs(self, X):
        """The module's outputs for X, on the host, in X's floating dtype."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=FLOATS, allow_nd=True)
        X32, n, rows = X.astype(np.float32, copy=False), len(X), self.batch_size
        # Every forward pass gets exactly batch_size rows (the last batch zero-padded): BLAS
        # picks its kernel, so its float32 summation order, by shape, and a sample's output
        # would otherwise change by an ulp with the number of samples predicted alongside it.
        if n % rows:
            X32 = np.concatenate([X32, np.zeros((rows - n % rows,) + X32.shape[1:], X32.dtype)])
        return predict(self.module_, X32, batch_size=rows)[:n].astype(X.dtype, copy=False)
