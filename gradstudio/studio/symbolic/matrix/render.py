"""Writing matrix expressions down: text with the tensors' names
(``0.5*(A + A.T)*x``, ⊙ and ⊘ for the elementwise product and quotient), LaTeX
that matplotlib's mathtext renders (``A^{T}``, ``\\odot``, ``\\mathbf{1}``), and
NumPy code that computes f and its gradients (matrixcalculus.org's ``fAndG``).

A subexpression that occurs more than once is written once, under a name: the
name of the script variable that holds it when there is one (``h`` for
``h = torch.tanh(W1 @ x)``), else t1, t2, … — see :func:`intermediates`.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from . import expr as M
from .expr import Expr

ATOM, POSTFIX, PRODUCT, SUM = 4, 3, 2, 1
MIN_NAMED_SIZE = 3    # smaller repeated pieces (x.T, -y) read better inline


def _number(c: float) -> str:
    if float(c).is_integer() and abs(c) < 1e15:
        return str(int(c))
    short = f"{c:.6g}"
    f = _fraction(c)
    if f is not None and len(short) > 5:   # 1/30, not 0.0333333
        return f"{f.numerator}/{f.denominator}"
    return short


def _fraction(c: float) -> Fraction | None:
    f = Fraction(c).limit_denominator(1000)
    return f if abs(float(f) - c) <= 1e-12 * max(1.0, abs(c)) else None


def intermediates(roots, names: dict | None = None) -> list:
    """[(node, name)] for the non-trivial subexpressions used more than once across
    ``roots``, operands before their users. ``names`` maps a node to a preferred name."""
    names = names or {}
    uses: dict = {}
    order: list = []
    seen: set = set()
    for root in roots:
        for e in M.postorder(root):
            if id(e) not in seen:
                seen.add(id(e))
                order.append(e)
                for a in e.args:
                    uses[id(a)] = uses.get(id(a), 0) + 1
    taken = {e.data for e in order if e.op == "var"}
    picked, counter = [], 0
    for e in order:
        if uses.get(id(e), 0) < 2 or _trivial(e):
            continue
        name = names.get(e)
        if name is None or name in taken:
            counter += 1
            while f"t{counter}" in taken:
                counter += 1
            name = f"t{counter}"
        taken.add(name)
        picked.append((e, name))
    return picked


def _trivial(e: Expr) -> bool:
    if e.op in ("T", "scale", "num", "ones", "eye", "var", "onehot", "zero"):
        return True
    return 1 + len(e.args) < MIN_NAMED_SIZE and all(not a.args for a in e.args)


class _Writer:
    """One notation (text or LaTeX): a function per node kind over rendered operands."""

    def __init__(self, latex: bool, named: dict):
        self.latex, self.named = latex, named
        self.memo: dict = {}

    def __call__(self, e: Expr) -> tuple:
        """(string, precedence)"""
        found = self.memo.get(id(e))
        if found is not None:
            return found
        # operands first, without recursion, and not below what is already written
        stack = [(e, False)]
        while stack:
            current, ready = stack.pop()
            if id(current) in self.memo:
                continue
            if id(current) in self.named:
                self.memo[id(current)] = (self.name(self.named[id(current)]), ATOM)
            elif ready:
                self.memo[id(current)] = self.write(current)
            else:
                stack.append((current, True))
                stack.extend((a, False) for a in current.args if id(a) not in self.memo)
        return self.memo[id(e)]

    def wrap(self, e: Expr, at_least: int) -> str:
        s, p = self(e)
        if p >= at_least:
            return s
        return f"\\left({s}\\right)" if self.latex else f"({s})"

    def name(self, name: str) -> str:
        if not self.latex:
            return name
        match = re.fullmatch(r"([A-Za-z]+)_?(\d+)", name)
        if match:
            base, index = match.groups()
            return f"{self.name(base)}_{{{index}}}"
        if len(name) == 1:
            return name
        return "\\mathrm{" + name.replace("_", "\\_") + "}"

    def coefficient(self, c: float) -> str:
        if not self.latex:
            return _number(c)
        f = _fraction(c)
        if f is not None and f.denominator != 1:
            sign = "-" if f < 0 else ""
            return f"{sign}\\frac{{{abs(f.numerator)}}}{{{f.denominator}}}"
        return _number(c)

    def write(self, e: Expr) -> tuple:
        L, op, a = self.latex, e.op, e.args
        if op == "var":
            return self.name(e.data), ATOM
        if op == "num":
            return self.coefficient(e.data), ATOM if e.data >= 0 else SUM
        if op == "ones":
            return ("\\mathbf{1}" if L else "𝟙"), ATOM
        if op == "eye":
            return "I", ATOM
        if op == "zero":
            return "0", ATOM
        if op == "onehot":
            if e.shape[1:] == (1,):
                return (f"\\mathbf{{e}}_{{{self.name(e.data)}}}" if L else f"e_{e.data}"), ATOM
            return (f"\\mathrm{{onehot}}({self.name(e.data)})" if L else f"onehot({e.data})"), ATOM
        if op == "T":
            inner = a[0]
            if inner.op == "inv":
                return (f"{self.wrap(inner.args[0], ATOM)}^{{-T}}" if L
                        else f"inv({self(inner.args[0])[0]}).T"), POSTFIX
            return (f"{self.wrap(inner, ATOM)}^{{T}}" if L else f"{self.wrap(inner, ATOM)}.T"), POSTFIX
        if op == "inv":
            return (f"{self.wrap(a[0], ATOM)}^{{-1}}" if L else f"inv({self(a[0])[0]})"), \
                (POSTFIX if L else ATOM)
        if op == "mm":
            return self.product(_flat(e, "mm"), " " if L else "*", "mm"), PRODUCT
        if op == "mul":
            scalar = a[0].is_scalar or a[1].is_scalar
            sign = (" " if L else "*") if scalar else (" \\odot " if L else " ⊙ ")
            return self.product(_flat(e, "mul") if not scalar else list(a), sign, "mul"), PRODUCT
        if op == "div":
            if L and a[1].is_scalar:
                return f"\\frac{{{self(a[0])[0]}}}{{{self(a[1])[0]}}}", ATOM
            sign = (" \\oslash " if L else " ⊘ ") if not a[1].is_scalar else "/"
            return f"{self.wrap(a[0], PRODUCT)}{sign}{self.wrap(a[1], POSTFIX)}", PRODUCT
        if op == "scale":
            c = e.data
            if c == -1.0:
                return "-" + self.wrap(a[0], PRODUCT), SUM
            body = self.wrap(a[0], PRODUCT)
            if c < 0:
                return "-" + self.coefficient(-c) + ("\\," if L else "*") + body, SUM
            return self.coefficient(c) + ("\\," if L else "*") + body, PRODUCT
        if op == "add":
            parts = []
            for i, x in enumerate(a):
                if x.op == "scale" and x.data < 0:
                    s = self(M.scale(-x.data, x.args[0]))[0] if x.data != -1.0 else self.wrap(x.args[0], PRODUCT)
                    parts.append(("-" if i == 0 else " - ") + s)
                elif x.op == "num" and x.data < 0:
                    parts.append(("-" if i == 0 else " - ") + self.coefficient(-x.data))
                else:
                    parts.append(("" if i == 0 else " + ") + self(x)[0])
            return "".join(parts), SUM
        if op == "fn":
            return self.function(e.data, a[0]), ATOM
        if op == "pow":
            p = e.data
            if L:
                f = _fraction(p)
                exponent = _number(p) if f is None or f.denominator == 1 else f"{f.numerator}/{f.denominator}"
                return f"{self.wrap(a[0], ATOM)}^{{{exponent}}}", POSTFIX
            return f"{self.wrap(a[0], ATOM)}**{_number(p) if p >= 0 else '(' + _number(p) + ')'}", POSTFIX
        if op == "kron":
            sign = " \\otimes " if L else " ⊗ "
            return f"{self.wrap(a[0], PRODUCT + 1)}{sign}{self.wrap(a[1], PRODUCT + 1)}", PRODUCT
        if op == "commutation":
            r, c = e.data
            return (f"K_{{{r},{c}}}" if L else f"K({r},{c})"), ATOM
        calls = {"tr": ("\\mathrm{tr}", "tr"), "vec": ("\\mathrm{vec}", "vec"), "det": ("\\det", "det"), "diag": ("\\mathrm{diag}", "diag"),
                 "diagonal": ("\\mathrm{diagonal}", "diagonal"), "sum": ("\\mathrm{sum}", "sum"),
                 "softmax": ("\\mathrm{softmax}", "softmax"), "lse": ("\\mathrm{logsumexp}", "logsumexp")}
        if op == "logdet":
            return (f"\\log|\\det {self.wrap(a[0], ATOM)}|" if L else f"log|det({self(a[0])[0]})|"), ATOM
        if op in calls:
            name = calls[op][0 if L else 1]
            if e.data == "rows":
                name += "_{\\mathrm{rows}}" if L else "_rows"
            inner = self(a[0])[0]
            return (f"{name}\\left({inner}\\right)" if L else f"{name}({inner})"), ATOM
        raise ValueError(f"cannot write {op}")

    def product(self, factors, sign, op) -> str:
        return sign.join(self.wrap(f, PRODUCT + 1) if f.op != op else self(f)[0] for f in factors)

    def function(self, name: str, a: Expr) -> str:
        inner = self(a)[0]
        if not self.latex:
            return f"{name}({inner})"
        if name == "abs":
            return f"|{inner}|"
        if name == "sqrt":
            return f"\\sqrt{{{inner}}}"
        command = {"sigmoid": "\\sigma", "exp": "\\exp", "log": "\\log", "tanh": "\\tanh",
                   "sin": "\\sin", "cos": "\\cos"}.get(name, f"\\mathrm{{{name}}}")
        return f"{command}\\left({inner}\\right)"


def _flat(e: Expr, op: str) -> list:
    out, stack = [], [e]
    while stack:
        x = stack.pop()
        if x.op == op and (op != "mul" or not (x.args[0].is_scalar or x.args[1].is_scalar)):
            stack.extend(reversed(x.args))
        else:
            out.append(x)
    return out


def _write(e: Expr, latex: bool, names: dict | None, keep_named: bool) -> tuple:
    named = intermediates([e], names) if keep_named else []
    table = {id(x): n for x, n in named}
    writer = _Writer(latex, table)
    definitions = []
    for x, n in named:   # each definition may use the earlier names, but not its own
        del table[id(x)]
        writer.memo.pop(id(x), None)
        definitions.append((n, writer(x)[0]))
        table[id(x)] = n
        writer.memo[id(x)] = (writer.name(n), ATOM)
    return writer(e)[0], definitions


def text(e: Expr, names: dict | None = None, keep_named: bool = False) -> str:
    """The expression as text; with ``keep_named`` repeated pieces are named, and
    their definitions follow after ``where``."""
    body, definitions = _write(e, False, names, keep_named)
    if not definitions:
        return body
    return body + "  where " + ", ".join(f"{n} = {d}" for n, d in definitions)


def latex(e: Expr, names: dict | None = None, keep_named: bool = False) -> str:
    body, definitions = _write(e, True, names, keep_named)
    if not definitions:
        return body
    return body + ",\\quad " + ",\\ ".join(f"{writer_name} = {d}" for writer_name, d in
                                             ((_Writer(True, {}).name(n), d) for n, d in definitions))


def definitions(e: Expr, names: dict | None = None) -> list:
    """[(name, text of its definition)] of the pieces :func:`text` names."""
    return _write(e, False, names, True)[1]


# ---------------------------------------------------------------------- NumPy code
_NUMPY_FUNCTIONS = {"exp": "np.exp({})", "log": "np.log({})", "tanh": "np.tanh({})",
                    "sin": "np.sin({})", "cos": "np.cos({})", "sigmoid": "(1 / (1 + np.exp(-{})))",
                    "relu": "np.maximum({}, 0)", "step": "({} > 0).astype(float)",
                    "sign": "np.sign({})", "abs": "np.abs({})", "sqrt": "np.sqrt({})"}
_HELPERS = '''
def softmax(a, axis=0):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsumexp(a, axis=0):
    m = np.max(a, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))


def commutation(rows, cols):
    k = np.zeros((rows * cols, rows * cols))
    i, j = np.divmod(np.arange(rows * cols), cols)
    k[j * rows + i, i * cols + j] = 1.0
    return k
'''


def _numpy(e: Expr, a: list) -> str:
    op = e.op
    if op in ("var", "onehot"):
        return e.data if op == "var" else f"onehot_{e.data}"
    if op == "num":
        return repr(float(e.data))
    if op in ("ones", "zero"):
        return f"np.{op if op == 'ones' else 'zeros'}({e.shape})"
    if op == "eye":
        return f"np.eye({e.shape[0]})"
    if op == "commutation":
        return f"commutation{e.data}"
    axis = 1 if e.data == "rows" else 0
    return {
        "T": lambda: f"{a[0]}.T",
        "mm": lambda: f"({a[0]} @ {a[1]})" + (".item()" if e.is_scalar else ""),
        "add": lambda: "(" + " + ".join(a) + ")",
        "scale": lambda: f"({e.data!r} * {a[0]})",
        "mul": lambda: f"({a[0]} * {a[1]})",
        "div": lambda: f"({a[0]} / {a[1]})",
        "fn": lambda: _NUMPY_FUNCTIONS[e.data].format(a[0]) if op == "fn" else "",
        "pow": lambda: f"({a[0]} ** {e.data!r})",
        "tr": lambda: f"np.trace({a[0]})", "det": lambda: f"np.linalg.det({a[0]})",
        "logdet": lambda: f"np.linalg.slogdet({a[0]})[1]", "inv": lambda: f"np.linalg.inv({a[0]})",
        "diag": lambda: f"np.diag({a[0]}.ravel())", "diagonal": lambda: f"np.diagonal({a[0]}).reshape(-1, 1)",
        "sum": lambda: f"np.sum({a[0]})",
        "kron": lambda: f"np.kron({a[0]}, {a[1]})", "vec": lambda: f"{a[0]}.reshape(-1, 1)",
        "softmax": lambda: f"softmax({a[0]}, {axis})",
        "lse": lambda: f"logsumexp({a[0]}, {axis})" + (".item()" if e.is_scalar else ""),
    }[op]()


def numpy_code(f: Expr, grads: dict, inputs: dict, names: dict | None = None) -> str:
    """Python source of ``fAndG(...)`` returning f and each gradient in ``grads``
    ({leaf name: expression}). ``inputs`` maps each argument name (the ``var`` and
    ``onehot_<name>`` arrays) to its shape in the language (vectors are columns);
    the function reshapes what it is given, so torch-shaped arrays work."""
    roots = [f] + list(grads.values())
    named = {id(x): n for x, n in intermediates(roots, names)}
    lines, code = [], {}
    for root in roots:
        for e in M.postorder(root):
            if id(e) in code:
                continue
            expression = _numpy(e, [code[id(x)] for x in e.args])
            if id(e) in named:
                lines.append(f"    {named[id(e)]} = {expression}")
                expression = named[id(e)]
            code[id(e)] = expression
    arguments = list(inputs)
    header = [f"    {n} = np.asarray({n}, dtype=float).reshape({M.matrix_shape(s)})" for n, s in inputs.items()]
    results = ", ".join(f"grad_{n}" for n in grads)
    body = header + lines + [f"    f = {code[id(f)]}"] + [f"    grad_{n} = {code[id(g)]}" for n, g in grads.items()]
    return ("import numpy as np\n" + _HELPERS + "\n\n" + f"def fAndG({', '.join(arguments)}):\n"
            + "\n".join(body) + f"\n    return f, {results}\n")
