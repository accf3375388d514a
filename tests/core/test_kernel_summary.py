"""A tensor summary for the window costs bounded extra memory (issue 8)."""
import tracemalloc

import numpy as np
import pytest

from gradstudio.studio.kernel import records


def _peak_extra(function, *args):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = function(*args)
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_summary_of_a_200_mb_tensor_needs_under_a_tenth_of_it_extra(dtype):
    a = np.ones(200_000_000 // np.dtype(dtype).itemsize, dtype=dtype)
    a[::1000] = -2.0
    a[7] = np.nan
    result, extra = _peak_extra(records.summary, a)
    assert extra < 0.1 * a.nbytes, f"{extra / 1e6:.0f} MB extra for a {a.nbytes / 1e6:.0f} MB tensor"
    assert result.min == -2.0 and result.max == 1.0
    expected = a[np.isfinite(a)].astype(np.float64)
    assert result.mean == pytest.approx(expected.mean(), rel=1e-9)
    assert result.norm == pytest.approx(float(np.sqrt(np.dot(expected, expected))), rel=1e-9)


def test_chunked_statistics_agree_with_numpy_on_odd_layouts():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 700)).astype(np.float32)
    base[3, 5], base[100, 1] = np.inf, np.nan
    for a in (base, base.T, base[::3, ::-2], base.astype(np.int16), base > 0):
        result = records.summary(a)
        f = np.asarray(a, dtype=np.float64)
        f = f[np.isfinite(f)]
        assert result.size == a.size and result.shape == a.shape
        assert (result.min, result.max) == (f.min(), f.max())
        assert result.mean == pytest.approx(f.mean(), rel=1e-9)
        assert result.norm == pytest.approx(np.sqrt(np.sum(f * f)), rel=1e-9)


def test_an_all_nan_tensor_has_no_statistics():
    result = records.summary(np.full(10_000, np.nan))
    assert result.size == 10_000 and result.min is None and result.norm is None


def test_a_gradient_too_large_to_send_comes_with_a_bounded_heatmap_sample():
    g = np.arange(3 * 1000 * 700, dtype=np.float32).reshape(3, 1000, 700)
    sample, extra = _peak_extra(records.heatmap_sample, g)
    assert sample.shape == (3000, 700) and sample.step == (12, 3)
    np.testing.assert_array_equal(sample.array, g.reshape(3000, 700)[::12, ::3])
    assert sample.array.shape[0] <= records.HEATMAP_SAMPLE and sample.array.shape[1] <= records.HEATMAP_SAMPLE
    assert extra < 0.05 * g.nbytes
    assert records.heatmap_sample(np.ones(10)) is None                    # small: sent whole
    assert records.heatmap_sample(np.ones((60, 100, 100)).transpose(2, 1, 0)) is None   # a whole copy
    line = records.heatmap_sample(np.ones(300_000))
    assert line.shape == (1, 300_000) and line.array.shape == (1, 256)
