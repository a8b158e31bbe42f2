"""DataLoader: mini-batches of Tensors on a chosen backend, shuffled reproducibly."""
from __future__ import annotations

import numpy as np

from .. import backend as B
from ..tensor import Tensor


def _host(name, a):
    """A NumPy view of an array-like, with float64 narrowed to float32 (no silent float64)."""
    if isinstance(a, Tensor):
        a = a.array
    a = B.to_numpy(a) if B.is_array(a) else np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"DataLoader: {name} must have a sample axis, got a 0-d array")
    if a.dtype == np.float64:
        return a.astype(np.float32)
    if a.dtype.kind in "iub" and name == "y":
        return a.astype(np.int64)  # class labels: int64 on every backend
    if a.dtype.kind not in "fiub":
        raise TypeError(f"DataLoader: {name} must be numeric, got dtype {a.dtype}")
    return a


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` Tensors (or ``X_batch`` alone when ``y`` is None).

    With ``on_device=True`` (the default) the whole dataset is copied to the backend once,
    and each batch is gathered there with ``xp.take``: a GPU epoch moves no data to or from
    the host. Shuffling draws a fresh permutation every epoch, either from the loader's own
    ``np.random.default_rng(seed)`` (``seed`` given: reproducible whatever else runs) or from
    the backend's generator, which ``xpnn.manual_seed`` seeds (``seed=None``).

    Args:
        X: features, array-like of shape (n, ...) (NumPy, any backend array, or a Tensor);
            float64 becomes float32.
        y: targets of shape (n, ...) or None; integer labels become int64.
        batch_size: samples per batch (>= 1).
        shuffle: reshuffle at the start of every epoch.
        drop_last: skip the last batch if it is smaller than ``batch_size``.
        backend: backend name (default: the default backend).
        device: device on that backend.
        seed: seed of the loader's own shuffling generator (None: the backend's generator).
        on_device: hold the dataset on the backend (True) or on the host, copying one batch
            at a time (False: for datasets larger than device memory).
    Yields:
        ``(X_batch, y_batch)``: Tensors of shapes (b, ...) with b = batch_size except maybe
        the last.
    """

    def __init__(self, X, y=None, batch_size=32, shuffle=False, drop_last=False, backend=None,
                 device=None, seed=None, on_device=True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        Xh = _host("X", X)
        yh = None if y is None else _host("y", y)
        if yh is not None and len(yh) != len(Xh):
            raise ValueError(f"DataLoader: X has {len(Xh)} samples (shape {Xh.shape}) but y "
                             f"has {len(yh)} (shape {yh.shape}); they must match")
        if len(Xh) == 0:
            raise ValueError("DataLoader: the dataset is empty (X has 0 samples)")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), bool(shuffle), \
            bool(drop_last)
        self.be = B.get_backend(backend, device)
        self.on_device = bool(on_device)
        self.n = len(Xh)
        if self.on_device:
            self.X = self.be.asarray(Xh)
            self.y = None if yh is None else self.be.asarray(yh)
        else:
            self.X, self.y = Xh, yh
        if seed is None and not self.on_device:
            # host-side shuffling with no seed: derive one from xpnn's seeded host generator
            seed = int(B.host_rng().integers(2**63 - 1))
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    @property
    def backend(self):
        return self.be.name

    @property
    def device(self):
        return self.be.device

    def __len__(self):
        """Number of batches per epoch."""
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    @property
    def num_samples(self):
        """Samples per epoch (fewer than the dataset when ``drop_last`` drops a batch)."""
        return self.n - (self.n % self.batch_size if self.drop_last else 0)

    def _order(self):
        """This epoch's permutation, on the device (on_device) or on the host."""
        if self._rng is not None:
            perm = self._rng.permutation(self.n)
            return self.be.asarray(perm) if self.on_device else perm
        return self.be.permutation(self.n)  # on_device here: the seed=None host case is above

    def __iter__(self):
        perm = self._order() if self.shuffle else None
        xp, be, bs = self.be.xp, self.be, self.batch_size
        stop = self.n if not self.drop_last else self.n - self.n % bs
        for i in range(0, stop, bs):
            j = min(i + bs, stop)
            if self.on_device:
                if perm is None:
                    xb = self.X[i:j, ...]
                    yb = None if self.y is None else self.y[i:j, ...]
                else:
                    idx = perm[i:j]
                    xb = xp.take(self.X, idx, axis=0)
                    yb = None if self.y is None else xp.take(self.y, idx, axis=0)
            else:
                sel = slice(i, j) if perm is None else perm[i:j]
                xb = be.asarray(self.X[sel])
                yb = None if self.y is None else be.asarray(self.y[sel])
            xt = Tensor(xb, _be=be)
            yield xt if yb is None else (xt, Tensor(yb, _be=be))

    def __repr__(self):
        return (f"DataLoader(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, backend={self.be.name!r}, "
                f"device={self.be.device!r}, batches={len(self)})")

