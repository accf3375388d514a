"""The matrix form: textbook gradients for any size, from GradStudio's own matrix
calculus (gradstudio.studio.symbolic.matrix), each equal to the engine's gradient
and to PyTorch's (when installed), and about as short as the textbook answer."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as gs
import gradstudio.nn.functional as gF
from gradstudio.studio import trace, symbolic
from gradstudio.studio.symbolic import matrix as MF
from gradstudio.studio.symbolic.matrix import expr as M
from gradstudio.studio.symbolic.matrix.evaluate import evaluate
from gradstudio.studio.symbolic.matrix.render import latex, numpy_code, text
from gradstudio.studio.symbolic.matrix.simplify import simplify


def _t(t, value, grad=False):
    return t.tensor(value, dtype=t.float64, requires_grad=grad)


def _functional(t):
    return gF if t is gs else t.nn.functional


# Each case: build(t, data) -> (root, {name: tensor}, gradient or None), the data
# (numpy arrays), and {leaf: textbook answer}. Sizes are above 256 elements.
def _quadratic(t, d):
    A, x = _t(t, d["A"]), _t(t, d["x"], True)
    return 0.5 * x @ A @ x, {"A": A, "x": x}, None


def _pullback(t, d):
    A, x = _t(t, d["A"]), _t(t, d["x"], True)
    return A @ t.exp(x), {"A": A, "x": x}, d["v"]


def _sin_dot(t, d):
    x, y = _t(t, d["x"], True), _t(t, d["y"], True)
    return t.sin(x) @ y, {"x": x, "y": y}, None


def _scaled_dot(t, d):
    y, v, x = _t(t, d["s"], True), _t(t, d["v"], True), _t(t, d["x"], True)
    return (y * v) @ x, {"y": y, "v": v, "x": x}, None


def _least_squares(t, d):
    A, x, y = _t(t, d["A"]), _t(t, d["x"], True), _t(t, d["y"])
    return ((A @ x - y) ** 2).sum(), {"A": A, "x": x, "y": y}, None


def _logistic(t, d):
    X, w, y = _t(t, d["X"]), _t(t, d["w"], True), _t(t, d["labels"])
    return t.log(t.exp(-(y * (X @ w))) + 1).sum(), {"X": X, "w": w, "y": y}, None


def _trace_product(t, d):
    A, B, C = _t(t, d["A"]), _t(t, d["B"]), _t(t, d["C"])
    X = _t(t, d["Xsq"], True)
    return t.trace(A @ X.T @ B @ X @ C), {"A": A, "B": B, "C": C, "X": X}, None


def _logdet_inverse(t, d):
    X = _t(t, d["S"], True)
    return t.logdet(t.inverse(X)), {"X": X}, None


def _trace_quadratic(t, d):
    A, X = _t(t, d["A"]), _t(t, d["Xn"], True)
    return t.trace(X.T @ A @ X), {"A": A, "X": X}, None


def _softmax_cross_entropy(t, d):
    W, b, x = _t(t, d["W"], True), _t(t, d["b"], True), _t(t, d["x64"])
    y = t.tensor(3)
    return _functional(t).cross_entropy(W @ x + b, y), {"W": W, "b": b, "x": x, "y": y}, None


def _tanh_layer(t, d):
    W1, W2 = _t(t, d["W1"], True), _t(t, d["W2"], True)
    x, y = _t(t, d["x16"]), _t(t, d["y8"])
    h = t.tanh(W1 @ x)
    return ((W2 @ h - y) ** 2).sum(), {"W1": W1, "W2": W2, "x": x, "y": y, "h": h}, None


def _ridge(t, d):
    X, w, y = _t(t, d["X"]), _t(t, d["w"], True), _t(t, d["labels"])
    return ((X @ w - y) ** 2).mean() + 0.1 * (w ** 2).sum(), {"X": X, "w": w, "y": y}, None


def _batch_mse(t, d):
    X, W, b, Y = _t(t, d["X"]), _t(t, d["Wb"], True), _t(t, d["bb"], True), _t(t, d["Y"])
    return _functional(t).mse_loss(X @ W + b, Y), {"X": X, "W": W, "b": b, "Y": Y}, None


def _batch_cross_entropy(t, d):
    X, W, b = _t(t, d["X"]), _t(t, d["Wb"], True), _t(t, d["bb"], True)
    y = t.tensor(d["classes"])
    return _functional(t).cross_entropy(X @ W + b, y), {"X": X, "W": W, "b": b, "y": y}, None


CASES = {
    "½xᵀAx": (_quadratic, {"x": "½(A + Aᵀ)x"}),
    "A exp(x) pulled back by v": (_pullback, {"x": "exp(x) ⊙ Aᵀv"}),
    "sin(x)ᵀy": (_sin_dot, {"x": "cos(x) ⊙ y", "y": "sin(x)"}),
    "(y v)ᵀx": (_scaled_dot, {"y": "vᵀx", "v": "yx", "x": "yv"}),
    "‖Ax − y‖²": (_least_squares, {"x": "2Aᵀ(Ax − y)"}),
    "logistic loss": (_logistic, {"w": "−Xᵀ(y ⊘ (exp(y ⊙ Xw) + 1))"}),
    "tr(AXᵀBXC)": (_trace_product, {"X": "BXCA + BᵀXAᵀCᵀ"}),
    "log det X⁻¹": (_logdet_inverse, {"X": "−X⁻ᵀ"}),
    "tr(XᵀAX)": (_trace_quadratic, {"X": "(A + Aᵀ)X"}),
    "softmax cross-entropy": (_softmax_cross_entropy, {"W": "(softmax(Wx + b) − e_y) xᵀ",
                                                       "b": "softmax(Wx + b) − e_y"}),
    "tanh layer": (_tanh_layer, {"W1": "2((W₂ᵀ(W₂h − y)) ⊙ (1 − h²))xᵀ, h = tanh(W₁x)",
                                 "W2": "2(W₂h − y)hᵀ, h = tanh(W₁x)"}),
    "ridge": (_ridge, {"w": "(2/N)Xᵀ(Xw − y) + 2λw"}),
    "batch mse_loss": (_batch_mse, {"W": "(2/NK)Xᵀ(XW + 𝟙bᵀ − Y)",
                                    "b": "(2/NK)(XW + 𝟙bᵀ − Y)ᵀ𝟙"}),
    "batch cross-entropy": (_batch_cross_entropy, {"W": "(1/N)Xᵀ(softmax(XW + 𝟙bᵀ) − Y)",
                                                   "b": "(1/N)(softmax(XW + 𝟙bᵀ) − Y)ᵀ𝟙"}),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 17
    return {
        "A": rng.standard_normal((n, n)), "B": rng.standard_normal((n, n)),
        "C": rng.standard_normal((n, n)), "Xsq": rng.standard_normal((n, n)),
        "Xn": rng.standard_normal((n, 20)), "X": rng.standard_normal((60, n)) * 0.3,
        "x": rng.standard_normal(n), "y": rng.standard_normal(n), "v": rng.standard_normal(n),
        "s": np.array(1.7), "S": rng.standard_normal((n, n)) * 0.1 + 3 * np.eye(n),
        "w": rng.standard_normal(n), "labels": rng.choice([-1.0, 1.0], 60),
        "W": rng.standard_normal((10, 64)) * 0.1, "b": rng.standard_normal(10),
        "x64": rng.standard_normal(64),
        "W1": rng.standard_normal((32, 16)) * 0.3, "W2": rng.standard_normal((8, 32)) * 0.3,
        "x16": rng.standard_normal(16), "y8": rng.standard_normal(8),
        "Wb": rng.standard_normal((n, 5)) * 0.3, "bb": rng.standard_normal(5),
        "Y": rng.standard_normal((60, 5)), "classes": rng.integers(0, 5, 60),
    }


def _derived(build, data):
    with trace.tracing():
        root, named, gradient = build(gs, data)
    graph = trace.capture(root, {id(t): (name, t) for name, t in named.items()})
    root.backward(None if gradient is None else gs.tensor(gradient, dtype=gs.float64))
    leaves = {v.name: v.id for v in graph.leaves}
    return graph, gradient, named, leaves


@pytest.mark.parametrize("case", list(CASES))
def test_matrix_form_equals_the_engine_and_is_as_short_as_the_textbook(case, data):
    build, textbook = CASES[case]
    graph, gradient, named, leaves = _derived(build, data)
    assert set(textbook) <= set(leaves)
    for name, answer in textbook.items():
        form = MF.derive(graph, gradient, leaves[name])
        np.testing.assert_allclose(form.values, named[name].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"{case}: {name} = {form.text}")
        assert len(form.text) <= 3 * len(answer) + 6, f"{case}: {name} = {form.text} (textbook {answer})"


@pytest.mark.oracle
@pytest.mark.parametrize("case", list(CASES))
def test_matrix_form_equals_torch(case, data):
    torch = pytest.importorskip("torch")
    build, textbook = CASES[case]
    graph, gradient, named, leaves = _derived(build, data)
    root, theirs, _ = build(torch, data)
    root.backward(None if gradient is None else torch.tensor(gradient, dtype=torch.float64))
    for name in textbook:
        form = MF.derive(graph, gradient, leaves[name])
        np.testing.assert_allclose(form.values, theirs[name].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=f"{case}: {name} = {form.text}")


EXPECTED_TEXT = {
    ("½xᵀAx", "x"): "0.5*(A.T + A)*x",
    ("A exp(x) pulled back by v", "x"): "(A.T*v) ⊙ exp(x)",
    ("sin(x)ᵀy", "x"): "y ⊙ cos(x)",
    ("sin(x)ᵀy", "y"): "sin(x)",
    ("(y v)ᵀx", "y"): "x.T*v",
    ("(y v)ᵀx", "v"): "y*x",
    ("(y v)ᵀx", "x"): "y*v",
    ("‖Ax − y‖²", "x"): "2*A.T*(A*x - y)",
    ("tr(AXᵀBXC)", "X"): "B.T*X*A.T*C.T + B*X*C*A",
    ("log det X⁻¹", "X"): "-inv(X).T",
    ("tr(XᵀAX)", "X"): "(A.T + A)*X",
    ("softmax cross-entropy", "W"): "(softmax(W*x + b) - e_y)*x.T",
    ("softmax cross-entropy", "b"): "softmax(W*x + b) - e_y",
    ("tanh layer", "W2"): "2*(W2*h - y)*h.T  where h = tanh(W1*x)",
    ("tanh layer", "W1"): "2*((W2.T*(W2*h - y)) ⊙ (1 - h**2))*x.T  where h = tanh(W1*x)",
    ("batch mse_loss", "W"): "1/150*X.T*(X*W + 𝟙*b.T - Y)",
    ("batch cross-entropy", "W"): "1/60*X.T*(softmax_rows(X*W + 𝟙*b.T) - onehot(y))",
}


@pytest.mark.parametrize("case, leaf", list(EXPECTED_TEXT))
def test_matrix_form_reads_like_the_textbook(case, leaf, data):
    build, _ = CASES[case]
    graph, gradient, _, leaves = _derived(build, data)
    assert MF.derive(graph, gradient, leaves[leaf]).text == EXPECTED_TEXT[(case, leaf)]


@pytest.mark.parametrize("case", list(CASES))
def test_latex_renders_with_mathtext(case, data):
    from matplotlib.mathtext import MathTextParser
    build, textbook = CASES[case]
    graph, gradient, _, leaves = _derived(build, data)
    parser = MathTextParser("path")
    for name in textbook:
        form = MF.derive(graph, gradient, leaves[name])
        parser.parse(f"${form.latex}$")   # raises ValueError on anything mathtext does not know


@pytest.mark.parametrize("case", ["½xᵀAx", "logistic loss", "tanh layer", "batch cross-entropy",
                                  "log det X⁻¹"])
def test_numpy_code_computes_f_and_the_gradient(case, data):
    build, textbook = CASES[case]
    graph, gradient, named, leaves = _derived(build, data)
    for name in textbook:
        form = MF.derive(graph, gradient, leaves[name])
        namespace: dict = {}
        exec(compile(form.numpy_code(), "<fAndG>", "exec"), namespace)  # our own generated code
        arguments = [form.bindings[n] for n in form.bindings]
        f, grad = namespace["fAndG"](*arguments)
        assert np.isclose(f, float(graph[graph.root].value.sum()), rtol=1e-9)
        np.testing.assert_allclose(np.reshape(grad, named[name].shape), named[name].grad.numpy(),
                                   rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------------- the language itself
def test_simplification_rules():
    A, B = M.var("A", (4, 4)), M.var("B", (4, 3))
    x = M.var("x", (4, 1))
    assert simplify(M.T(M.T(A))) is A
    assert simplify(M.T(M.mm(A, B))) is M.mm(M.T(B), M.T(A))
    assert simplify(M.mul(M.ones((4, 1)), x)) is x                       # ⊙𝟙
    assert simplify(M.scale(1.0, M.mm(M.eye(4), x))) is x                 # ×1, I·x
    assert simplify(M.mm(M.T(M.ones((4, 1))), x)) is M.total(x)          # 𝟙ᵀx = Σx
    y = M.var("y", (4, 1))
    assert simplify(M.total(M.mul(x, y))) is M.mm(M.T(x), y)              # Σ x⊙y = xᵀy
    assert simplify(M.mm(M.inv(A), A)) is M.eye(4)
    half = simplify(M.add(M.scale(0.5, M.mm(A, x)), M.scale(0.5, M.mm(M.T(A), x))))
    assert half is M.scale(0.5, M.mm(M.add(A, M.T(A)), x))                # ½Ax + ½Aᵀx
    assert text(half) == "0.5*(A + A.T)*x"
    assert simplify(M.add(x, M.scale(-1.0, x))) is M.zero((4, 1))


def test_interning_makes_equal_expressions_identical():
    assert M.mm(M.var("A", (3, 3)), M.var("x", (3, 1))) is M.mm(M.var("A", (3, 3)), M.var("x", (3, 1)))
    assert M.var("x", (3, 1)) is not M.var("x", (3, 2))


def test_shapes_are_checked():
    with pytest.raises(M.MatrixError):
        M.mm(M.var("A", (3, 2)), M.var("B", (3, 2)))
    with pytest.raises(M.MatrixError):
        M.det(M.var("A", (3, 2)))


def test_latex_uses_the_notation():
    A, x = M.var("A", (3, 3)), M.var("x", (3, 1))
    assert latex(M.scale(0.5, M.mm(M.add(A, M.T(A)), x))) == "\\frac{1}{2}\\,\\left(A + A^{T}\\right) x"
    assert latex(M.mul(x, M.fn("exp", x))) == "x \\odot \\exp\\left(x\\right)"
    assert latex(M.T(M.inv(A))) == "A^{-T}"
    assert latex(M.mm(M.ones((3, 1)), M.T(x))) == "\\mathbf{1} x^{T}"


def test_evaluate_matches_numpy():
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 1))
    A, x = M.var("A", (3, 3)), M.var("x", (3, 1))
    e = M.mm(M.T(M.inv(A)), M.mul(M.fn("tanh", x), M.softmax(x)))
    expected = np.linalg.inv(a).T @ (np.tanh(v) * np.exp(v) / np.exp(v).sum())
    np.testing.assert_allclose(evaluate(e, {"A": a, "x": v}), expected, rtol=1e-12)


def test_cost_does_not_depend_on_the_size():
    """The derivation never looks at an element: 3×3 and 1000×1000 give the same
    expression, node for node (the timing is in benchmarks/symbolic.py)."""
    forms = []
    for n in (3, 1000):
        A, x = M.var("A", (n, n)), M.var("x", (n, 1))
        f = M.scale(0.5, M.mm(M.mm(M.T(x), A), x))
        g = simplify(MF.gradients(f, [x])[x])
        forms.append((text(g), M.size(g)))
    assert forms[0] == forms[1]


def test_a_thousand_op_chain_derives():
    x = gs.tensor(np.linspace(0.1, 0.5, 300), dtype=gs.float64, requires_grad=True)
    A = gs.tensor(np.eye(300) * 0.5, dtype=gs.float64)
    with trace.tracing():
        h = x
        for _ in range(500):
            h = A @ gs.tanh(h)
        root = h.sum()
    graph = trace.capture(root, {id(x): ("x", x), id(A): ("A", A)})
    assert len([v for v in graph.nodes if v.kind == "op"]) > 1000
    root.backward()
    form = MF.derive(graph, None, graph.leaves[0].id)
    np.testing.assert_allclose(form.values, x.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_an_op_without_a_matrix_rule_is_named():
    x = gs.tensor(np.linspace(-1, 1, 300), dtype=gs.float64, requires_grad=True)
    with trace.tracing():
        root = x.cumsum(0).sum()
    graph = trace.capture(root, {id(x): ("x", x)})
    with pytest.raises(MF.NoMatrixForm, match="CumsumBackward0 has no matrix rule"):
        MF.derive(graph, None, graph.leaves[0].id)


# ---------------------------------------------------------------------- in the explorer
def test_derive_leaf_shows_the_matrix_form_first_with_the_per_element_form_beside(data):
    graph, gradient, named, leaves = _derived(_quadratic, {**data, "A": data["A"][:3, :3],
                                                           "x": data["x"][:3]})
    formula = symbolic.derive_leaf(graph, gradient, leaves["x"])
    assert formula.kind == "matrix"
    assert formula.formula == "0.5*(A.T + A)*x"
    assert formula.latex == "\\frac{1}{2}\\,\\left(A^{T} + A\\right) x"
    assert ("A", "the matrix A") in formula.symbols and ("x", "the vector x") in formula.symbols
    assert "def fAndG(" in formula.numpy_code and "return f, grad_x" in formula.numpy_code
    assert formula.alternative is not None and formula.alternative.kind == "per_element"
    np.testing.assert_allclose(formula.alternative.values, formula.values, rtol=1e-9)


def test_check_reports_the_matrix_form(tmp_path):
    from gradstudio.studio.check import run_check
    script = tmp_path / "softmax.py"
    script.write_text("import torch\nimport torch.nn.functional as F\ntorch.manual_seed(0)\n"
                      "W = torch.randn(10, 64, requires_grad=True)\nx = torch.randn(64)\n"
                      "b = torch.zeros(10, requires_grad=True)\ny = torch.tensor(3)\n"
                      "loss = F.cross_entropy(W @ x + b, y)\nloss.backward()\n")
    report, code, error = run_check(str(script), use_torch=False, timeout=120)
    assert report is not None, error
    leaves = {leaf["name"]: leaf for leaf in report["backward_calls"][0]["leaves"]}
    assert leaves["W"]["formula_kind"] == "matrix"
    assert leaves["W"]["formula"] == "(softmax(W*x + b) - e_y)*x.T"
    assert leaves["W"]["formula_latex"].startswith("\\left(\\mathrm{softmax}")
    assert leaves["W"]["agree"] and leaves["b"]["agree"]


# ---------------------------------------------------------------------- Hessians
def _hessian_cases(t, d):
    A, X, y = _t(t, d["A"]), _t(t, d["X"]), _t(t, d["labels"])
    functions = {
        "½xᵀAx": lambda x: 0.5 * x @ A @ x,
        "logistic": lambda w: t.log(t.exp(-(y * (X @ w))) + 1).sum(),
        "ridge": lambda w: ((X @ w - y) ** 2).mean() + 0.1 * (w ** 2).sum(),
    }
    return functions, {"A": A, "X": X, "y": y}


HESSIAN_TEXT = {"½xᵀAx": "0.5*(A.T + A)", "ridge": "1/30*X.T*X + 0.2*I"}


@pytest.mark.parametrize("case", ["½xᵀAx", "logistic", "ridge"])
def test_hessian_in_matrix_form_equals_autograd_functional_hessian(case, data):
    from gradstudio.autograd.functional import hessian
    functions, named = _hessian_cases(gs, data)
    x = _t(gs, data["x"], True)
    with trace.tracing():
        root = functions[case](x)
    graph = trace.capture(root, {id(x): ("x", x), **{id(v): (k, v) for k, v in named.items()}})
    expression, formula, formula_latex, values = MF.hessian(graph, None, graph.leaves[0].id)
    np.testing.assert_allclose(values, hessian(functions[case], x.detach()).numpy(), rtol=1e-9, atol=1e-11)
    if case in HESSIAN_TEXT:
        assert formula == HESSIAN_TEXT[case]
    if case == "logistic":                      # Xᵀ diag(…) X, as the textbook writes it
        assert formula.startswith("-X.T*diag(") and formula.split("  where")[0].endswith(")*X")


@pytest.mark.oracle
@pytest.mark.parametrize("case", ["½xᵀAx", "logistic", "ridge"])
def test_hessian_in_matrix_form_equals_torch(case, data):
    torch = pytest.importorskip("torch")
    functions, _ = _hessian_cases(gs, data)
    x = _t(gs, data["x"], True)
    with trace.tracing():
        root = functions[case](x)
    graph = trace.capture(root, {id(x): ("x", x)})
    values = MF.hessian(graph, None, graph.leaves[0].id)[3]
    reference = torch.autograd.functional.hessian(_hessian_cases(torch, data)[0][case],
                                                  torch.tensor(data["x"], dtype=torch.float64))
    np.testing.assert_allclose(values, reference.numpy(), rtol=1e-9, atol=1e-11)


# Hessians of a matrix leaf X (6×5 here: the Hessian is 30×30), as matrixcalculus.org
# gives them; vec is row by row, as torch flattens.
def _matrix_hessian_cases(t, d):
    A, B, C = _t(t, d["A"][:6, :6]), _t(t, d["B"][:5, :5]), _t(t, d["C"][:6, :5])
    return {"A": A, "B": B, "C": C}, {
        "tr(XᵀAX)": lambda X: t.trace(X.T @ A @ X),
        "‖X‖²": lambda X: (X * X).sum(),
        "tr(XBXᵀ)": lambda X: t.trace(X @ B @ X.T),
        "tr(AXBXᵀ)": lambda X: t.trace(A @ X @ B @ X.T),
        "Σ exp(X) ⊙ C": lambda X: (t.exp(X) * C).sum(),
        "tr(XᵀX)²": lambda X: t.trace(X.T @ X) ** 2,
        "mse(XB, C)": lambda X: ((X @ B - C) ** 2).mean(),
    }


MATRIX_HESSIAN_TEXT = {"tr(XᵀAX)": "(A.T + A) ⊗ I", "‖X‖²": "2*I", "tr(XBXᵀ)": "I ⊗ (B + B.T)",
                       "tr(AXBXᵀ)": "A ⊗ B.T + A.T ⊗ B", "Σ exp(X) ⊙ C": "diag(vec(C ⊙ exp(X)))",
                       "tr(XᵀX)²": "4*(tr(X.T*X)*I + 2*vec(X)*vec(X).T)"}   # the commutation matrices cancelled


@pytest.mark.parametrize("case", list(_matrix_hessian_cases(gs, {k: np.ones((6, 6)) for k in "ABC"})[1]))
def test_hessian_of_a_matrix_leaf_equals_autograd_functional_hessian(case, data):
    from gradstudio.autograd.functional import hessian
    named, functions = _matrix_hessian_cases(gs, data)
    function = functions[case]
    X = _t(gs, data["Xn"][:6, :5], True)
    with trace.tracing():
        root = function(X)
    graph = trace.capture(root, {id(X): ("X", X), **{id(v): (k, v) for k, v in named.items()}})
    _, formula, formula_latex, values = MF.hessian(graph, None, graph.leaves[0].id)
    assert values.shape == (30, 30)
    np.testing.assert_allclose(values, hessian(function, X.detach()).numpy().reshape(30, 30),
                               rtol=1e-9, atol=1e-11)
    if case in MATRIX_HESSIAN_TEXT:
        assert formula == MATRIX_HESSIAN_TEXT[case]
    _mathtext_renders(formula_latex)


def _mathtext_renders(source):
    from matplotlib.mathtext import MathTextParser
    MathTextParser("path").parse(f"${source}$")


@pytest.mark.oracle
@pytest.mark.parametrize("case", ["tr(XᵀAX)", "tr(AXBXᵀ)", "Σ exp(X) ⊙ C", "tr(XᵀX)²"])
def test_hessian_of_a_matrix_leaf_equals_torch(case, data):
    torch = pytest.importorskip("torch")
    X = _t(gs, data["Xn"][:6, :5], True)
    with trace.tracing():
        root = _matrix_hessian_cases(gs, data)[1][case](X)
    graph = trace.capture(root, {id(X): ("X", X)})
    values = MF.hessian(graph, None, graph.leaves[0].id)[3]
    reference = torch.autograd.functional.hessian(_matrix_hessian_cases(torch, data)[1][case],
                                                  torch.tensor(data["Xn"][:6, :5], dtype=torch.float64))
    np.testing.assert_allclose(values, reference.numpy().reshape(30, 30), rtol=1e-9, atol=1e-11)


def test_check_hessian_flag_reports_the_hessian(tmp_path):
    from gradstudio.studio.check import run_check
    script = tmp_path / "quadratic.py"
    script.write_text("import torch\ntorch.manual_seed(0)\nA = torch.randn(4, 4, dtype=torch.float64)\n"
                      "x = torch.randn(4, dtype=torch.float64, requires_grad=True)\n"
                      "f = 0.5 * x @ A @ x\nf.backward()\n")
    report, code, error = run_check(str(script), use_torch=False, hessian=True, timeout=120)
    assert report is not None, error
    (leaf,) = report["backward_calls"][0]["leaves"]
    assert leaf["hessian"]["formula"] == "0.5*(A.T + A)"
    assert leaf["hessian"]["agree"] is True
    plain, _, _ = run_check(str(script), use_torch=False, timeout=120)
    assert "hessian" not in plain["backward_calls"][0]["leaves"][0]


def test_the_legend_names_the_one_hot_targets(data):
    graph, gradient, named, leaves = _derived(_batch_cross_entropy, data)
    formula = symbolic.derive_leaf(graph, gradient, leaves["W"])
    assert formula.kind == "matrix" and formula.size is None
    legend = dict(formula.symbols)
    assert legend["onehot(y)"] == "one-hot rows of the class indices y"
    assert legend["X"] == "the matrix X" and "y" not in legend


def test_a_formula_too_large_to_show_is_reported_with_its_size():
    x = gs.tensor(np.linspace(0.1, 0.5, 4), dtype=gs.float64, requires_grad=True)
    A = gs.tensor(np.eye(4) * 0.5, dtype=gs.float64)
    with trace.tracing():
        h = x
        for _ in range(300):
            h = A @ gs.sin(h)
        root = h.sum()
    graph = trace.capture(root, {id(x): ("x", x), id(A): ("A", A)})
    root.backward()
    formula = symbolic.derive_leaf(graph, None, graph.leaves[0].id)
    assert formula.kind == "matrix" and formula.formula is None
    assert formula.size > MF.MAX_SHOWN_NODES and "too large to show" in formula.note
    np.testing.assert_allclose(formula.values, x.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- rules in the rows
MATRIX_ROWS = ("elementwise.ADD", "elementwise.MUL", "elementwise.DIV", "elementwise.POW", "elementwise.EXP",
               "elementwise.TANH", "elementwise.SOFTPLUS", "linalg.MM", "linalg.MV", "linalg.DOT",
               "linalg.ADDMM", "shape.T", "shape.PERMUTE", "reduction.SUM", "reduction.MEAN_DIM",
               "reduction.SOFTMAX", "reduction.NORM", "losses.MSE_LOSS", "losses.BCE", "losses.NLL_LOSS",
               "matrix_functions.TRACE", "matrix_functions.INV")


@pytest.mark.parametrize("row_id", MATRIX_ROWS)
def test_each_matrix_rule_lives_in_its_row(row_id):
    """An op's matrix forward is its row's ``matrix`` field (issue 9 §2), not a table
    on the studio side keyed by row id."""
    from gradstudio.ops.table import BY_ID
    assert BY_ID[row_id].matrix is not None, f"give {row_id} a matrix= field in its row file"
    import importlib.util
    assert importlib.util.find_spec("gradstudio.studio.symbolic.matrix.rules") is None


# ---------------------------------------------------------------------- einsum
EINSUM_CASES = {   # equation: (f(A, B, x, y, S), {leaf: matrix form})
    "ij,jk->ik": (lambda A, B, x, y, S: (gs.einsum("ij,jk->ik", A, B) ** 2).sum(),
                  {"A": "2*A*B*B.T", "B": "2*A.T*A*B"}),
    "ij,j->i": (lambda A, B, x, y, S: gs.einsum("ij,j->i", A, y).sum(), {"y": "A.T*𝟙"}),
    "i,i->": (lambda A, B, x, y, S: gs.einsum("i,i->", x, x), {"x": "2*x"}),
    "ii->": (lambda A, B, x, y, S: gs.einsum("ii->", S @ S), {"S": "2*S.T"}),
    "ij->ji": (lambda A, B, x, y, S: (gs.einsum("ij->ji", A) @ x).sum(), {"A": "x*𝟙"}),
    "ij->": (lambda A, B, x, y, S: gs.einsum("ij->", A * A), {"A": "2*A"}),
    "i,j->ij": (lambda A, B, x, y, S: (gs.einsum("i,j->ij", x, y) * A).sum(), {"x": "A*y", "y": "A.T*x"}),
    "ij,ij->": (lambda A, B, x, y, S: gs.einsum("ij,ij->", A, A), {"A": "2*A"}),
    "ij,ij->i": (lambda A, B, x, y, S: gs.einsum("ij,ij->i", A, A).sum(), {"A": "2*A"}),
    "ij->j": (lambda A, B, x, y, S: gs.einsum("ij->j", A).pow(2).sum(), {}),
}


@pytest.mark.parametrize("equation", list(EINSUM_CASES))
def test_einsum_has_a_matrix_form_equal_to_the_engine(equation):
    rng = np.random.default_rng(0)
    named = {k: gs.tensor(rng.uniform(-1, 1, s), dtype=gs.float64, requires_grad=True)
             for k, s in (("A", (30, 40)), ("B", (40, 20)), ("x", (30,)), ("y", (40,)), ("S", (30, 30)))}
    build, expected = EINSUM_CASES[equation]
    with trace.tracing():
        root = build(**named)
    graph = trace.capture(root, {id(v): (k, v) for k, v in named.items()})
    root.backward()
    for leaf in graph.leaves:
        form = MF.derive(graph, None, leaf.id)
        np.testing.assert_allclose(form.values, named[leaf.name].grad.numpy(), rtol=1e-10, atol=1e-12)
        if leaf.name in expected:
            assert form.text == expected[leaf.name]


# ---------------------------------------------------------------------- the record carries the forms
def test_the_record_carries_the_numpy_code_and_the_form_one_click_away(data):
    from gradstudio.studio.kernel.records import formula_data
    graph, gradient, named, leaves = _derived(_quadratic, {**data, "A": data["A"][:3, :3], "x": data["x"][:3]})
    record = formula_data(symbolic.derive_leaf(graph, gradient, leaves["x"]))
    assert record.formula_kind == "matrix" and record.formula == "0.5*(A.T + A)*x"
    assert record.alternative.formula_kind == "per_element"
    assert record.alternative.alternative is None
    namespace: dict = {}
    exec(compile(record.numpy_code, "<fAndG>", "exec"), namespace)  # the kernel's own generated code
    f, grad = namespace["fAndG"](A=named["A"].detach().numpy(), x=named["x"].detach().numpy())
    assert np.isclose(f, float(graph[graph.root].value))
    np.testing.assert_allclose(grad.reshape(-1), named["x"].grad.numpy(), rtol=1e-12)


def test_a_generic_element_form_has_the_matrix_form_one_click_away():
    from gradstudio.studio.kernel.records import formula_data
    x = gs.tensor(np.linspace(-1, 1, 300), dtype=gs.float64, requires_grad=True)
    with trace.tracing():
        root = (3 * x * x).mean()
    graph = trace.capture(root, {id(x): ("x", x)})
    record = formula_data(symbolic.derive_leaf(graph, None, graph.leaves[0].id))
    assert record.formula_kind == "elementwise"
    assert record.alternative.formula_kind == "matrix"
    assert record.alternative.formula == "0.02*x"     # 3·2x/300
