"""The op-table rows that move values around the spatial dimensions without learning
anything: upsampling (``UpsampleNearest1D/2DBackward0``, ``UpsampleLinear1DBackward0``,
``UpsampleBilinear2DBackward0``), reflection and replication padding
(``ReflectionPad1D/2DBackward0``, ``ReplicationPad1D/2DBackward0``), pixel shuffling
(``PixelShuffleBackward0`` / ``PixelUnshuffleBackward0``) and sliding blocks
(``Im2ColBackward0`` of ``F.unfold``, ``Col2ImBackward0`` of ``F.fold``).

Every one of them is linear, so its gradient is its adjoint, and the adjoint's
gradient is the op again: double backward works to any order.

* Upsampling and padding are *separable*: along each of the last one or two
  dimensions, output ``o`` is a fixed combination of inputs (``M[o, i]``), so the op
  is ``x @ Bᵀ`` (1-d) or ``A @ x @ Bᵀ`` (2-d) and its gradient ``g @ B`` or
  ``Aᵀ @ g @ B`` — a row of its own (torch's ``…BackwardBackward0`` nodes), whose
  gradient is the forward row again. The matrices follow ATen's CPU kernels
  (UpSample.h): ``nearest`` takes ``⌊o·scale⌋`` with ``scale = 1/scale_factor`` (or
  ``in/out``) in float; ``linear`` the two neighbours of ``src = scale·(o+½)−½``
  (``scale·o`` with ``align_corners``), clamped at 0, in the input's precision.
  The sums run in matmul's order, so values match torch's to rounding, not bit for bit.
* Pixel (un)shuffle is a reshape–permute–reshape; each is the other's gradient.
* ``im2col`` gathers each block's elements (zero where it reaches into the padding)
  and ``col2im`` scatter-adds them back, in ATen's order; each is the other's gradient.

matmul, fancy indexing and ``np.add.at`` run on object arrays too, so every symbolic
forward is the numpy forward on sympy elements.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Computed, Input, Sizes
from . import samples
from .table import Op, Param, SAVES_INPUTS, apply


def _typed(matrix, like):
    return matrix.astype(object) if like.dtype == object else matrix.astype(like.dtype)


def _precision(dtype):
    """The type ATen's kernel computes source indices in (``opmath_t``: float for float and
    half, double for double; sympy elements get double)."""
    return np.float32 if np.dtype(dtype) in (np.float32, np.float16) else np.float64


# ----------------------------------------------------------------- 1-d matrices
def _scale(size_in, size_out, scale, dtype):
    """ATen's compute_scales_value: ``1/scale_factor`` when one was given, else in/out."""
    t = _precision(dtype)
    return t(1.0) / t(scale) if scale is not None and scale > 0 else t(size_in) / t(size_out)


def nearest_matrix(size_in, size_out, scale, dtype):
    m = np.zeros((size_out, size_in))
    for o in range(size_out):
        if size_out == size_in:
            i = o
        elif size_out == 2 * size_in:
            i = o >> 1
        else:   # float arithmetic, as ATen's nearest_neighbor_compute_source_index
            i = min(int(math.floor(np.float32(o) * np.float32(_scale(size_in, size_out, scale, np.float32)))),
                    size_in - 1)
        m[o, i] = 1.0
    return m


def linear_matrix(size_in, size_out, scale, dtype, align_corners):
    t = _precision(dtype)
    if align_corners:
        ratio = t(size_in - 1) / t(size_out - 1) if size_out > 1 else t(0)
    else:
        ratio = _scale(size_in, size_out, scale, dtype)
    m = np.zeros((size_out, size_in))
    for o in range(size_out):
        src = ratio * t(o) if align_corners else max(ratio * (t(o) + t(0.5)) - t(0.5), t(0))
        i = min(int(math.floor(src)), size_in - 1)
        frac = min(max(src - t(i), t(0)), t(1))
        step = 1 if i < size_in - 1 else 0
        m[o, i] += float(t(1) - frac)
        m[o, i + step] += float(frac)
    return m


