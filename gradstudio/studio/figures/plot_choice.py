"""What the Plots panel draws, decided without Qt, matplotlib or the engine.

The panel (``gradstudio.ui.panels.plots``) asks this module which backward
call its tabs are about, what the heatmap shows for the current selection
(an array with its title, or a message saying why there is none), what a tab
with nothing to plot says, which leaf the sweep controls point at, and where
a sweep stands (:class:`SweepState`: idle → pending → ready or failed). The
widget only turns the answers into widgets and figures.

Everything here reads the app's typed call records and tensor summaries
(``gradstudio.studio.kernel.schema``) and a *model* shaped like the app's split
``AppModel``: ``calls`` (``call(index)``, ``call_list()``,
``latest_call_with(name)``) and ``selection`` (``current`` with ``.call``,
``.node``, ``.tensor``; ``selected_node()``, ``selected_tensor()``) — the
window's own model, or a plain stand-in in the core tests.
"""
from __future__ import annotations

DEFAULT_POINTS = 41
MAX_POINTS = 401


# --------------------------------------------------------------------------- names
def node_label(node) -> str:
    """A vertex (a NodeData) as the user knows it: its variable name, else its grad_fn (or kind)."""
    return node.name or node.grad_fn or node.label or (node.kind or "?")


def node_name(node) -> str:
    """:func:`node_label`, and ``a`` for no node (the sweep's variable before there is one)."""
    if node is None:
        return "a"
    return node_label(node)


def element_text(name: str, element) -> str:
    return f"{name}[{', '.join(str(i) for i in element)}]" if len(element) else name


def file_part(text: str) -> str:
    """A piece of a file name made from a variable or element name."""
    kept = "".join(c if c.isalnum() else "-" for c in text)
    return "-".join(p for p in kept.split("-") if p) or "plot"


def default_range(value: float) -> tuple:
    """value ± max(1, |value|): the sweep's range when the user gives none (the
    kernel's :mod:`gradstudio.studio.sweep` uses this one too)."""
    half = max(1.0, abs(float(value)))
    return float(value) - half, float(value) + half


# --------------------------------------------------------------------------- which call
def current_call(m):
    """The record the norms and sweep tabs are about: the selected call, else the newest."""
    selected = m.selection.current.call
    record = m.calls.call(selected) if selected is not None else None
    if record is None:
        calls = m.calls.call_list()
        record = calls[-1] if calls else None
    return record


def node_to_select(record):
    """Picking a call in the norms tab selects its first leaf (else its root), or None."""
    root = record.graph.root if record.graph else None
    leaves = record.data.leaves
    return leaves[0].vertex if leaves else root


def norms_message(record) -> str | None:
    """Why the norms tab has no bars for ``record`` (None: it has some)."""
    if record is None:
        return "Run a cell that calls backward() to see the gradient norms"
    if not record.nodes:
        return f"backward #{record.index}: " + (record.data.graph_error
                                                 or "no graph was recorded for this call")
    return None


def norms_title(record) -> str:
    title = f"‖grad‖ per vertex — #{record.index} {record.title()}"
    if record.status == "error":
        title += " (raised)"
    return title


# --------------------------------------------------------------------------- heatmap
def _nth(step: int) -> str:
    if step == 1:
        return "single"
    suffix = "th" if 10 <= step % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(step % 10, "th")
    return f"{step}{suffix}"


def _sampled(item, title: str, name: str, what: str) -> dict:
    """The heatmap source for a gradient too large to send: the kernel's sample of it
    (every k-th row and column); no element picking (a cell is not one element)."""
    sample = item.grad_sample
    rows, columns = sample.shape
    step_rows, step_columns = sample.step
    size = item.grad_summary.size if item.grad_summary is not None else None
    return {"array": sample.array, "leaf": None, "name": name, "title": f"{title} (sampled)",
            "info": f"{what}: {size:,} elements, too many to send — shown: every "
                    f"{_nth(step_rows)} row and {_nth(step_columns)} column of its {rows:,}×{columns:,} layout."}


