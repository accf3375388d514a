"""Fuzzed project and recovery files through project.load: each loads (and then saves
and reloads to the same thing) or is a ProjectError with a short message — never another
exception."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from fuzz_projects import mutated_files  # noqa: E402

from gradstudio.studio import project as P  # noqa: E402

FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _judge(call):
    try:
        return call()
    except P.ProjectError as error:
        message = str(error)
        assert message and len(message) < 600, message[:1000]
        return None


@FUZZ
@given(text=mutated_files())
def test_fuzzed_projects_load_or_say_why(tmp_path, text):
    path = tmp_path / "fuzz.gradstudio"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    loaded = _judge(lambda: P.load(str(path)))
    if loaded is None:
        return
    out = tmp_path / "again.gradstudio"
    out.unlink(missing_ok=True)     # (hypothesis runs every example in the one tmp_path)
    if _judge(lambda: P.save(loaded, str(out))) is None and out.exists():
        # what was saved opens again, the same
        assert P.load(str(out)) == loaded
        assert "NaN" not in out.read_text() and "Infinity" not in out.read_text()
    # the view holds only checked values: each known section passes the saving check too
    for name in P.VIEW_SECTIONS:
        if name in loaded.view:
            assert P.clean_view_section(name, loaded.view[name]) == loaded.view[name]


@FUZZ
@given(text=mutated_files())
def test_fuzzed_recovery_files_are_judged_one_by_one(tmp_path, text):
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    good = directory / "recovery-1-good.gradstudio"
    P.write_recovery(str(good), P.Project(script="good"), None)
    (directory / "recovery-2-fuzz.gradstudio").write_text(text, encoding="utf-8", errors="surrogatepass")
    scan = P.scan_recoveries(str(directory), include_live=True)
    assert "good" in [r.project.script for r in scan.found]
    assert len(scan.found) + len(scan.damaged) == 2
    for recovery in scan.found:
        assert recovery.pid is None or 1 <= recovery.pid < 2 ** 31
        assert 0 <= recovery.saved_at <= P.SAVED_AT_RANGE[1]