def reflect_matrix(size_in, before, after):
    m = np.zeros((size_in + before + after, size_in))
    for o in range(m.shape[0]):
        i = abs(o - before)
        m[o, i if i < size_in else 2 * (size_in - 1) - i] = 1.0
    return m


def replicate_matrix(size_in, before, after):
    m = np.zeros((size_in + before + after, size_in))
    for o in range(m.shape[0]):
        m[o, min(max(o - before, 0), size_in - 1)] = 1.0
    return m


# ------------------------------------------------------------ separable rows
def _apply_separable(x, matrices, adjoint=False):
    """``x @ Bᵀ`` or ``A @ x @ Bᵀ`` (``g @ B``, ``Aᵀ @ g @ B`` for the adjoint)."""
    if adjoint:
        matrices = [m.T for m in matrices]
    *rest, b = matrices
    out = x @ _typed(b.T, x)
    if rest:
        out = _typed(rest[0], x) @ out
    return out


def _separable_rows(stem, name, matrices, params, saved, sample, torch, label, doc, category="shape"):
    """The row ``x ↦ M(x)`` and its gradient's row ``g ↦ Mᵀ(g)`` (which also gets the
    input's sizes, ``input_size``), each the other's VJP. ``matrices(sizes, dtype, **p)``
    gives the per-dimension matrices for the input's last sizes."""
    k = len(params[0].default) if params[0].name == "output_size" else None

    def forward(x, **p):
        return _apply_separable(x, matrices(x.shape[-_dims(p):], x.dtype, **p))

    def _dims(p):
        return k if k is not None else len(p["padding"]) // 2

    def adjoint(g, *, input_size, **p):
        return _apply_separable(g, matrices(tuple(input_size), g.dtype, **p), adjoint=True)

    BACKWARD = Op(
        id=f"resampling.{stem}_BACKWARD",
        name=f"{name}BackwardBackward0",
        saved={p.name: Arg(p.name) for p in params},
        overload=f"the gradient of {label}: each output's gradient sent back to the inputs it came from",
        forward=adjoint,
        vjp=(lambda gg, _, g, *, input_size, **p: apply(FORWARD, (gg,), p),),
        sympy=adjoint,
        kind="array",
        label=f"{label}′",
        doc=f"gradient of {label}",
        category=category,
        params=params + (Param("input_size", "int[]", None, "the input's last sizes"),),
        sample=lambda rng: _backward_sample(sample, forward, rng, _dims),
        internal=True,
    )
    FORWARD = Op(
        id=f"resampling.{stem}",
        name=f"{name}Backward0",
        saved=saved,
        forward=forward,
        vjp=(lambda g, r, x, **p: apply(BACKWARD, (g,), {**p, "input_size": tuple(x.shape[-_dims(p):])}),),
        saves=SAVES_INPUTS if "self" in saved else 0,
        sympy=forward,
        kind="array",
        label=label,
        doc=doc,
        category=category,
        params=params,
        sample=sample,
        torch=torch,
    )
    return FORWARD, BACKWARD


def _backward_sample(sample, forward, rng, dims):
    (x,), p = sample(rng)
    out = forward(x, **p)
    return [samples.uniform(rng, out.shape)], {**p, "input_size": tuple(x.shape[-dims(p):])}


def _upsample_matrices(kind):
    def matrices(sizes, dtype, *, output_size, scales, align_corners=None):
        if kind == "nearest":
            return [nearest_matrix(n, m, s, dtype) for n, m, s in zip(sizes, output_size, scales)]
        return [linear_matrix(n, m, s, dtype, align_corners) for n, m, s in zip(sizes, output_size, scales)]
    return matrices


