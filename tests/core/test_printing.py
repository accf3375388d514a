"""Tests for gradstudio.printing: tensor repr must be byte-identical to PyTorch's."""

from __future__ import annotations

import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

try:
    from gradstudio import printing
except Exception:  # pragma: no cover - only if someone else's gradstudio/__init__ is broken
    _path = pathlib.Path(__file__).resolve().parents[2] / "gradstudio" / "printing.py"
    _spec = importlib.util.spec_from_file_location("_gradstudio_printing_standalone", _path)
    printing = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = printing
    _spec.loader.exec_module(printing)

format_tensor = printing.format_tensor
set_printoptions = printing.set_printoptions
get_printoptions = printing.get_printoptions
printoptions = printing.printoptions
DTYPE_NAMES = printing.DTYPE_NAMES

nan, inf = math.nan, math.inf

DEFAULT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


@pytest.fixture(autouse=True)
def _restore_printoptions():
    """Every test starts and ends with default print options, in both libraries."""
    set_printoptions(profile="default")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_printoptions(profile="default")
    try:
        yield
    finally:
        set_printoptions(profile="default")
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_printoptions(profile="default")


def f32(values):
    return np.array(values, dtype=np.float32)


def f64(values):
    return np.array(values, dtype=np.float64)


# ---------------------------------------------------------------------------
# example-based (no torch needed)
# ---------------------------------------------------------------------------

EXAMPLES = [
    (f32([2048.0, 204.8, 2.048]), {}, "tensor([2048.0000,  204.8000,    2.0480])"),
    (
        f32([436.4805, -1330.6852, 406.7566]),
        {"grad_fn_name": "MulBackward0"},
        "tensor([  436.4805, -1330.6852,   406.7566], grad_fn=<MulBackward0>)",
    ),
    (np.full((2, 2), 1.5, dtype=np.float32), {}, "tensor([[1.5000, 1.5000],\n        [1.5000, 1.5000]])"),
    (f32(-487.4481), {"grad_fn_name": "SumBackward0"}, "tensor(-487.4481, grad_fn=<SumBackward0>)"),
    (f32(5.0), {}, "tensor(5.)"),
    (f32([1e-5, 1e10]), {}, "tensor([1.0000e-05, 1.0000e+10])"),
    # int_mode, nan/inf, negative zero
    (f32([1.0, 2.0, 3.0]), {}, "tensor([1., 2., 3.])"),
    (f32([-0.0, 0.0]), {}, "tensor([-0., 0.])"),
    (f32(-0.0), {}, "tensor(-0.)"),
    (f32(nan), {}, "tensor(nan)"),
    (f32([[1e-8, 1.0], [nan, -inf]]), {}, "tensor([[1.0000e-08, 1.0000e+00],\n        [       nan,       -inf]])"),
    # dtypes and their suffixes
    (np.array([1, 2, 3]), {}, "tensor([1, 2, 3])"),
    (np.array([1, -2], dtype=np.int8), {}, "tensor([ 1, -2], dtype=torch.int8)"),
    (np.array([1, 2], dtype=np.int32), {}, "tensor([1, 2], dtype=torch.int32)"),
    (np.array([True, False]), {}, "tensor([ True, False])"),
    (np.array([True]), {}, "tensor([True])"),
    (f64([1.5, 2.0]), {}, "tensor([1.5000, 2.0000], dtype=torch.float64)"),
    (np.array([0.1, 0.2], dtype=np.float16), {}, "tensor([0.1000, 0.2000], dtype=torch.float16)"),
    (np.array(7, dtype=np.uint8), {}, "tensor(7, dtype=torch.uint8)"),
    # empty tensors
    (f32([]), {}, "tensor([])"),
    (np.zeros((0, 3), dtype=np.float32), {}, "tensor([], size=(0, 3))"),
    (np.zeros((0, 3), dtype=np.float64), {}, "tensor([], size=(0, 3), dtype=torch.float64)"),
    (np.array([], dtype=np.int64), {}, "tensor([], dtype=torch.int64)"),
    (np.zeros((2, 0, 4), dtype=bool), {}, "tensor([], size=(2, 0, 4), dtype=torch.bool)"),
    # autograd suffixes
    (f32([1.0, 2.0]), {"requires_grad": True}, "tensor([1., 2.], requires_grad=True)"),
    (f32([1.0]), {"requires_grad": True, "grad_fn_name": "AddBackward0"}, "tensor([1.], grad_fn=<AddBackward0>)"),
    # row wrapping at linewidth 80 and suffix placement
    (
        f64([1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, 12.0, 13.5, 15.0]),
        {"grad_fn_name": "MulBackward0"},
        "tensor([ 1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000, 12.0000,\n"
        "        13.5000, 15.0000], dtype=torch.float64, grad_fn=<MulBackward0>)",
    ),
    (
        np.arange(12.0).reshape(2, 6),
        {"requires_grad": True},
        "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.],\n"
        "        [ 6.,  7.,  8.,  9., 10., 11.]], dtype=torch.float64,\n"
        "       requires_grad=True)",
    ),
    (
        np.arange(30, dtype=np.int32),
        {},
        "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
        "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29], dtype=torch.int32)",
    ),
    # summarisation
    (np.arange(2000), {}, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    # nesting
    (
        np.arange(24.0, dtype=np.float32).reshape(2, 3, 4),
        {},
        "tensor([[[ 0.,  1.,  2.,  3.],\n"
        "         [ 4.,  5.,  6.,  7.],\n"
        "         [ 8.,  9., 10., 11.]],\n"
        "\n"
        "        [[12., 13., 14., 15.],\n"
        "         [16., 17., 18., 19.],\n"
        "         [20., 21., 22., 23.]]])",
    ),
]


@pytest.mark.parametrize(("array", "kwargs", "expected"), EXAMPLES)
def test_examples(array, kwargs, expected):
    assert format_tensor(array, **kwargs) == expected


def test_summarised_matrix():
    a = np.arange(1100 * 3, dtype=np.float32).reshape(1100, 3)
    assert format_tensor(a) == (
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00],\n"
        "        [3.0000e+00, 4.0000e+00, 5.0000e+00],\n"
        "        [6.0000e+00, 7.0000e+00, 8.0000e+00],\n"
        "        ...,\n"
        "        [3.2910e+03, 3.2920e+03, 3.2930e+03],\n"
        "        [3.2940e+03, 3.2950e+03, 3.2960e+03],\n"
        "        [3.2970e+03, 3.2980e+03, 3.2990e+03]])"
    )


