"""``torch.return_types``: the named tuples ``max(dim=…)`` and friends return."""
from .ops.reduction import return_type

max = return_type("max")  # noqa: A001
min = return_type("min")  # noqa: A001
sort = return_type("sort")
topk = return_type("topk")
frexp = return_type("frexp", ("mantissa", "exponent"))
