"""``torch.autograd.graph``: the Node type, for isinstance checks and hooks."""
from .node import AccumulateGrad, Node  # noqa: F401