def heatmap_source(m) -> dict:
    """What the heatmap shows: ``array`` (or None and a ``message``), ``title``,
    ``leaf`` ((call, vertex) when it is a leaf's gradient in a call)."""
    node, tensor = m.selection.selected_node(), m.selection.selected_tensor()
    call = m.selection.current.call
    if node is not None:
        label = node_label(node)
        leaf = (call, node.id) if node.kind == "leaf" else None
        if node.grad is not None:
            return {"array": node.grad, "leaf": leaf, "name": label,
                    "title": f"|∂f/∂{label}| in backward #{call}",
                    "info": f"The gradient that reached {label} in backward #{call}"
                            f"{' — click a cell to pick it for the sweep' if leaf else ''}."}
        if node.grad_sample is not None:
            return _sampled(node, f"|∂f/∂{label}| in backward #{call}", label,
                            f"The gradient that reached {label} in backward #{call}")
        if node.grad_summary is not None:
            size = node.grad_summary.size
            return {"message": f"The gradient of {label} is too large to show ({size:,} elements).",
                    "leaf": leaf, "name": label}
        if node.kind == "const":
            return {"message": f"{label} is a constant: no gradient flows to it.", "name": label}
        if tensor is None or tensor.grad is None:
            return {"message": f"No gradient reached {label} in backward #{call}.", "name": label}
    if tensor is not None:
        name = tensor.name
        if tensor.grad is not None:
            call_index, vertex = m.calls.latest_call_with(name)
            record = m.calls.call(call_index) if call_index is not None else None
            found = record.node(vertex) if record is not None else None
            leaf = (call_index, vertex) if found is not None and found.kind == "leaf" else None
            return {"array": tensor.grad, "leaf": leaf, "name": name, "title": f"|{name}.grad|",
                    "info": f"{name}.grad, accumulated over every backward call so far."}
        if tensor.grad_sample is not None:
            return _sampled(tensor, f"|{name}.grad|", name, f"{name}.grad")
        if tensor.grad_summary is not None:
            size = tensor.grad_summary.size
            return {"message": f"{name}.grad is too large to show ({size:,} elements).", "name": name}
        why = "it does not require grad" if not tensor.requires_grad else (
            "it is not a leaf (call .retain_grad() to keep it)" if not tensor.is_leaf
            else "no backward() has reached it yet")
        return {"message": f"{name}.grad is None: {why}.", "name": name}
    return {"message": "Select a tensor or a graph vertex to see |grad|."}


# --------------------------------------------------------------------------- sweep
def sweep_leaves(record) -> list:
    """((call, vertex), label) for each leaf of ``record`` the sweep can move (none for a
    call that raised)."""
    leaves = record.data.leaves if record is not None and record.status == "ok" else []
    choices = []
    for leaf in leaves:
        shape = "×".join(str(s) for s in leaf.shape) or "scalar"
        choices.append(((record.index, leaf.vertex), f"{leaf.name}  ({shape})"))
    return choices


def pick_leaf(keys: list, wanted, previous):
    """The row of ``keys`` to make current: the selected leaf, else the one picked
    before, else the first; None when there are none."""
    if wanted in keys:
        return keys.index(wanted)
    if previous in keys:
        return keys.index(previous)
    return 0 if keys else None


def sweep_hint(current, leaf_count: int) -> str:
    """What the sweep tab says before there is a sweep to draw."""
    if current is None:
        return "Run a cell that calls backward(), then sweep one element of a leaf."
    if leaf_count == 0:
        why = "raised" if current.status == "error" else "gave no leaf a gradient"
        return f"backward #{current.index} {why}: there is nothing to sweep. Pick another call."
    return ("Pick a leaf and an element above (or click a heatmap cell), then Sweep: "
            "f and ∂f/∂a over a range, from the engine, the closed form and finite differences.")


IDLE, PENDING, READY, FAILED = "idle", "pending", "ready", "failed"
LOST = "The kernel stopped before the sweep came back."


class SweepState:
    """Where the sweep stands, as the panel shows it.

    ``phase``: ``idle`` (nothing asked yet, or everything cleared), ``pending``
    (``target`` = (call, vertex, element) asked of the kernel, no answer yet),
    ``ready`` (``result`` is the sweep to draw) or ``failed`` (``message`` says
    why; ``result`` is still the last sweep that came back, if any). Only these
    methods change it; each returns whether the panel has something new to show.
    """

    def __init__(self):
        self.phase = IDLE
        self.target = None
        self.result = None
        self.message = ""

    @property
    def pending(self) -> bool:
        return self.phase == PENDING

    def request(self, target) -> bool:
        """Ask for ``target``; refused (False) while another request is pending."""
        if self.phase == PENDING or target is None:
            return False
        self.phase, self.target = PENDING, tuple(target)
        return True

    def answers(self, result) -> bool:
        """Whether ``result`` (a SweepData) is the answer to the pending request."""
        pending = self.target
        vertex = result.vertex if result.vertex is not None else pending[1] if pending else None
        return (self.phase == PENDING and pending is not None and result.call == pending[0]
                and vertex == pending[1])

    def receive(self, result, *, known: bool) -> bool:
        """A sweep came back. ``known``: its call is still one the app shows (after a
        restart it is not, and the answer is dropped). Returns whether it is shown."""
        if self.answers(result):
            self.target = None
            self.phase = self._settled()
        if not known:
            return False
        self.result = result
        if self.phase != PENDING:            # an answer to another request leaves this one pending
            self.phase = FAILED if result.error else READY
        self.message = f"The sweep failed: {result.error}" if result.error else (result.note or "")
        return True

    def lost(self) -> bool:
        """The kernel went idle without answering (it died, or dropped the request)."""
        if self.phase != PENDING:
            return False
        self.phase, self.target, self.message = FAILED, None, LOST
        return True

    def clear(self):
        """Every call is gone (a restart): nothing pending, nothing to draw."""
        self.__init__()

    def _settled(self) -> str:
        if self.result is None:
            return IDLE
        return FAILED if self.result.error else READY