def test_accepts_non_native_byte_order_and_views():
    a = np.array([1.5, 2.5], dtype=">f8")
    assert format_tensor(a) == "tensor([1.5000, 2.5000], dtype=torch.float64)"
    b = np.arange(6.0, dtype=np.float32).reshape(2, 3).T
    assert format_tensor(b) == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"


def test_unsupported_dtype_raises():
    with pytest.raises(TypeError):
        format_tensor(np.array(["a"]))


def test_dtype_names():
    assert DTYPE_NAMES[np.dtype(np.float32)] == "torch.float32"
    assert DTYPE_NAMES[np.dtype(np.float64)] == "torch.float64"
    assert DTYPE_NAMES[np.dtype(np.float16)] == "torch.float16"
    assert DTYPE_NAMES[np.dtype(np.int64)] == "torch.int64"
    assert DTYPE_NAMES[np.dtype(np.int32)] == "torch.int32"
    assert DTYPE_NAMES[np.dtype(np.int16)] == "torch.int16"
    assert DTYPE_NAMES[np.dtype(np.int8)] == "torch.int8"
    assert DTYPE_NAMES[np.dtype(np.uint8)] == "torch.uint8"
    assert DTYPE_NAMES[np.dtype(np.bool_)] == "torch.bool"
    assert printing.DEFAULT_DTYPE == np.float32


# ---------------------------------------------------------------------------
# print options (no torch needed)
# ---------------------------------------------------------------------------


def test_get_printoptions_default():
    assert get_printoptions() == DEFAULT_OPTIONS


def test_set_printoptions_and_profiles():
    set_printoptions(precision=2)
    assert format_tensor(f32([1.12345])) == "tensor([1.12])"
    set_printoptions(threshold=5)
    assert format_tensor(np.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="short")
    assert get_printoptions() == {**DEFAULT_OPTIONS, "precision": 2, "edgeitems": 2}
    set_printoptions(profile="full")
    assert get_printoptions() == {**DEFAULT_OPTIONS, "threshold": inf}
    set_printoptions(profile="full", precision=6, sci_mode=True)
    assert get_printoptions() == {**DEFAULT_OPTIONS, "threshold": inf, "precision": 6, "sci_mode": True}
    set_printoptions(linewidth=40)  # sci_mode resets to None, like torch
    assert get_printoptions()["sci_mode"] is None
    set_printoptions(profile="default")
    assert get_printoptions() == DEFAULT_OPTIONS
    assert format_tensor(f32([1.12345])) == "tensor([1.1235])"


