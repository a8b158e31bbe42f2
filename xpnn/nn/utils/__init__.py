"""xpnn.nn.utils: gradient clipping, parameter vectors, (in ``rnn``) padded and packed
sequences, (in ``parametrize`` and ``parametrizations``) reparametrized weights, the older
hook-based weight and spectral norms, (in ``prune``) pruning masks, and conv/linear + batch
norm fusion, under PyTorch's path (``torch.nn.utils``)."""
import inspect
import warnings

from ... import _memory_format
from ... import backend as B
from ..._errors import ShapeError
from ...functional import cat, reshape
from ...optim.clip import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                           get_total_norm)
from . import parametrizations, parametrize, prune, rnn, stateless  # noqa: F401
from .fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval,
                     fuse_linear_bn_weights)
from ..module import Module
from ...tensor import Tensor
from .norm_hooks import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-D Tensor (differentiable)."""
    return cat([reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive pieces of the 1-D ``vec`` into the parameters, in place (elements
    left over at the end are ignored, as in torch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    start = 0
    for p in parameters:
        n = p.numel()
        if start + n > vec.numel():
            raise ShapeError(f"vector_to_parameters: the vector has {vec.numel()} elements, "
                             f"the parameters need at least {start + n}")
        p._assign(reshape(vec[start:start + n], p.shape).array)
        start += n


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` whose parameter values are unspecified, without
    advancing the parameter-init random stream (PyTorch's ``skip_init``).

    PyTorch builds the module on its "meta" device and allocates empty storage. xpnn has no
    meta device: the constructor runs as usual and the init generator is put back where it
    was, so the weights of modules built afterwards are the ones they would be without this
    call (the construction time is not saved). Overwrite the values before use.

    Args:
        module_cls: a Module subclass taking a ``device`` argument (as PyTorch requires).
        args, kwargs: its constructor's arguments.
    Returns:
        The module.
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"skip_init: expected a Module class; got {module_cls!r}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError(f"skip_init: {module_cls.__name__} must support a 'device' arg to "
                           "skip initialization")
    rng = B.host_rng().bit_generator
    state = rng.state
    try:
        return module_cls(*args, **kwargs)
    finally:
        rng.state = state


def convert_conv2d_weight_memory_format(module, memory_format):
    """PyTorch's conversion of the Conv2d/ConvTranspose2d weights of ``module`` to
    ``memory_format``: a no-op in xpnn, whose arrays have no strides to choose (see
    ``xpnn._memory_format``); returns ``module``."""
    return _check_memory_format("convert_conv2d_weight_memory_format", module, memory_format)


def convert_conv3d_weight_memory_format(module, memory_format):
    """As :func:`convert_conv2d_weight_memory_format`, for Conv3d/ConvTranspose3d."""
    return _check_memory_format("convert_conv3d_weight_memory_format", module, memory_format)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
    """Deprecated spelling of :func:`clip_grad_norm_` (warns, as PyTorch's)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def _check_memory_format(fn, module, memory_format):
    if not isinstance(memory_format, _memory_format.memory_format):
        raise TypeError(f"{fn}: memory_format must be an xpnn memory format (e.g. "
                        f"xpnn.channels_last), got {type(memory_format).__name__}")
    return module


__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format",
           "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights", "get_total_norm", "parameters_to_vector",
           "remove_spectral_norm", "remove_weight_norm", "skip_init", "spectral_norm",
           "vector_to_parameters", "weight_norm"]
