"""torch.utils.data._utils.collate: xpnn's collate functions (xpnn/utils/data/collate.py)."""
from ..collate import default_collate, default_convert  # noqa: F401

__all__ = ["default_collate", "default_convert"]
