"""What each row of the op table declares beyond its rules: a stable id, typed
params, a shape rule, its kinks — and that the explorer reads them from the row."""
from __future__ import annotations

import types

import numpy as np
import pytest

from gradstudio.ops import OPS, BY_ID
from gradstudio.ops.linalg import MM
from gradstudio.ops.shape_rules import ShapeError
from gradstudio.ops.table import SAVES_INPUTS, SAVES_RESULT, Op, Param
from gradstudio.studio import compare
from gradstudio.studio.session import Session


def _only_leaf(source: str):
    session = Session("<test>")
    run = session.run_cell(source)
    assert run.ok, run.error
    (call,) = session.backward_calls
    (leaf,) = compare.check_call(call).leaves
    return leaf


@pytest.mark.parametrize("code", ["x.clamp_min(0.)", "x.clamp_max(0.)", "x.clamp(min=0.)",
                                  "torch.clamp_min(x, 0.)"])
def test_clamp_min_and_max_at_their_bound_are_explained_as_kinks(code):
    # torch gives gradient 1 at the bound, central differences 0.5: a kink, not an error
    leaf = _only_leaf(f"import torch\nx = torch.tensor([0., 1., -1.], requires_grad=True)\n"
                      f"{code}.sum().backward()\n")
    assert leaf.finite_difference[0] == pytest.approx(0.5)
    assert leaf.agree and "kink" in leaf.note


def test_every_row_has_a_unique_written_id_and_registers_under_it():
    ids = [op.id for op in OPS]
    assert len(set(ids)) == len(ids) and all(ids)
    assert all(BY_ID[op.id] is op for op in OPS)
    with pytest.raises(ValueError, match="two op rows"):
        Op(id=OPS[0].id, name="X", forward=np.negative, vjp=(None,))


def test_rows_are_keyword_only_and_saves_is_flags():
    with pytest.raises(TypeError):
        Op("NegBackward0", np.negative, (None,))  # noqa — positional rows are gone
    with pytest.raises(TypeError, match="SAVES_"):
        Op(name="X", forward=np.negative, vjp=(None,), saves="inputs")
    op = Op(name="X", forward=np.negative, vjp=(None,), saves=SAVES_INPUTS | SAVES_RESULT)
    assert op.saves_inputs and op.saves_result


def test_params_are_typed_with_defaults():
    clamp = BY_ID["elementwise.CLAMP"]
    assert [(p.name, p.type, p.default) for p in clamp.params] == [("min", "float?", None),
                                                                    ("max", "float?", None)]
    assert BY_ID["elementwise.POW"].param("exponent").required
    assert all(isinstance(p, Param) for op in OPS for p in op.params)


def test_shape_rules_name_both_shapes():
    assert MM.shape((3, 2), (2, 5)) == (3, 5)
    with pytest.raises(ShapeError, match=r"\(3, 2\) @ \(3, 2\): inner sizes 2 and 3 differ"):
        MM.shape((3, 2), (3, 2))
    with pytest.raises(ShapeError, match=r"\(3, 2\) and \(4,\)"):
        BY_ID["elementwise.ADD"].shape((3, 2), (4,))
    assert BY_ID["reduction.SUM_DIM"].shape((2, 3, 4), dim=(1,), keepdim=True) == (2, 1, 4)
    with pytest.raises(ShapeError, match=r"\(2, 3\)"):
        BY_ID["shape.VIEW"].shape((2, 3), shape=(4,))


def test_every_row_shape_rule_agrees_with_its_forward_on_the_sample():
    for op in OPS:
        args, params = op.sample(np.random.default_rng(0))
        out = np.asarray(op.forward(*args, **params))
        shapes = [np.shape(a) for a in args]
        assert tuple(op.shape(*shapes, **params)) == out.shape, op.id


