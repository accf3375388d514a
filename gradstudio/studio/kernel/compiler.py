"""The name under which the app's kernel compiles each cell: a C hash of its code.

ipykernel names a cell's code object (and its ``linecache`` entry, which tracebacks read)
after a murmur2 hash of the cell's text, computed in pure Python for its debugger's sake —
~1.6 ms for a 100-node design's 9.6 KB script, on every edit. :class:`CellCompiler` names it
after a BLAKE2 digest instead: one name per distinct text as before, so IPython still maps
each name to its ``In [n]``. Only the app's kernel uses it (:class:`Kernel`, which
:mod:`~gradstudio.studio.kernel.launch` starts); a Jupyter front end's debugger, which
recomputes murmur2 names, is not one of its clients.
"""
from __future__ import annotations

import hashlib
import os

from ipykernel.compiler import XCachingCompiler, get_tmp_directory
from ipykernel.ipkernel import IPythonKernel
from traitlets import Type


class CellCompiler(XCachingCompiler):
    """ipykernel's compiler with the cell's file name from :func:`cell_file_name`."""

    def get_code_name(self, raw_code, code, number):
        return cell_file_name(raw_code)


def cell_file_name(code: str) -> str:
    """``<ipykernel's folder>/<digest of code>.py`` (``IPYKERNEL_CELL_NAME`` wins, as in ipykernel)."""
    fixed = os.environ.get("IPYKERNEL_CELL_NAME")
    if fixed is not None:
        return fixed
    digest = hashlib.blake2b(code.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()
    return os.path.join(get_tmp_directory(), digest + ".py")


class Kernel(IPythonKernel):
    """ipykernel's IPython kernel, its shell compiling with :class:`CellCompiler`."""

    compiler_class = Type(CellCompiler)