def test_sci_mode_forced():
    set_printoptions(sci_mode=True)
    assert format_tensor(f32([1.0, 2.5])) == "tensor([1.0000e+00, 2.5000e+00])"
    set_printoptions(sci_mode=False)
    assert format_tensor(f32([1e-5, 1e10])) == "tensor([          0.0000, 10000000000.0000])"
    # all-zero tensors never reach the sci_mode decision (torch returns early)
    set_printoptions(sci_mode=True)
    assert format_tensor(f32([0.0, 0.0])) == "tensor([0., 0.])"


def test_printoptions_context_manager_restores():
    before = get_printoptions()
    with printoptions(precision=1, edgeitems=1):
        assert get_printoptions()["precision"] == 1
        assert format_tensor(f32([1.25, 2.0])) == "tensor([1.2, 2.0])"
    assert get_printoptions() == before
    with pytest.raises(RuntimeError):
        with printoptions(linewidth=10):
            raise RuntimeError
    assert get_printoptions() == before


def test_edgeitems_zero_adds_size():
    set_printoptions(edgeitems=0, threshold=3)
    assert format_tensor(np.arange(5)) == "tensor([...], size=(5,))"


# ---------------------------------------------------------------------------
# oracle tests against torch
# ---------------------------------------------------------------------------

SUPPORTED_DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.bool_,
]


def _tricky_arrays():
    rng = np.random.default_rng(1234)
    out = []
    for dt in (np.float32, np.float64, np.float16):
        with np.errstate(over="ignore"):
            out += [
                np.array([nan, inf, -inf], dtype=dt),
                np.array([nan, 1.5, -inf, 0.0, -0.0], dtype=dt),
                np.array([-0.0], dtype=dt),
                np.array([0.0, 0.0], dtype=dt),
                np.array([1e30, -2.5e-30], dtype=dt),
                np.array([1e-4, 1e-5, 0.5], dtype=dt),
                np.array([999.0, 1.0], dtype=dt),
                np.array([1000.0, 1.0], dtype=dt),
                np.array([1001.0, 1.0, -3.0], dtype=dt),
                np.array([1e8, 1.0], dtype=dt),
                np.array([1.0000001e8], dtype=dt),
                np.array([123456789.0, 2.0], dtype=dt),
                np.array([0.00015, 0.1], dtype=dt),
                np.array([9.99995, 99.99995, -0.00005], dtype=dt),
                np.array([[1.0, -2.0], [nan, 4.0]], dtype=dt),
                np.array(3.0, dtype=dt),
                np.array(-1.25e-7, dtype=dt),
                np.array(inf, dtype=dt),
                np.array(1e300 if dt == np.float64 else 6e4, dtype=dt),
                np.array([1e-300, 1e300, -1e-200] if dt == np.float64 else [1e-7, 6e4], dtype=dt),
                (rng.standard_normal((3, 4)) * 1e3).astype(dt),
                (rng.standard_normal((2, 3, 2, 2)) * 10.0 ** rng.integers(-6, 6, (2, 3, 2, 2))).astype(dt),
                np.round(rng.standard_normal(50) * 1e4).astype(dt),
                rng.standard_normal(25).astype(dt),
            ]
    out += [
        np.array([2**62, -(2**63), 5], dtype=np.int64),
        np.array([-(2**31), 2**31 - 1], dtype=np.int32),
        np.array([[-128, 127], [0, 1]], dtype=np.int8),
        np.array([-32768, 7], dtype=np.int16),
        np.array([0, 255, 17], dtype=np.uint8),
        np.array([[True, False], [False, False]]),
        np.array(True),
        np.array([True, True]),
        np.array(-12, dtype=np.int64),
        # empty tensors in many shapes / dtypes
        np.zeros((0,), dtype=np.float32),
        np.zeros((0, 3), dtype=np.float32),
        np.zeros((2, 0, 4), dtype=np.float32),
        np.zeros((0,), dtype=np.int64),
        np.zeros((0, 0), dtype=np.bool_),
        np.zeros((3, 0), dtype=np.float64),
        # summarisation (> 1000 elements)
        np.arange(1001, dtype=np.float32),
        np.arange(1001, dtype=np.int64) * 1000003,
        rng.standard_normal(5000).astype(np.float32),
        rng.standard_normal((40, 40)).astype(np.float64) * 1e5,
        rng.standard_normal((11, 12, 13)).astype(np.float32),
        rng.standard_normal((7, 8, 9, 10)).astype(np.float32),
        rng.integers(-50, 50, (2, 600)).astype(np.int32),
        (rng.random((1001,)) < 0.5),
        np.concatenate([np.full(600, nan), np.arange(600.0)]).astype(np.float32),
        np.arange(1200.0).reshape(2, 600)[:, ::-1],
        # long rows wrapping at linewidth 80
        rng.standard_normal(37).astype(np.float32) * 1000,
        np.arange(100, dtype=np.int64) ** 3,
        rng.standard_normal((3, 17)).astype(np.float64),
        rng.standard_normal((2, 2, 30)).astype(np.float32) * 1e-6,
        np.arange(999, dtype=np.float32) / 7,
    ]
    # every supported dtype, small and 0-d
    for dt in SUPPORTED_DTYPES:
        base = np.arange(-3, 9).reshape(3, 4) if dt not in (np.uint8, np.bool_) else np.arange(12).reshape(3, 4)
        with np.errstate(invalid="ignore"):
            out.append(base.astype(dt))
            out.append(base[0, 1].astype(dt))
    return out


