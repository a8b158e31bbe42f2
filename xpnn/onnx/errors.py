"""The errors an export raises (PyTorch's names: ``torch.onnx.errors``)."""


class ExportError(RuntimeError):
    """The model cannot be exported as traced; the message names the op, the module path
    where it was called, and what to change."""


class UnsupportedOperatorError(ExportError):
    """An op has no ONNX conversion (or not with the arguments it was called with)."""