def _pad_matrices(matrix):
    def matrices(sizes, dtype, *, padding):
        pairs = [padding[2 * d: 2 * d + 2] for d in range(len(padding) // 2)][::-1]  # last dim first in pad
        return [matrix(n, before, after) for n, (before, after) in zip(sizes, pairs)]
    return matrices


def _upsample_params(dims, interpolating):
    params = (Param("output_size", "int[]", (5,) * dims, "the output's last sizes"),
              Param("scales", "float?[]", (None,) * dims, "scale factors given (ATen uses 1/scale)"))
    if interpolating:
        params += (Param("align_corners", "bool", False, "corner pixels' centres align"),)
    return params


def _upsample_saved(dims, interpolating):
    names = {"output_size": Arg("output_size")}
    if interpolating:
        names["align_corners"] = Arg("align_corners")
    if dims == 1:
        names["scales"] = Arg("scales", lambda s: s[0])
    else:
        names["scales_h"] = Arg("scales", lambda s: s[0])
        names["scales_w"] = Arg("scales", lambda s: s[1])
    names["self_sym_sizes"] = Sizes(0)
    return names


def _upsample_torch(mode, dims):
    def run(torch, x, output_size, scales, align_corners=None):
        scale = None if scales[0] is None else (scales if dims > 1 else scales[0])
        size = None if scale is not None else (tuple(output_size) if dims > 1 else output_size[0])
        return torch.nn.functional.interpolate(x, size=size, scale_factor=scale, mode=mode,
                                               align_corners=align_corners)
    return run


def _upsample_rows(stem, name, kind, dims, mode, sample, label, doc):
    interpolating = kind != "nearest"
    return _separable_rows(stem, name, _upsample_matrices(kind), _upsample_params(dims, interpolating),
                           _upsample_saved(dims, interpolating), sample, _upsample_torch(mode, dims),
                           label, doc, category="reduction")


UPSAMPLE_NEAREST1D, UPSAMPLE_NEAREST1D_BACKWARD = _upsample_rows(
    "UPSAMPLE_NEAREST1D", "UpsampleNearest1D", "nearest", 1, "nearest",
    lambda rng: ([samples.uniform(rng, (1, 2, 4))], {"output_size": (7,), "scales": (None,)}),
    "upsample nearest", "each output takes the nearest input to its left (⌊o·in/out⌋)")
UPSAMPLE_NEAREST2D, UPSAMPLE_NEAREST2D_BACKWARD = _upsample_rows(
    "UPSAMPLE_NEAREST2D", "UpsampleNearest2D", "nearest", 2, "nearest",
    lambda rng: ([samples.uniform(rng, (1, 2, 3, 2))], {"output_size": (6, 5), "scales": (2.0, 2.5)}),
    "upsample nearest 2d", "each output pixel copies the nearest input pixel")
UPSAMPLE_LINEAR1D, UPSAMPLE_LINEAR1D_BACKWARD = _upsample_rows(
    "UPSAMPLE_LINEAR1D", "UpsampleLinear1D", "linear", 1, "linear",
    lambda rng: ([samples.uniform(rng, (1, 2, 4))], {"output_size": (7,), "scales": (None,),
                                                      "align_corners": False}),
    "upsample linear", "each output interpolates its two nearest inputs")
UPSAMPLE_BILINEAR2D, UPSAMPLE_BILINEAR2D_BACKWARD = _upsample_rows(
    "UPSAMPLE_BILINEAR2D", "UpsampleBilinear2D", "linear", 2, "bilinear",
    lambda rng: ([samples.uniform(rng, (1, 2, 3, 2))], {"output_size": (4, 5), "scales": (None, None),
                                                         "align_corners": True}),
    "upsample bilinear", "each output pixel interpolates its four nearest input pixels")


def _pad_rows(stem, name, matrix, dims, mode, label, doc):
    pad = (2, 1, 1, 2)[: 2 * dims]
    shape = (1, 2, 4) if dims == 1 else (1, 2, 3, 4)
    return _separable_rows(
        stem, name, _pad_matrices(matrix), (Param("padding", "int[]", pad, "(before, after) from the last dim"),),
        {"padding": Arg("padding"), "self": Input(0)},
        lambda rng: ([samples.uniform(rng, shape)], {"padding": pad}),
        lambda torch, x, padding: torch.nn.functional.pad(x, padding, mode=mode), label, doc)


REFLECTION_PAD1D, REFLECTION_PAD1D_BACKWARD = _pad_rows(
    "REFLECTION_PAD1D", "ReflectionPad1D", reflect_matrix, 1, "reflect",
    "reflection pad", "pad with the input mirrored at its edges (edge not repeated)")
REFLECTION_PAD2D, REFLECTION_PAD2D_BACKWARD = _pad_rows(
    "REFLECTION_PAD2D", "ReflectionPad2D", reflect_matrix, 2, "reflect",
    "reflection pad 2d", "pad both spatial dims with the input mirrored at its edges")
REPLICATION_PAD1D, REPLICATION_PAD1D_BACKWARD = _pad_rows(
    "REPLICATION_PAD1D", "ReplicationPad1D", replicate_matrix, 1, "replicate",
    "replication pad", "pad with copies of the edge values")
REPLICATION_PAD2D, REPLICATION_PAD2D_BACKWARD = _pad_rows(
    "REPLICATION_PAD2D", "ReplicationPad2D", replicate_matrix, 2, "replicate",
    "replication pad 2d", "pad both spatial dims with copies of the edge values")


# ---------------------------------------------------------------- pixel shuffle
def _shuffle(x, *, upscale_factor):
    r = upscale_factor
    *batch, c, h, w = x.shape
    n = len(batch)
    out = x.reshape(*batch, c // (r * r), r, r, h, w)
    out = out.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return out.reshape(*batch, c // (r * r), h * r, w * r)


def _unshuffle(x, *, downscale_factor):
    r = downscale_factor
    *batch, c, h, w = x.shape
    n = len(batch)
    out = x.reshape(*batch, c, h // r, r, w // r, r)
    out = out.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return out.reshape(*batch, c * r * r, h // r, w // r)


PIXEL_SHUFFLE = Op(
    id="resampling.PIXEL_SHUFFLE",
    name="PixelShuffleBackward0",
    saved={"upscale_factor": Arg("upscale_factor")},
    forward=_shuffle,
    vjp=(lambda g, r, x, *, upscale_factor: apply(PIXEL_UNSHUFFLE, (g,), {"downscale_factor": upscale_factor}),),
    sympy=_shuffle,
    kind="shape",
    label="pixel shuffle",
    doc="(C·r², H, W) → (C, H·r, W·r): channel groups become r×r pixel blocks",
    category="shape",
    params=(Param("upscale_factor", "int", 2, "r"),),
    sample=lambda rng: ([samples.uniform(rng, (1, 8, 2, 3))], {"upscale_factor": 2}),
    torch=lambda torch, x, upscale_factor: torch.nn.functional.pixel_shuffle(x, upscale_factor),
)
PIXEL_UNSHUFFLE = Op(
    id="resampling.PIXEL_UNSHUFFLE",
    name="PixelUnshuffleBackward0",
    saved={"downscale_factor": Arg("downscale_factor")},
    forward=_unshuffle,
    vjp=(lambda g, r, x, *, downscale_factor: apply(PIXEL_SHUFFLE, (g,), {"upscale_factor": downscale_factor}),),
    sympy=_unshuffle,
    kind="shape",
    label="pixel unshuffle",
    doc="(C, H·r, W·r) → (C·r², H, W): r×r pixel blocks become channel groups",
    category="shape",
    params=(Param("downscale_factor", "int", 2, "r"),),
    sample=lambda rng: ([samples.uniform(rng, (1, 2, 4, 6))], {"downscale_factor": 2}),
    torch=lambda torch, x, downscale_factor: torch.nn.functional.pixel_unshuffle(x, downscale_factor),
)


# ------------------------------------------------------------------ im2col / col2im
def blocks(size, kernel_size, dilation, padding, stride):
    """``(index, L)``: ``index[k, l]`` is the flat position (in the unpadded ``H·W``) of
    kernel element ``k`` of block ``l``, or ``H·W`` where it falls into the padding."""
    (h, w), (kh, kw), (dh, dw), (ph, pw), (sh, sw) = size, kernel_size, dilation, padding, stride
    oh = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    ow = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    rows = (np.arange(kh)[:, None, None, None] * dh + np.arange(oh)[None, None, :, None] * sh - ph)
    cols = (np.arange(kw)[None, :, None, None] * dw + np.arange(ow)[None, None, None, :] * sw - pw)
    rows, cols = np.broadcast_arrays(rows, cols)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    index = np.where(inside, rows * w + cols, h * w)
    return index.reshape(kh * kw, oh * ow), oh * ow


def _padded_zero(x):
    return np.zeros(x.shape[:-1] + (1,), dtype=x.dtype) if x.dtype != object \
        else np.full(x.shape[:-1] + (1,), 0, dtype=object)


def _im2col(x, *, kernel_size, dilation, padding, stride):
    index, count = blocks(x.shape[-2:], kernel_size, dilation, padding, stride)
    *batch, c, h, w = x.shape
    flat = np.concatenate([x.reshape(*batch, c, h * w), _padded_zero(x.reshape(*batch, c, h * w))], axis=-1)
    return flat[..., index].reshape(*batch, c * index.shape[0], count)


def _col2im(g, *, output_size, kernel_size, dilation, padding, stride):
    h, w = output_size
    index, count = blocks((h, w), kernel_size, dilation, padding, stride)
    *batch, ck, _ = g.shape
    c = ck // index.shape[0]
    out = np.zeros((*batch, c, h * w + 1), dtype=g.dtype)
    if g.dtype == object:
        out[...] = 0
    np.add.at(out, (..., index.ravel()), g.reshape(*batch, c, index.size))
    return out[..., :-1].reshape(*batch, c, h, w)


_BLOCK_PARAMS = (Param("kernel_size", "int[]", (2, 2), "block size"),
                 Param("dilation", "int[]", (1, 1), "spacing between a block's elements"),
                 Param("padding", "int[]", (0, 0), "zeros on both sides"),
                 Param("stride", "int[]", (1, 1), "step between blocks"))
_BLOCK_SAVED = {"dilation": Arg("dilation"), "kernel_size": Arg("kernel_size"),
                "padding": Arg("padding"), "stride": Arg("stride")}

IM2COL = Op(
    id="resampling.IM2COL",
    name="Im2ColBackward0",
    saved={**_BLOCK_SAVED,
           "self_sym_argsize_minus_1": Computed(lambda shape, **p: shape[-1], tensor=False),
           "self_sym_argsize_minus_2": Computed(lambda shape, **p: shape[-2], tensor=False)},
    forward=_im2col,
    vjp=(lambda g, r, x, **p: apply(COL2IM, (g,), {"output_size": tuple(x.shape[-2:]), **p}),),
    sympy=_im2col,
    kind="array",
    label="unfold",
    doc="each sliding block of the last two dims as one column (im2col)",
    category="shape",
    params=_BLOCK_PARAMS,
    sample=lambda rng: ([samples.uniform(rng, (1, 2, 3, 4))],
                        {"kernel_size": (2, 2), "dilation": (1, 1), "padding": (1, 0), "stride": (1, 2)}),
    torch=lambda torch, x, **p: torch.nn.functional.unfold(x, **p),
)
COL2IM = Op(
    id="resampling.COL2IM",
    name="Col2ImBackward0",
    saved=_BLOCK_SAVED,
    forward=_col2im,
    vjp=(lambda g, r, x, *, output_size, **p: apply(IM2COL, (g,), p),),
    sympy=_col2im,
    kind="array",
    label="fold",
    doc="sum sliding-block columns back into an image (col2im)",
    category="shape",
    params=(Param("output_size", "int[]", (3, 4), "the image's size"),) + _BLOCK_PARAMS,
    sample=lambda rng: ([samples.uniform(rng, (1, 8, 3))],
                        {"output_size": (3, 4), "kernel_size": (2, 2), "dilation": (1, 1),
                         "padding": (0, 1), "stride": (2, 2)}),
    torch=lambda torch, x, **p: torch.nn.functional.fold(x, **p),
)