TRICKY = _tricky_arrays()


def _torch_repr(torch, array):
    return repr(torch.from_numpy(np.array(array, copy=True, order="C")))


@pytest.mark.oracle
@pytest.mark.parametrize("index", range(len(TRICKY)))
def test_oracle_tricky(index):
    torch = pytest.importorskip("torch")
    array = TRICKY[index]
    assert format_tensor(array) == _torch_repr(torch, array)


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES, ids=lambda d: np.dtype(d).name)
def test_oracle_dtype_names_and_suffixes(dtype):
    torch = pytest.importorskip("torch")
    for shape in [(), (2,), (0,), (1, 0)]:
        array = np.ones(shape, dtype=dtype)
        assert format_tensor(array) == _torch_repr(torch, array)
    assert DTYPE_NAMES[np.dtype(dtype)] == str(torch.from_numpy(np.ones(1, dtype=dtype)).dtype)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "make",
    [
        lambda x: x * 1.5,
        lambda x: x + 1,
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.exp(),
        lambda x: (x * 3.0).reshape(-1),
        lambda x: x.matmul(x.T),
        lambda x: x[0],
        lambda x: x.t(),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_cols", [2, 9, 10, 11])
def test_oracle_grad_fn_suffix(make, dtype, n_cols):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n_cols)
    leaf = torch.from_numpy((rng.standard_normal((2, n_cols)) * 100).astype(dtype)).requires_grad_(True)
    out = make(leaf)
    grad_fn_name = type(out.grad_fn).__name__
    assert format_tensor(out.detach().numpy(), grad_fn_name=grad_fn_name) == repr(out)
    assert format_tensor(leaf.detach().numpy(), requires_grad=True) == repr(leaf)


@pytest.mark.oracle
@pytest.mark.parametrize("length", range(1, 14))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_oracle_requires_grad_wrapping(length, dtype):
    """Rows of every length, so the suffix lands on both sides of the 80-column limit."""
    torch = pytest.importorskip("torch")
    array = (np.arange(length) * 1.25 - 3).astype(dtype)
    leaf = torch.from_numpy(array.copy()).requires_grad_(True)
    assert format_tensor(array, requires_grad=True) == repr(leaf)
    matrix = np.tile(array, (2, 1))
    leaf2 = torch.from_numpy(matrix.copy()).requires_grad_(True)
    assert format_tensor(matrix, requires_grad=True) == repr(leaf2)
    out = leaf2 * 2
    assert format_tensor(out.detach().numpy(), grad_fn_name=type(out.grad_fn).__name__) == repr(out)


OPTION_CASES = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 8},
    {"sci_mode": False},
    {"sci_mode": True},
    {"precision": 2, "sci_mode": True},
    {"threshold": 10},
    {"threshold": 10, "edgeitems": 1},
    {"threshold": 10, "edgeitems": 0},
    {"edgeitems": 0},
    {"threshold": 5, "edgeitems": 5},
    {"linewidth": 40},
    {"linewidth": 120},
    {"linewidth": 5},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "default"},
    {"profile": "short", "precision": 6, "linewidth": 50},
]

OPTION_ARRAYS = [
    f32([1.12345, -2.5, 1000.25]),
    f32([1e-5, 1e10, nan, -inf]),
    f32([1.0, 2.0, -3.0]),
    f32([0.0, -0.0]),
    f64(12345.678),
    np.arange(30.0).reshape(5, 6) / 3,
    np.arange(2000, dtype=np.int64),
    np.arange(1500, dtype=np.float32).reshape(3, 500) * 0.1,
    np.arange(60, dtype=np.float32).reshape(3, 4, 5),
    np.array([[True, False, True]] * 4),
    np.zeros((0, 2), dtype=np.float32),
]


