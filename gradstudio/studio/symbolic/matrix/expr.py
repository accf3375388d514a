"""The matrix-expression language: nodes, their shapes, and the constructors.

An expression is a DAG of :class:`Expr` nodes. Every node is *interned*: building
the same operation on the same operands twice returns the same object, so
equality is identity, hashing is O(1), and a repeated subexpression is shared —
which is what lets the derivation, the simplifier and the renderer run in time
proportional to the number of operations, whatever the tensors' sizes.

Shapes follow the textbook: ``()`` is a scalar, ``(n, 1)`` a column vector,
``(1, n)`` a row, ``(n, m)`` a matrix (a 1×1 product is a scalar). Sizes are
carried as numbers only to check shapes and to build 𝟙 and I at evaluation;
nothing here ever loops over elements.

Node kinds (``op``): ``var`` (a named tensor), ``num`` (a number), ``ones`` (𝟙),
``eye`` (I), ``onehot`` (e_y, or a one-hot matrix, named after the targets),
``T``, ``mm`` (matrix product), ``add`` (n-ary), ``scale`` (a numeric factor),
``mul`` / ``div`` (Hadamard ⊙ / ⊘, or by a scalar), ``fn`` (an elementwise
function), ``pow`` (elementwise power), ``tr``, ``det``, ``logdet`` (log|det|),
``inv``, ``diag`` (vector → diagonal matrix), ``diagonal``, ``sum`` (of all
elements), ``softmax`` / ``lse`` (of a column vector, or of each row with
``data="rows"``), ``zero``; for Hessians of a matrix leaf, ``kron`` (⊗), ``vec``
(the elements row by row as a column, as torch flattens) and ``commutation``
(K, with vec(Xᵀ) = K vec(X)).
"""
from __future__ import annotations

import weakref

FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "sin", "cos", "relu", "step", "sign", "abs", "sqrt")


class MatrixError(ValueError):
    """An expression that is not well formed (shapes that do not fit)."""


class Expr:
    __slots__ = ("op", "args", "shape", "data", "__weakref__")

    def __init__(self, op, args, shape, data):
        self.op, self.args, self.shape, self.data = op, args, shape, data

    def __reduce__(self):
        # rebuilt through node(), so an expression sent to another process is interned there too
        return (node, (self.op, self.args, self.shape, self.data))

    def __repr__(self):
        from .render import text
        return f"Expr({text(self)})"

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    @property
    def T(self) -> "Expr":
        return T(self)

    def __add__(self, other):
        return add(self, other)

    def __sub__(self, other):
        return add(self, scale(-1.0, other))

    def __neg__(self):
        return scale(-1.0, self)

    def __matmul__(self, other):
        return mm(self, other)


_TABLE: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()


def node(op: str, args: tuple = (), shape: tuple = (), data=None) -> Expr:
    """The one node for (op, args, shape, data)."""
    # operands are interned, so their ids identify them (a live node keeps its operands alive)
    key = (op, tuple(map(id, args)), shape, data)
    found = _TABLE.get(key)
    if found is None:
        found = Expr(op, tuple(args), shape, data)
        _TABLE[key] = found
    return found


def matrix_shape(shape: tuple) -> tuple:
    """(rows, cols) of a shape; a scalar is 1×1."""
    return shape if shape else (1, 1)


def normal_shape(rows: int, cols: int) -> tuple:
    return () if (rows, cols) == (1, 1) else (rows, cols)


# ------------------------------------------------------------------ leaves
def var(name: str, shape: tuple) -> Expr:
    return node("var", (), normal_shape(*matrix_shape(shape)), name)


def num(value: float) -> Expr:
    return node("num", (), (), float(value))


def ones(shape: tuple) -> Expr:
    shape = normal_shape(*matrix_shape(shape))
    return num(1.0) if shape == () else node("ones", (), shape)


def eye(n: int) -> Expr:
    return num(1.0) if n == 1 else node("eye", (), (n, n))


def zero(shape: tuple) -> Expr:
    return node("zero", (), normal_shape(*matrix_shape(shape)))


def onehot(name: str, shape: tuple) -> Expr:
    return node("onehot", (), normal_shape(*matrix_shape(shape)), name)


# ------------------------------------------------------------------ structure
def T(a: Expr) -> Expr:
    r, c = matrix_shape(a.shape)
    return node("T", (a,), normal_shape(c, r))


def mm(a: Expr, b: Expr) -> Expr:
    """The matrix product; with a scalar operand, the product by that scalar."""
    if a.is_scalar or b.is_scalar:
        return mul(a, b)
    (n, k), (k2, m) = a.shape, b.shape
    if k != k2:
        raise MatrixError(f"({n}×{k}) times ({k2}×{m})")
    return node("mm", (a, b), normal_shape(n, m))


