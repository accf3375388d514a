"""Plain-language hints for the errors learners meet in autograd tutorials.

The engine raises torch's exact messages; these hints say what to do about
them, for the console, the Compare panel and ``gradstudio check``.
"""
from __future__ import annotations

import re

_HINTS = [
    (r"grad can be implicitly created only for scalar outputs",
     "backward() needs a scalar: use .sum(), .mean() or pass gradient= (a tensor shaped like the "
     "output) to backward()."),
    (r"Trying to backward through the graph a second time",
     "The first backward() freed the values this graph saved. Pass retain_graph=True to the first "
     "call if you need to go backward through it again, or build the graph again."),
    (r"does not require grad and does not have a grad_fn",
     "Nothing in this computation requires a gradient: create the input with requires_grad=True "
     "(or call .requires_grad_()) before computing with it, and not inside torch.no_grad()."),
    (r"a leaf Variable that requires grad is being used in an in-place operation",
     "Change a tensor that requires grad in place only inside `with torch.no_grad():` (as an "
     "optimiser step does), or use an out-of-place op such as x = x + 1."),
    (r"modified by an inplace operation",
     "A value that backward() needs was changed in place after it was used. Use the out-of-place "
     "op (y = y * 2 instead of y *= 2) or .clone() the tensor before changing it."),
    (r"mat1 and mat2 shapes cannot be multiplied|size mismatch, got input|inconsistent tensor size",
     "For A @ B the last dimension of A must equal the first (or second-to-last) dimension of B; "
     "check the shapes with .shape, or transpose one operand with .T."),
    (r"must match the size of tensor b",
     "These shapes cannot be broadcast together: dimensions are compared from the right and each "
     "pair must be equal or contain a 1."),
    (r"Mismatch in shape: grad_output",
     "The gradient= passed to backward() must have exactly the shape of the tensor you call "
     "backward() on."),
    (r"Only Tensors of floating point",
     "Only floating-point tensors can require gradients: write 1. instead of 1, or pass "
     "dtype=torch.float32."),
    (r"Can't call numpy\(\) on Tensor that requires grad",
     "Use tensor.detach().numpy(): the values leave the graph, so autograd cannot follow them."),
    (r"name 'torch' is not defined",
     "Run the cell with `import torch` first (cells share one namespace, in the order you run "
     "them; Restart clears it)."),
    (r"appears to not have been used in the graph",
     "That input does not influence the output; pass allow_unused=True to get None for it."),
    (r"name '(?:np|numpy)' is not defined",
     "Import it first: `import numpy as np`."),
    (r"name '(\w+)' is not defined",
     r"`\1` has no value yet: run the cell that assigns it first (cells share one namespace, in "
     r"the order you run them; Restart clears it), or check its spelling."),
    (r"cannot access local variable '(\w+)'",
     r"The function assigns `\1`, so Python treats it as local everywhere in the function: give "
     r"it a value before its first use there, or pass it in as an argument."),
]

# SyntaxError messages are Python's own (error.msg); the hint says what usually causes them.
_SYNTAX_HINTS = [
    (r"was never closed|unmatched '|does not match opening parenthesis",
     "A bracket is not matched: every ( [ { needs its ) ] } — look at the line shown and the "
     "lines just before it."),
    (r"unterminated (triple-quoted )?string",
     "A string is not closed: end it with the same quote it starts with (three quotes for a "
     "string over several lines)."),
    (r"expected ':'",
     "if, for, while, def, class and with end their first line with a colon (:)."),
    (r"unexpected indent|unindent does not match|expected an indented block|inconsistent use of tabs",
     "The indentation is off: a block is indented one level (4 spaces) under the line that "
     "ends with ':', and the lines of one block line up."),
    (r"Perhaps you forgot a comma",
     "Items of a list, tuple or call are separated by commas."),
    (r"cannot assign to|Maybe you meant '=='",
     "Use == to compare; = gives the name on its left a value."),
]
_SYNTAX_FALLBACK = ("Python could not read this cell, so none of it ran; the line shown is where "
                    "it stopped. Usual causes: a missing bracket, quote or colon, or = where == "
                    "was meant.")
_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


def hint_for(message: str, error_type: str | None = None) -> str | None:
    """A plain-language hint for an error message, or None. ``error_type`` is the
    exception's class name when known: every SyntaxError gets a hint."""
    message = message or ""
    if error_type in _SYNTAX_ERRORS:
        return next((hint for pattern, hint in _SYNTAX_HINTS if re.search(pattern, message)),
                    _SYNTAX_FALLBACK)
    for pattern, hint in _HINTS:
        match = re.search(pattern, message)
        if match:
            return match.expand(hint)
    return None
