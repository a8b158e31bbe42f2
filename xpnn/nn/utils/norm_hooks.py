"""The older, hook-based weight and spectral normalization (PyTorch's
``torch.nn.utils.weight_norm`` and ``torch.nn.utils.spectral_norm``): the parameters are
renamed (``weight_g``/``weight_v``; ``weight_orig`` with the buffers ``weight_u``/``weight_v``)
and a forward pre-hook recomputes the plain attribute ``weight`` before each call. Checkpoints
of vocoders and GANs use these names; new code can use ``nn.utils.parametrizations``.
"""
from __future__ import annotations

import warnings

from ... import functional as F
from ...autograd import no_grad
from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Parameter
from .parametrizations import _norm_except_dim, _weight_norm


class WeightNorm:
    """The forward pre-hook of :func:`weight_norm`: sets ``module.<name>`` from g and v."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module, name, dim):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"weight_norm: cannot register two weight_norm hooks on "
                                   f"the same parameter {name!r}")
        fn = WeightNorm(name, dim)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter named "
                             f"{name!r}")
        delattr(module, name)
        module.register_parameter(name + "_g",
                                  Parameter(_norm_except_dim(weight.detach(), 2, fn.dim)))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        delattr(module, self.name + "_g")
        delattr(module, self.name + "_v")
        setattr(module, self.name, Parameter(weight))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` with a forward pre-hook; the
    parameters ``<name>_g`` (size 1 but along ``dim``; 0-d for ``dim=None``) and
    ``<name>_v`` replace it. Deprecated in PyTorch (a FutureWarning, as there) in favour of
    :func:`xpnn.nn.utils.parametrizations.weight_norm`. Returns ``module``."""
    # PyTorch's words, so that a program sees the same warning on either
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                  stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Fold g and v back into one parameter ``<name>`` and drop the hook; returns ``module``."""
    return _remove_hook(module, WeightNorm, name, "weight_norm")


def _remove_hook(module, kind, name, fn_name):
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            module._hook_flags.pop(key, None)
            return module
    raise ValueError(f"{fn_name} of {name!r} not found in {type(module).__name__}")


class SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm`: sets ``module.<name>`` to
    ``<name>_orig / sigma``, first running the power iteration in training mode."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.name, self.dim = name, dim
        self.n_power_iterations, self.eps = n_power_iterations, eps

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        w = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            # in place (PyTorch's out=), then copies for this call's graph
            with no_grad():
                wd = w.detach()
                for _ in range(self.n_power_iterations):
                    v._assign(F.normalize(F.mv(wd.mT, u), dim=0, eps=self.eps).array)
                    u._assign(F.normalize(F.mv(wd, v), dim=0, eps=self.eps).array)
            u, v = u.clone(), v.clone()
        return weight / F.dot(u, F.mv(w, v))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"spectral_norm: cannot register two spectral_norm hooks "
                                   f"on the same parameter {name!r}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter named "
                             f"{name!r}")
        with no_grad():
            h, k = fn.reshape_weight_to_matrix(weight).shape
            u = F.normalize(weight.new_empty(h).normal_(), dim=0, eps=fn.eps)
            v = F.normalize(weight.new_empty(k).normal_(), dim=0, eps=fn.eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm (power iteration) with a forward
    pre-hook: the parameter ``<name>_orig`` and buffers ``<name>_u``, ``<name>_v`` replace
    it, and ``module.<name>`` is recomputed before every call (the vectors are updated in
    training mode only).

    Args:
        module: the Module. name: its parameter.
        n_power_iterations: power iteration steps per training-mode call.
        eps: the floor of the norms dividing u and v.
        dim: the axis taken as the matrix's rows (None: 1 for transposed convolutions,
            0 otherwise).
    Returns:
        ``module``.
    """
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d,
                                       ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Store the normalized weight as the parameter ``<name>`` again and drop the hook and
    buffers; returns ``module``."""
    return _remove_hook(module, SpectralNorm, name, "spectral_norm")


__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]
