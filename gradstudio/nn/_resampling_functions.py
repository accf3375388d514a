"""``torch.nn.functional``'s resampling functions (:mod:`gradstudio.nn.functional`
re-exports them): ``interpolate`` (nearest, linear, bilinear), ``pixel_shuffle`` /
``pixel_unshuffle``, ``unfold`` / ``fold``, and ``pad``'s ``reflect`` and ``replicate``
modes — torch's argument handling and errors, then the row torch records
(:mod:`gradstudio.ops.resampling`)."""
from __future__ import annotations

import math
import warnings

from ..ops import resampling as _rows
from ..ops.table import apply as _apply

_MODES = {("nearest", 1): _rows.UPSAMPLE_NEAREST1D, ("nearest", 2): _rows.UPSAMPLE_NEAREST2D,
          ("linear", 1): _rows.UPSAMPLE_LINEAR1D, ("bilinear", 2): _rows.UPSAMPLE_BILINEAR2D}
_NEEDS = {"linear": "3D", "bilinear": "4D", "trilinear": "5D"}


def _per_dim(value, input, name, noun, shape="", symbol="o"):
    dims = input.dim() - 2
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise ValueError(f"Input and {noun} must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {list(input.shape[2:])} and {name} of "
                             f"{shape}{value}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                             f"and {name} in ({symbol}1, {symbol}2, ...,{symbol}K) format.")
        return tuple(value)
    return (value,) * dims


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims: one Upsample…Backward0 node, as torch records it."""
    dims = input.dim() - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = (None,) * dims
    if size is not None:
        output_size = tuple(int(s) for s in _per_dim(size, input, "output size", "output"))
    else:
        scales = tuple(float(s) for s in _per_dim(scale_factor, input, "scale_factor", "scale_factor", "shape ", "s"))
        output_size = tuple(math.floor(float(n) * s) for n, s in zip(input.shape[2:], scales))
        if recompute_scale_factor:
            scales = (None,) * dims
    row = _MODES.get((mode, dims))
    if row is None:
        if mode in _NEEDS and dims + 2 != int(_NEEDS[mode][0]):
            raise NotImplementedError(f"Got {dims + 2}D input, but {mode} mode needs {_NEEDS[mode]} input")
        raise NotImplementedError(f"GradStudio's interpolate supports nearest (1-d, 2-d), linear and bilinear, "
                                  f"not {mode!r} on {dims + 2}D input")
    params = {"output_size": output_size, "scales": scales}
    if mode != "nearest":
        params["align_corners"] = bool(align_corners)
    return _apply(row, (input,), params)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input, upscale_factor: int):
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if upscale_factor <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {upscale_factor}")
    if input.shape[-3] % (upscale_factor * upscale_factor):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={input.shape[-3]} is not divisible by "
                           f"{upscale_factor * upscale_factor}")
    return _apply(_rows.PIXEL_SHUFFLE, (input,), {"upscale_factor": int(upscale_factor)})


def pixel_unshuffle(input, downscale_factor: int):
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if downscale_factor <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {downscale_factor}")
    for dim, name in ((-2, "height"), (-1, "width")):
        if input.shape[dim] % downscale_factor:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({dim})={input.shape[dim]} is not divisible by {downscale_factor}")
    return _apply(_rows.PIXEL_UNSHUFFLE, (input,), {"downscale_factor": int(downscale_factor)})


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _blocks(kernel_size, dilation, padding, stride):
    return {"kernel_size": _pair(kernel_size), "dilation": _pair(dilation),
            "padding": _pair(padding), "stride": _pair(stride)}


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks as columns: one Im2ColBackward0 node."""
    if input.dim() not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    return _apply(_rows.IM2COL, (input,), _blocks(kernel_size, dilation, padding, stride))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns summed back into an image: one Col2ImBackward0 node."""
    if input.dim() not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                                  f"supported (got {input.dim()}D)")
    return _apply(_rows.COL2IM, (input,), {"output_size": _pair(output_size),
                                           **_blocks(kernel_size, dilation, padding, stride)})


_PAD_ROWS = {("reflect", 1): _rows.REFLECTION_PAD1D, ("reflect", 2): _rows.REFLECTION_PAD2D,
             ("replicate", 1): _rows.REPLICATION_PAD1D, ("replicate", 2): _rows.REPLICATION_PAD2D}


def pad_by_copying(input, pad, mode: str):
    """``F.pad``'s ``reflect`` and ``replicate`` modes over the last one or two dims."""
    dims = len(pad) // 2
    if len(pad) % 2 or input.dim() not in (dims + 1, dims + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode == "reflect":
        for d in range(dims):
            size = input.shape[input.dim() - 1 - d]
            before, after = pad[2 * d], pad[2 * d + 1]
            if before >= size or after >= size:
                raise RuntimeError(f"Argument #{4 + 2 * d}: Padding size should be less than the corresponding "
                                   f"input dimension, but got: padding ({before}, {after}) at dimension "
                                   f"{input.dim() - 1 - d} of input {list(input.shape)}")
    row = _PAD_ROWS.get((mode, dims))
    if row is None:
        raise NotImplementedError(f"GradStudio's pad supports mode={mode!r} over 1 or 2 dims, not {dims}")
    return _apply(row, (input,), {"padding": tuple(int(p) for p in pad)})
