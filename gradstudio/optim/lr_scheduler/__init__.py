"""``torch.optim.lr_scheduler``: the base class (scheduler.py), the factor-of-the-epoch
schedules (decay.py), SGDR (warm_restarts.py), the cyclical ones that also cycle
momentum (cyclic.py), ReduceLROnPlateau (plateau.py) and the schedulers made of
schedulers (composite.py)."""
from .composite import ChainedScheduler, SequentialLR
from .cyclic import CyclicLR, OneCycleLR
from .decay import (ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR,
                    MultiStepLR, PolynomialLR, StepLR)
from .plateau import ReduceLROnPlateau
from .scheduler import EPOCH_DEPRECATION_WARNING, LRScheduler, _LRScheduler  # noqa: F401
from .warm_restarts import CosineAnnealingWarmRestarts

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler"]

# torch's classes all live in the one module torch.optim.lr_scheduler: print and pickle them from here
for _cls in (*(globals()[_name] for _name in __all__), _LRScheduler):
    _cls.__module__ = __name__
del _cls
