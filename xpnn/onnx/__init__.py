"""xpnn.onnx: export a model to ONNX by tracing its forward at the level of xpnn's ops.

``export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
opset_version=17)`` has PyTorch's signature. Each op (a ``Function``) the forward runs is
recorded and mapped by its class to native ONNX operators (Gemm, Conv, LSTM, ...), so any
``forward`` written with xpnn ops exports, not only ``Sequential``. See exporter.py for the
steps, trace.py for how dynamic sizes are found, ops_core.py and ops_nn.py for the mapping.

Needs the ``onnx`` extra (``pip install "xpnn[onnx]"``); importing this package does not.
"""
from .errors import ExportError, UnsupportedOperatorError


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17):
    """Trace ``model(*args)`` once and write it as an ONNX model.

    Args:
        model: an ``nn.Module`` (exported in eval mode; its mode is restored after) or any
            callable on Tensors.
        args: the example input: a Tensor, or a tuple of them (other items are passed as
            they are); a dict as the last item is passed as keyword arguments.
        f: a file path or a binary file object to write to (the path is written atomically),
            or None to only return the model.
        input_names, output_names: names of the graph's inputs (the Tensor arguments, in
            order) and outputs (the Tensors the forward returns, flattened).
        dynamic_axes: {input or output name: {axis: symbol} or [axes]}: sizes left free in
            the graph (typically the batch axis); inputs sharing a symbol share the size.
        opset_version: the ONNX opset, 17 to 21 (the IR version is pinned with it).
    Returns:
        the ``onnx.ModelProto``, checked with ``onnx.checker.check_model(full_check=True)``.
    Raises:
        UnsupportedOperatorError: an op has no ONNX conversion; the message names the op and
            the module path (and source line) where it was called.
        ExportError: the trace cannot be exported as it is (an input unused by the ops, a
            value computed outside the ops that depends on the inputs, control flow that
            depends on the inputs).
    """
    try:
        from .exporter import export as _export
    except ImportError as exc:
        raise ImportError(f"xpnn.onnx.export needs the onnx package ({exc}); install it with "
                          "pip install 'xpnn[onnx]'") from exc
    return _export(model, args, f, input_names, output_names, dynamic_axes, opset_version)


def supported_ops():
    """The xpnn ops (``module.FunctionClass``) that export can convert."""
    from .exporter import supported_ops as _supported
    return _supported()


__all__ = ["export", "supported_ops", "ExportError", "UnsupportedOperatorError"]
