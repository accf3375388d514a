"""A graph as one line of text for oracle transcripts: ``Name(Child(…),…)``, every
branch of the grad_fn tree below a node, the same under torch and GradStudio."""
from __future__ import annotations


def nested(fn) -> str:
    """``fn``'s class name with its inputs' nodes in parentheses, recursively ("" for None)."""
    if fn is None:
        return ""
    return type(fn).__name__ + "(" + ",".join(nested(n) for n, _ in fn.next_functions if n is not None) + ")"