@pytest.mark.oracle
@pytest.mark.parametrize("options", OPTION_CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_oracle_printoptions(options):
    torch = pytest.importorskip("torch")
    try:
        torch.set_printoptions(**options)
        set_printoptions(**options)
        expected_opts = torch._tensor_str.PRINT_OPTS
        assert get_printoptions() == {
            "precision": expected_opts.precision,
            "threshold": expected_opts.threshold,
            "edgeitems": expected_opts.edgeitems,
            "linewidth": expected_opts.linewidth,
            "sci_mode": expected_opts.sci_mode,
        }
        for array in OPTION_ARRAYS:
            assert format_tensor(array) == _torch_repr(torch, array)
            if array.dtype.kind == "f":
                leaf = torch.from_numpy(array.copy()).requires_grad_(True)
                assert format_tensor(array, requires_grad=True) == repr(leaf)
    finally:
        torch.set_printoptions(profile="default")
        set_printoptions(profile="default")


@pytest.mark.oracle
def test_oracle_printoptions_context_manager():
    torch = pytest.importorskip("torch")
    array = f32([1.123456, 2.0, 3e-3])
    with printoptions(precision=3, sci_mode=True), torch._tensor_str.printoptions(precision=3, sci_mode=True):
        assert format_tensor(array) == _torch_repr(torch, array)
    assert format_tensor(array) == _torch_repr(torch, array)
    assert get_printoptions() == DEFAULT_OPTIONS


# --- hypothesis -------------------------------------------------------------

_special = st.sampled_from([nan, inf, -inf, 0.0, -0.0])
_scaled = st.builds(
    lambda mantissa, exponent: mantissa * 10.0**exponent,
    st.floats(-10, 10, allow_nan=False),
    st.integers(-12, 12),
)
_integral = st.integers(-5000, 5000).map(float)
_float_elements = st.one_of(_scaled, _scaled, _integral, _special, st.floats(-2, 2, allow_nan=False))
_int_elements = st.one_of(st.integers(-100, 100), st.integers(-(2**63), 2**63 - 1))
_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@st.composite
def _random_arrays(draw):
    shape = draw(_shapes)
    size = int(np.prod(shape))
    kind = draw(st.sampled_from(["float32", "float64", "int64"]))
    if kind == "int64":
        values = draw(st.lists(_int_elements, min_size=size, max_size=size))
        return np.array(values, dtype=np.int64).reshape(shape)
    # integral-only floats are common enough to deserve their own branch (int_mode)
    elements = draw(st.sampled_from([_float_elements, st.one_of(_integral, _special)]))
    values = draw(st.lists(elements, min_size=size, max_size=size))
    with np.errstate(over="ignore"):
        return np.array(values, dtype=np.float64).astype(kind).reshape(shape)


@pytest.mark.oracle
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(array=_random_arrays(), grad=st.sampled_from([None, "requires_grad", "MulBackward0"]))
def test_oracle_hypothesis(array, grad):
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(array.copy())
    if grad is None or array.dtype.kind != "f":
        assert format_tensor(array) == repr(tensor)
    elif grad == "requires_grad":
        assert format_tensor(array, requires_grad=True) == repr(tensor.requires_grad_(True))
    else:
        out = tensor.requires_grad_(True) * 1
        assert format_tensor(out.detach().numpy(), grad_fn_name=grad) == repr(out)


@pytest.mark.oracle
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=_random_arrays(),
    precision=st.none() | st.integers(0, 8),
    threshold=st.none() | st.integers(1, 40),
    edgeitems=st.none() | st.integers(0, 4),
    linewidth=st.none() | st.integers(10, 120),
    sci_mode=st.sampled_from([None, False, True]),
)
def test_oracle_hypothesis_printoptions(array, precision, threshold, edgeitems, linewidth, sci_mode):
    torch = pytest.importorskip("torch")
    options = dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth, sci_mode=sci_mode)
    try:
        torch.set_printoptions(profile="default", **options)
        set_printoptions(profile="default", **options)
        assert format_tensor(array) == repr(torch.from_numpy(array.copy()))
    finally:
        torch.set_printoptions(profile="default")
        set_printoptions(profile="default")


def test_complex_arrays_are_refused_like_any_dtype_torch_lacks_here():
    """GradStudio has no complex dtypes, so the printer has no complex branch."""
    with pytest.raises(TypeError, match="no torch equivalent"):
        format_tensor(np.array([1 + 2j], dtype=np.complex64))