def _elementwise_shape(args) -> tuple:
    shapes = {a.shape for a in args if not a.is_scalar}
    if len(shapes) > 1:
        raise MatrixError(f"elementwise operands of shapes {sorted(shapes)}")
    return shapes.pop() if shapes else ()


def add(*args: Expr) -> Expr:
    if len(args) == 1:
        return args[0]
    return node("add", tuple(args), _elementwise_shape(args))


def scale(c: float, a: Expr) -> Expr:
    return node("scale", (a,), a.shape, float(c))


def mul(a: Expr, b: Expr) -> Expr:
    return node("mul", (a, b), _elementwise_shape((a, b)))


def div(a: Expr, b: Expr) -> Expr:
    return node("div", (a, b), _elementwise_shape((a, b)))


def fn(name: str, a: Expr) -> Expr:
    if name not in FUNCTIONS:
        raise MatrixError(f"unknown elementwise function {name}")
    return node("fn", (a,), a.shape, name)


def power(a: Expr, p: float) -> Expr:
    return node("pow", (a,), a.shape, float(p))


def _square(a: Expr, what: str) -> int:
    r, c = matrix_shape(a.shape)
    if r != c:
        raise MatrixError(f"{what} of a {r}×{c} matrix")
    return r


def tr(a: Expr) -> Expr:
    _square(a, "trace")
    return node("tr", (a,), ())


def det(a: Expr) -> Expr:
    _square(a, "det")
    return node("det", (a,), ())


def logdet(a: Expr) -> Expr:
    """log |det a|."""
    _square(a, "log det")
    return node("logdet", (a,), ())


def inv(a: Expr) -> Expr:
    _square(a, "inverse")
    return node("inv", (a,), a.shape)


def diag(v: Expr) -> Expr:
    """The diagonal matrix of a column vector."""
    n, c = matrix_shape(v.shape)
    if c != 1:
        raise MatrixError("diag of a matrix (use diagonal)")
    return node("diag", (v,), normal_shape(n, n))


def diagonal(a: Expr) -> Expr:
    n = _square(a, "diagonal")
    return node("diagonal", (a,), normal_shape(n, 1))


def total(a: Expr) -> Expr:
    """The sum of all elements, 𝟙ᵀA𝟙."""
    return node("sum", (a,), ())


def _axis(a: Expr, rows: bool) -> str | None:
    r, c = matrix_shape(a.shape)
    if not rows and c != 1:
        raise MatrixError("softmax of a matrix: say rows=True")
    return "rows" if rows else None


def softmax(a: Expr, rows: bool = False) -> Expr:
    return node("softmax", (a,), a.shape, _axis(a, rows))


def lse(a: Expr, rows: bool = False) -> Expr:
    """log Σ exp — of a column vector (a scalar), or of each row (a column)."""
    axis = _axis(a, rows)
    return node("lse", (a,), () if axis is None else normal_shape(matrix_shape(a.shape)[0], 1), axis)


# ------------------------------------------------------------------ Hessians of matrices
def kron(a: Expr, b: Expr) -> Expr:
    """The Kronecker product a ⊗ b (I ⊗ I is I, 1 ⊗ b is b)."""
    if a.is_scalar or b.is_scalar:
        return mul(a, b)
    if a.op == "eye" and b.op == "eye":
        return eye(a.shape[0] * b.shape[0])
    (ra, ca), (rb, cb) = a.shape, b.shape
    return node("kron", (a, b), normal_shape(ra * rb, ca * cb))


def vec(a: Expr) -> Expr:
    """The elements of ``a`` row by row, as a column (a column is its own vec)."""
    r, c = matrix_shape(a.shape)
    if c == 1:
        return a
    if r == 1:
        return T(a)
    return node("vec", (a,), (r * c, 1))


def commutation(rows: int, cols: int) -> Expr:
    """K with vec(Xᵀ) = K vec(X) for a rows×cols X (I for a vector)."""
    if rows == 1 or cols == 1:
        return eye(rows * cols)
    return node("commutation", (), (rows * cols, rows * cols), (rows, cols))


# ------------------------------------------------------------------ traversal
def postorder(root: Expr) -> list:
    """Every node below ``root`` once, operands before their users (no recursion)."""
    seen, order, stack = set(), [], [(root, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            order.append(current)
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        stack.append((current, True))
        for a in reversed(current.args):
            if id(a) not in seen:
                stack.append((a, False))
    return order


def size(root: Expr) -> int:
    return len(postorder(root))


def leaves(root: Expr, op: str = "var") -> list:
    return [e for e in postorder(root) if e.op == op]
