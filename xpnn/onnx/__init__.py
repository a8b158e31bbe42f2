"""xpnn.onnx: export a model to ONNX by tracing its forward at the level of xpnn's ops.

``export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
opset_version=17)`` has PyTorch's signature. Each op (a ``Function``) the forward runs is
recorded and mapped by its class to native ONNX operators (Gemm, Conv, LSTM, ...), so any
``forward`` written with xpnn ops exports, not only ``Sequential``. See exporter.py for the
steps, trace.py for how dynamic sizes are found, ops_*.py for the mapping.

Needs the ``onnx`` extra (``pip install "xpnn[onnx]"``); importing this package does not.
"""
import enum

from .errors import ExportError, UnsupportedOperatorError


class TrainingMode(enum.IntEnum):
    """``torch.onnx.TrainingMode``: the mode a model is exported in (only EVAL, or PRESERVE
    of a model already in eval mode, export: training-mode ops are random or use the
    batch's statistics)."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def export(model, args=(), f=None, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17, *, kwargs=None, export_params=True, verbose=None,
           training=TrainingMode.EVAL, do_constant_folding=True,
           keep_initializers_as_inputs=False, dynamo=False, **options):
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
        opset_version: the ONNX opset, 17 to 21 (the IR version is pinned with it); None
            means 17.
        kwargs: keyword arguments for the forward (as a dict last in ``args``).
        export_params, do_constant_folding, verbose, dynamo: accepted for PyTorch's call
            (parameters are always stored as initializers, constants are always folded by
            the trace, and there is one exporter); ``export_params=False`` is refused.
        training: ``TrainingMode.EVAL`` (the default), or ``PRESERVE`` for a model already in
            eval mode; ``TRAINING`` is refused.
        keep_initializers_as_inputs: False only.
        **options: other ``torch.onnx.export`` options at their default values
            (``operator_export_type``, ``custom_opsets``, ``dynamic_shapes``, ...); any
            other value is refused, naming the option.
    Returns:
        the ``onnx.ModelProto``, checked with ``onnx.checker.check_model(full_check=True)``.
    Raises:
        UnsupportedOperatorError: an op has no ONNX conversion; the message names the op and
            the module path (and source line) where it was called.
        ExportError: the trace cannot be exported as it is (an input unused by the ops, a
            value computed outside the ops that depends on the inputs, control flow that
            depends on the inputs).
    """
    _check_options(model, export_params, training, keep_initializers_as_inputs, options)
    if kwargs:
        args = (args if isinstance(args, tuple) else (args,)) + (dict(kwargs),)
    try:
        from .exporter import export as _export
    except ImportError as exc:
        raise ImportError(f"xpnn.onnx.export needs the onnx package ({exc}); install it with "
                          "pip install 'xpnn[onnx]'") from exc
    return _export(model, args, f, input_names, output_names, dynamic_axes,
                   17 if opset_version is None else opset_version)


# torch.onnx.export options xpnn accepts only at these values (PyTorch's defaults)
_DEFAULTS = {"operator_export_type": (None, 0, "ONNX"), "custom_opsets": (None, {}),
             "export_modules_as_functions": (False,), "autograd_inlining": (True,),
             "dynamic_shapes": (None,), "external_data": (True, False), "report": (False,),
             "optimize": (True, False), "verify": (False,), "profile": (False,),
             "dump_exported_program": (False,), "artifacts_dir": (".",),
             "custom_translation_table": (None,)}


def _check_options(model, export_params, training, keep_initializers_as_inputs, options):
    """Refuse the torch.onnx.export options whose meaning xpnn's export does not carry."""
    for key, value in options.items():
        if key not in _DEFAULTS:
            raise TypeError(f"xpnn.onnx.export: unexpected keyword argument {key!r}")
        name = getattr(value, "name", None)  # an enum member (OperatorExportTypes.ONNX)
        if not any(value is d or (type(value) is type(d) and value == d)
                   or (name is not None and name == d) for d in _DEFAULTS[key]):
            raise NotImplementedError(f"xpnn.onnx.export: {key}={value!r} is not supported "
                                      f"(only {_DEFAULTS[key][0]!r})")
    if not export_params:
        raise NotImplementedError("xpnn.onnx.export: export_params=False is not supported; "
                                  "parameters are always stored as initializers")
    if keep_initializers_as_inputs:
        raise NotImplementedError("xpnn.onnx.export: keep_initializers_as_inputs=True is not "
                                  "supported")
    mode = getattr(training, "name", training)
    if mode not in ("EVAL", "PRESERVE", 0, 1):
        raise NotImplementedError(f"xpnn.onnx.export: training={training!r} is not supported: "
                                  "a model exports in eval mode (TrainingMode.EVAL)")
    if mode in ("PRESERVE", 1) and getattr(model, "training", False):
        raise NotImplementedError("xpnn.onnx.export: training=TrainingMode.PRESERVE of a model "
                                  "in training mode is not supported; call model.eval() or "
                                  "export with TrainingMode.EVAL")


def supported_ops():
    """The xpnn ops (``module.FunctionClass``) that export can convert."""
    from .exporter import supported_ops as _supported
    return _supported()


__all__ = ["export", "supported_ops", "ExportError", "UnsupportedOperatorError", "TrainingMode"]
