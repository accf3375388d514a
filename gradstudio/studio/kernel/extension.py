"""GradStudio inside any IPython kernel: ``%load_ext gradstudio``.

Loaded into an IPython shell (a Jupyter notebook in JupyterLab, Notebook, VS
Code or Colab; a terminal IPython; the app's own kernel), the extension:

* resolves ``import torch`` in the user's code — only there — to GradStudio,
  exactly as the app's sessions do (a real ``torch`` imported by a library
  stays the real one);
* records every ``backward()`` of a cell with the graph it ran through and
  the gradient each leaf received (a :class:`~gradstudio.studio.session.Session`
  bound to the shell's namespace, so leaves carry the user's variable names);
* after the cell, shows each call's three-way check under it: an HTML table
  (engine, closed form typeset by the front end's MathJax, finite differences,
  PyTorch when installed, ✓/✗) and the recorded graph as SVG, plus the check as
  data (``application/vnd.gradstudio.check+json``, strict JSON).

Derivations run in the killable symbolic worker process with a time limit, so a
formula sympy cannot finish never hangs the notebook. ``%gradstudio off``
stops the display (recording goes on), ``%gradstudio on`` resumes it,
``%gradstudio`` says which it is. An internal error of ours is reported in one
line on stderr; it never fails the user's cell or silences later ones.

Every traceback IPython shows gets GradStudio's plain-language hint as its last
line (IPython's own traceback is kept). In a kernel, the extension also listens
for GradStudio's window (:mod:`gradstudio.studio.kernel.bridge`): the window's
cells report their records on its comm instead of the HTML above.
"""
from __future__ import annotations

import builtins
import math
import sys

from gradstudio.autograd import api as _api
from gradstudio.autograd.grad_mode import state as _grad_state
from gradstudio.studio.kernel.bridge import Bridge
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import CellRun, Session, _torch_import

CHECK_MIME = "application/vnd.gradstudio.check+json"
DERIVE_SECONDS = 10.0
KEEP_CALLS = 50          # recorded calls kept for %gradstudio and the app; older ones are dropped


class ShellSession(Session):
    """A :class:`Session` whose namespace is an IPython shell's; IPython runs the cells."""

    def __init__(self, shell):
        super().__init__("<ipython>")
        self.shell = shell
        self.namespace = shell.user_ns

    def _not_a_variable(self, name: str) -> bool:
        """IPython's own names too (``_oh``, ``Out``, ``_``, ``_3`` …): its output history holds
        the user's tensors, and would name them before their variables do."""
        return name.startswith("__") or name in self.shell.user_ns_hidden

    def _call_site(self):
        """(cell, line in the cell) of the innermost frame running the user's code."""
        frame = sys._getframe(1)
        globals_ = self.shell.user_global_ns
        cell = self._current.cell if self._current is not None else None
        while frame is not None:
            if frame.f_globals is globals_:
                return cell, frame.f_lineno
            frame = frame.f_back
        return cell, 0