# What `import gradstudio as torch` exposed (besides submodules) before its export lists were derived from
# the rows' api names: deriving them must not add or drop a name.
PUBLIC_NAMES = """
    DoubleTensor FloatTensor LongTensor Size Tensor abs absolute acos add addmm all allclose
    amax amin annotations any arange arccos arcsin arctan argmax argmin as_tensor asarray asin
    atan bitwise_and bitwise_not bitwise_or bitwise_xor bmm bool broadcast_to
    builtins_bool cat ceil clamp clamp_max clamp_min clip clone concat concatenate cos cosh
    count_nonzero cumsum detach device div divide dot double dtype empty empty_like
    enable_grad eq equal exp expm1 eye flatten flip float float16 float32 float64 floor
    floor_divide from_numpy full full_like gather ge ger get_default_dtype get_printoptions
    greater gt half hstack index_select inference_mode int int16 int32 int64 int8
    is_floating_point is_grad_enabled is_tensor isclose isfinite isinf isnan le less
    linspace log log10 log1p log2 log_softmax logical_and logical_not logical_or logical_xor
    logspace logsumexp long lt manual_seed masked_fill matmul max maximum mean min minimum mm
    movedim mul multiply mv narrow ne neg negative no_grad nonzero norm normal numel ones
    ones_like outer permute pow printoptions prod promote_types rand rand_like
    randint randint_like randn randn_like randperm reciprocal relu remainder reshape result_type
    round rsqrt rsub seed select set_default_dtype set_grad_enabled
    set_printoptions short sigmoid sign sin sinh softmax sqrt square squeeze stack std sub
    subtract sum swapaxes t take tan tanh tensor transpose true_divide uint8 unflatten unsqueeze
    det diag diagonal einsum inverse logdet slogdet trace
    var vstack where zeros zeros_like
    Generator e inf nan pi get_default_device set_default_device
    load_ipython_extension unload_ipython_extension
    bernoulli default_generator get_rng_state initial_seed multinomial poisson set_rng_state
    save load BoolTensor ByteTensor CharTensor HalfTensor IntTensor ShortTensor typename
    finfo iinfo meshgrid unique unique_consecutive bincount isin argwhere
    erf erfc exp2 trunc fix frac tril triu chunk split unbind unsafe_chunk unsafe_split sort argsort msort topk
    roll tile repeat_interleave masked_select scatter scatter_add cumprod
    diff broadcast_tensors broadcast_shapes cosine_similarity nan_to_num set_num_threads get_num_threads
    median nanmedian mode kthvalue cummax cummin logcumsumexp aminmax nanmean nansum std_mean var_mean
    searchsorted bucketize histc
    lerp addcmul addcdiv atan2 arctan2 logaddexp logaddexp2 hypot xlogy logit heaviside sinc deg2rad rad2deg
    copysign fmod float_power ldexp frexp nextafter
    addmv addr baddbmm addbmm chain_matmul kron atleast_1d atleast_2d atleast_3d column_stack row_stack dstack
    lgamma digamma polygamma mvlgamma erfinv i0
    tensor_split hsplit vsplit dsplit rot90 fliplr flipud take_along_dim
    cartesian_prod combinations cross cdist block_diag
""".split()


def test_the_public_names_are_unchanged():
    import gradstudio
    names = [n for n in dir(gradstudio) if not n.startswith("_")
             and not isinstance(getattr(gradstudio, n), types.ModuleType)]  # subpackages load on use
    assert sorted(names) == sorted(PUBLIC_NAMES)


def test_row_exports_are_the_same_function_everywhere():
    import gradstudio
    from gradstudio.ops import elementwise, exported
    assert exported()["arcsin"] is exported()["asin"] is gradstudio.asin is elementwise.asin
    assert gradstudio.Tensor.exp is gradstudio.exp
    assert gradstudio.exp(gradstudio.tensor([0, 1])).dtype == gradstudio.float32  # floating row
    assert gradstudio.neg(gradstudio.tensor([1, 2])).dtype == gradstudio.int64    # not floating
