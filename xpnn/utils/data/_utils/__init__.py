"""torch.utils.data._utils's module path (``from torch.utils.data._utils.collate import
default_collate``, as older programs import it)."""
from . import collate  # noqa: F401