class Extension:
    """The extension's state in one shell; see the module docstring."""

    def __init__(self, shell, *, derive_seconds: float = DERIVE_SECONDS):
        self.shell = shell
        self.session = ShellSession(shell)
        self.show = True
        self.derive_seconds = derive_seconds
        self.service = KernelService(self.session, send=lambda message: None)
        self.bridge = Bridge(shell, self.service)
        self._show_traceback = None
        self._original_import = None
        self._previous_tracing = None
        self._run: CellRun | None = None

    # -- lifecycle ------------------------------------------------------------------
    def register(self):
        self._original_import = builtins.__import__
        builtins.__import__ = self._import
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self.shell.register_magic_function(self.magic, "line", "gradstudio")
        self.bridge.register()
        if hasattr(self.shell, "_showtraceback"):
            self._show_traceback = self.shell._showtraceback
            self.shell._showtraceback = self._showtraceback_with_hint
        # sympy (in its own process) and torch (in a thread) now, not at the first check
        self.service.warm_up()

    def unregister(self):
        if builtins.__import__ is self._import:
            builtins.__import__ = self._original_import
        for event, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass  # never registered (a failed load)
        self.bridge.unregister()
        if self._show_traceback is not None:
            self.shell._showtraceback = self._show_traceback
            self._show_traceback = None
        self.service.close()

    def _showtraceback_with_hint(self, etype, evalue, stb):
        """IPython's traceback, and GradStudio's hint for it as the last line."""
        from gradstudio.studio.hints import hint_for
        try:
            message = evalue.msg if isinstance(evalue, SyntaxError) else str(evalue)
            hint = hint_for(message, getattr(etype, "__name__", None))
        except Exception:  # a hint is a help, never a second error
            hint = None
        if hint:
            stb = list(stb) + [f"Hint: {hint}"]
        return self._show_traceback(etype, evalue, stb)

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if (level == 0 and globals is not None and globals is self.shell.user_global_ns
                and (name == "torch" or name.startswith("torch."))):
            return _torch_import(name, globals, locals, fromlist, level)
        return self._original_import(name, globals, locals, fromlist, level)

    # -- cells ----------------------------------------------------------------------
    def pre_run_cell(self, info=None):
        # IPython has already counted this cell when it stores history: In [n] is one less
        count = self.shell.execution_count - (1 if getattr(info, "store_history", False) else 0)
        meta = self.bridge.cell_metadata()
        cell = meta.get("cell") if meta else count
        forget = meta.get("forget") if meta else None
        if isinstance(forget, list):    # calls the window dropped (a design's replaced live calls)
            self.session.forget_calls(i for i in forget if type(i) is int)
        self._run = CellRun(cell=cell, execution_count=count)
        self.session._current = self._run
        self._previous_tracing = _grad_state.tracing
        _grad_state.tracing = True
        if self.session not in _api.observers:
            _api.observers.append(self.session)
        self.session._module_calls.__enter__()      # module calls become the Graph's groups

    def post_run_cell(self, result=None):
        self.session._module_calls.__exit__(None, None, None)
        if self.session in _api.observers:
            _api.observers.remove(self.session)
        if self._previous_tracing is not None:
            _grad_state.tracing = self._previous_tracing
        run, self._run = self._run, None
        self.session._current = None
        if run is not None and getattr(result, "execution_count", None) is not None:
            run.execution_count = result.execution_count
        meta = self.bridge.cell_metadata()
        if not self.bridge.connected:   # the window asks for calls by index: it keeps them all
            del self.session.backward_calls[:-KEEP_CALLS]
        if run is not None and meta is not None:     # the window's cell: records on its comm
            self.bridge.cell_finished(run, result, meta)
            return
        if run is None or not run.backward_calls or not self.show:
            return
        for call in run.backward_calls:
            try:
                self._display(call)
            except Exception as error:  # ours, not the user's: one line, and the cell stands
                print(f"GradStudio could not check {call.root_name or 'this'}.backward(): "
                      f"{type(error).__name__}: {error}", file=sys.stderr)

    # -- checking ---------------------------------------------------------------------
    def check(self, call):
        """The three-way check of one recorded call (derivation in the symbolic worker)."""
        from gradstudio.studio import compare, oracle
        formulas, torch_values = {}, {}
        if call.status == "ok" and call.graph is not None and call.leaves:
            leaf_ids = [leaf.vertex for leaf in call.leaves]
            formulas = self.service.derivations.derive(self.worker(), call.graph, call.gradient, leaf_ids,
                                                       self.derive_seconds)
            if oracle.available():
                torch_values = oracle.torch_gradients(call.graph, call.gradient, leaf_ids)
        return compare.check_call(call, formulas, torch_gradients=torch_values)

    def worker(self):
        if self.service.worker is None:
            self.service.start_worker()
        return self.service.worker

    def _display(self, call):
        from IPython.display import display
        from gradstudio.studio.compare import call_to_json
        from gradstudio.studio.figures.html import call_html
        from gradstudio.studio.figures.svg import graph_svg
        check = self.check(call)
        display({"text/html": call_html(check), "text/plain": plain_text(check),
                 CHECK_MIME: strict_json(call_to_json(check))}, raw=True)
        svg = graph_svg(call.graph)
        if svg:
            display({"image/svg+xml": svg, "text/plain": f"<graph of {len(call.graph.nodes)} nodes>"}, raw=True)

    # -- %gradstudio ------------------------------------------------------------------
    def magic(self, line: str = ""):
        word = line.strip().lower()
        if word in ("on", "off"):
            self.show = word == "on"
        elif word:
            print("usage: %gradstudio [on|off]", file=sys.stderr)
            return
        print(f"GradStudio checks are {'shown' if self.show else 'off'} after each backward().")


def plain_text(check) -> str:
    call = check.call
    lines = [f"{call.root_name or 'result'}.backward() ({call.root_grad_fn})"]
    if call.status != "ok":
        lines.append(f"  raised: {call.error_type}: {call.error}")
    for leaf in check.leaves:
        formula = leaf.formula
        text = ""
        if formula is not None and formula.kind != "none":
            text = formula.formula or ""
            if formula.simplified and formula.simplified != text:
                text += f" = {formula.simplified}"
        lines.append(f"  {'✓' if leaf.agree else '✗'} ∂/∂{leaf.name} {tuple(leaf.shape)}  {text}".rstrip())
    return "\n".join(lines)


def strict_json(value):
    """``value`` with every non-finite float replaced by None, so it is valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


_EXTENSIONS: dict = {}


def load_ipython_extension(shell):
    if id(shell) in _EXTENSIONS:
        return
    extension = Extension(shell)
    extension.register()
    _EXTENSIONS[id(shell)] = extension


def unload_ipython_extension(shell):
    extension = _EXTENSIONS.pop(id(shell), None)
    if extension is not None:
        extension.unregister()


__all__ = ["Extension", "load_ipython_extension", "unload_ipython_extension", "CHECK_MIME"]
