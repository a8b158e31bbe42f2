"""``torch.export`` for xpnn: ``export(model, args)`` captures a forward as an
:class:`ExportedProgram` (an op graph of xpnn's Function classes plus the weights), which
``.module()`` replays on new inputs, and ``save``/``load`` write and read without pickling.

Modules: _trace.py (recording a forward), _graph.py (merging traces into ops; replay),
dims.py (Dim, dynamic_shapes), _export.py (``export``), program.py (ExportedProgram,
signature, printing), storage.py (save/load).
"""
from ._export import export
from ._trace import ExportError
from .dims import ConstraintViolationError, Dim
from .program import (ExportedProgram, ExportGraphSignature, GraphModule, InputKind,
                      InputSpec, OutputKind, OutputSpec)
from .storage import load, save

__all__ = ["ConstraintViolationError", "Dim", "ExportError", "ExportGraphSignature",
           "ExportedProgram", "GraphModule", "InputKind", "InputSpec", "OutputKind",
           "OutputSpec", "export", "load", "save"]
