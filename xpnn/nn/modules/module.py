"""torch.nn.modules.module: xpnn.nn's classes under PyTorch's module path, and the global
module hooks xpnn implements (module_global_hooks.py)."""
from ._reexport import reexport

__all__, __getattr__ = reexport(globals(), __name__, [
    "Module", "register_module_forward_pre_hook", "register_module_forward_hook",
    "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
    "register_module_buffer_registration_hook", "register_module_module_registration_hook",
    "register_module_parameter_registration_hook", "_IncompatibleKeys"],
    fallback=["xpnn.nn.module_global_hooks", "xpnn.nn.module_state"])
