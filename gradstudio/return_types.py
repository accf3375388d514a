"""``torch.return_types``: the named tuples ``max(dim=…)`` and friends return."""
from .ops.reduction import return_type

max = return_type("max")  # noqa: A001
min = return_type("min")  # noqa: A001
sort = return_type("sort")
topk = return_type("topk")
median = return_type("median")
nanmedian = return_type("nanmedian")
mode = return_type("mode")
kthvalue = return_type("kthvalue")
cummax = return_type("cummax")
cummin = return_type("cummin")
aminmax = return_type("aminmax", ("min", "max"))
frexp = return_type("frexp", ("mantissa", "exponent"))
