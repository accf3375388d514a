"""BatchNorm1d/2d/3d: each channel normalised over the batch and the spatial axes,
with torch's running statistics (momentum, or a cumulative average for
``momentum=None``, and ``num_batches_tracked``), buffers and printouts.
``_NormBase`` is also the base of the instance norms."""
from __future__ import annotations

from ... import dtypes as _dt
from ...ops.creation import ones, tensor, zeros
from .. import functional as F
from .module import Module
from .normalization import _affine_parameters


class _NormBase(Module):
    """The parameters and running-statistics buffers of a per-channel normalisation."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, bias: bool = True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = dtype or _dt.get_default_dtype()
        _affine_parameters(self, (num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _fill_missing_state(self, prefix: str, state_dict: dict) -> None:
        """torch loads checkpoints saved before ``num_batches_tracked`` existed: a missing
        counter is not an error, it keeps the module's own."""
        key = prefix + "num_batches_tracked"
        if self.num_batches_tracked is not None and key not in state_dict:
            state_dict[key] = self.num_batches_tracked

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    ranks: tuple = ()        # the input ranks a subclass accepts

    def forward(self, input):
        if input.dim() not in self.ranks:
            expected = " or ".join(f"{r}D" for r in self.ranks)
            raise ValueError(f"expected {expected} input (got {input.dim()}D input)")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        return F.batch_norm(input,
                            self.running_mean if not self.training or self.track_running_stats else None,
                            self.running_var if not self.training or self.track_running_stats else None,
                            self.weight, self.bias, use_batch, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """(N, C) or (N, C, L) input."""
    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """(N, C, H, W) input."""
    ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """(N, C, D, H, W) input."""
    ranks = (5,)
