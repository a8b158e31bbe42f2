"""Whole-op native convolutions for conv.py's ``CONV`` table: PyTorch's own kernels
(oneDNN / cuDNN) and cuDNN through CuPy. Split from conv.py."""
from __future__ import annotations

from .. import backend as B
from .im2col import out_size


class TorchConv:
    """PyTorch's own convolution kernels (oneDNN on CPU, cuDNN on CUDA) for the whole op.

    Geometry comes as 2-tuples; padding is symmetric except for padding="same" with an even
    kernel, which is padded explicitly first.
    """

    @staticmethod
    def _pad(be, X, pads):
        (pt, pb), (pl, pr) = pads
        if pt == pb and pl == pr:
            return X, [pt, pl], None
        return be.lib.nn.functional.pad(X, (pl, pr, pt, pb)), [0, 0], (pt, pl)

    @staticmethod
    def forward(be, X, W, b, *, kernel, stride, pads, dilation, groups, output_padding,
                transposed):
        X, padding, _ = TorchConv._pad(be, X, pads)
        return be.lib.ops.aten.convolution(X, W, b, list(stride), padding, list(dilation),
                                           transposed, list(output_padding), groups)

    @staticmethod
    def backward(be, dY, X, W, mask, *, kernel, stride, pads, dilation, groups,
                 output_padding, transposed):
        H, Wd = X.shape[2:]
        X, padding, crop = TorchConv._pad(be, X, pads)
        dX, dW, db = be.lib.ops.aten.convolution_backward(
            dY, X, W, [dY.shape[1]] if mask[2] else None, list(stride), padding,
            list(dilation), transposed, list(output_padding), groups, list(mask))
        if crop is not None and dX is not None:
            dX = dX[:, :, crop[0]:crop[0] + H, crop[1]:crop[1] + Wd]
        return (dX if mask[0] else None, dW if mask[1] else None, db if mask[2] else None)


class CupyConv:
    """cuDNN's convolution kernels through CuPy's ``cupyx.cudnn`` for the whole op (CuPy 13
    and older: CuPy 14 removed its cuDNN bindings; where they are missing, or cuDNN cannot
    load, the convolution takes the portable path with CuPy's im2col/col2im kernels).

    The transposed convolution is cuDNN's backward-data of the conv it is the adjoint of;
    its gradients are that conv's forward (dX) and backward-filter with the roles of input
    and output swapped (dW). Padding is symmetric except for padding="same" with an even
    kernel, which is padded explicitly first, as in :class:`TorchConv`.
    """

    _module = None  # cupyx.cudnn once loaded; False when it is not there

    @classmethod
    def _cudnn(cls):
        if cls._module is None:
            try:
                mod = B.optional_module("cupyx.cudnn")
                cls._module = False if mod is None else mod
                if mod is not None:
                    mod.get_handle()  # loads libcudnn: fails here, not mid-training
            except Exception:  # noqa: BLE001 (a missing libcudnn raises various errors)
                cls._module = False
        return cls._module or None

    @staticmethod
    def _pad(be, X, pads):
        (pt, pb), (pl, pr) = pads
        if pt == pb and pl == pr:
            return X, [pt, pl], None
        with X.device:
            return be.lib.pad(X, ((0, 0), (0, 0), (pt, pb), (pl, pr))), [0, 0], (pt, pl)

    @classmethod
    def usable(cls, be, geo, transposed):
        # cuDNN needs the transposed conv's output to map back onto its input exactly
        if transposed and any(o >= s for o, s in zip(geo["output_padding"], geo["stride"])):
            return False
        return cls._cudnn() is not None

    @staticmethod
    def forward(be, X, W, b, *, kernel, stride, pads, dilation, groups, output_padding,
                transposed):
        cudnn, cp = CupyConv._cudnn(), be.lib
        X, padding, _ = CupyConv._pad(be, X, pads)
        args = (tuple(padding), tuple(stride), tuple(dilation), groups)
        N, _, H, Wd = X.shape
        with X.device:
            if not transposed:
                Ho, Wo = (out_size(n, k, s, (p, p), d) for n, k, s, p, d in zip(
                    (H, Wd), kernel, stride, padding, dilation))
                Y = cp.empty((N, W.shape[0], Ho, Wo), dtype=X.dtype)
                cudnn.convolution_forward(X, W, b, Y, *args, auto_tune=False,
                                          tensor_core="auto")
                return Y
            Ho, Wo = ((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, k, s, p, d, o in zip(
                (H, Wd), kernel, stride, padding, dilation, output_padding))
            Y = cp.empty((N, W.shape[1] * groups, Ho, Wo), dtype=X.dtype)
            cudnn.convolution_backward_data(W, X, b, Y, *args, deterministic=False,
                                            auto_tune=False, tensor_core="auto")
            return Y

    @staticmethod
    def backward(be, dY, X, W, mask, *, kernel, stride, pads, dilation, groups,
                 output_padding, transposed):
        cudnn, cp = CupyConv._cudnn(), be.lib
        H, Wd = X.shape[2:]
        X, padding, crop = CupyConv._pad(be, X, pads)
        args = (tuple(padding), tuple(stride), tuple(dilation), groups)
        flags = dict(deterministic=False, auto_tune=False, tensor_core="auto")
        dX = dW = db = None
        with X.device:
            if mask[0]:
                dX = cp.empty(X.shape, dtype=X.dtype)
                if transposed:  # the adjoint's adjoint: a plain conv of dY
                    cudnn.convolution_forward(dY, W, None, dX, *args, auto_tune=False,
                                              tensor_core="auto")
                else:
                    cudnn.convolution_backward_data(W, dY, None, dX, *args, **flags)
                if crop is not None:
                    dX = dX[:, :, crop[0]:crop[0] + H, crop[1]:crop[1] + Wd]
            if mask[1]:
                dW = cp.empty(W.shape, dtype=W.dtype)
                src, grad = (dY, X) if transposed else (X, dY)
                cudnn.convolution_backward_filter(src, grad, dW, *args, **flags)
            if mask[2]:
                db = cp.sum(dY, axis=(0, 2, 3))
        return dX, dW, db
