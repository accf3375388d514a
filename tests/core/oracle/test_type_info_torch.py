"""torch.finfo / torch.iinfo against torch 2.13: printouts, every field's value and
type, equality, and the errors of a wrong dtype, a string, a write, a hash."""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(lib) -> list[str]:
    lines = [repr(lib.finfo(d)) for d in (lib.float32, lib.float64, lib.float16)] + [repr(lib.finfo())]
    lines += [repr(lib.iinfo(d)) for d in (lib.int64, lib.int32, lib.int16, lib.int8, lib.uint8)]
    f, i = lib.finfo(lib.float32), lib.iinfo(lib.int32)
    fields = (f.eps, f.max, f.min, f.tiny, f.resolution, f.bits, f.dtype, f.smallest_normal,
              i.bits, i.max, i.min, i.dtype, lib.finfo(lib.float64).resolution)
    lines += [repr(fields), repr([type(v).__name__ for v in fields])]
    lines += [str(f == lib.finfo(lib.float32)), str(f == lib.finfo(lib.float64))]
    for call in (lambda: lib.finfo(lib.int64), lambda: lib.finfo(lib.bool), lambda: lib.iinfo(lib.float32),
                 lambda: lib.iinfo(lib.bool), lambda: lib.finfo("float32"),
                 lambda: setattr(f, "eps", 1), lambda: hash(f)):
        try:
            call()
            lines.append("no error")
        except Exception as error:  # noqa: BLE001 — the transcript records whatever is raised
            lines.append(f"{type(error).__name__}: {error}")
    return lines


def test_finfo_and_iinfo_print_and_behave_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)


def test_finfo_follows_the_default_dtype(torch):
    previous = gradstudio.get_default_dtype()
    gradstudio.set_default_dtype(gradstudio.float64)
    try:
        assert gradstudio.finfo().dtype == "float64"
    finally:
        gradstudio.set_default_dtype(previous)
