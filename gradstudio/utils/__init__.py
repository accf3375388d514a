"""``torch.utils`` for GradStudio: only ``data``."""
from . import data  # noqa: F401
