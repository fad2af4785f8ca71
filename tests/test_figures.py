"""Figures: values from the compiled API agree with independent closed forms, and the
rendered PDF/PNG files are byte-for-byte deterministic with no timestamps."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from modelavg_sym.artifacts import figures


def test_mse_curves_data_matches_reference():
    s_l, s_g, c = figures.BASE
    w, rows = figures.mse_curves_data()
    for b, y, a_star, m_star in rows:
        ref = (1 - w) ** 2 * s_l + w**2 * (s_g + b**2) + 2 * w * (1 - w) * c
        np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-15)
        assert a_star == pytest.approx((s_l - c) / (s_l + s_g - 2 * c + b**2), rel=1e-14)
        assert m_star == pytest.approx(y.min(), abs=1e-4) and m_star <= y.min() + 1e-15


def test_benefit_ratio_has_the_shape_r_2_minus_r():
    ratio, rows = figures.benefit_ratio_data()
    assert any(a_star < 0 for _p, a_star, _y in rows)  # includes a negative optimum
    for _params, _a, y in rows:
        np.testing.assert_allclose(y, ratio * (2 - ratio), rtol=1e-12, atol=1e-12)


def test_optimal_weight_map_matches_reference():
    xx, yy, z = figures.optimal_weight_map_data()
    np.testing.assert_allclose(z, 1.0 / (1.0 + yy + xx), rtol=1e-14)


@pytest.mark.parametrize("fig", figures.FIGURES, ids=lambda f: f.name)
def test_render_is_deterministic_and_undated(fig):
    pdf1, pdf2 = figures.render(fig, "pdf"), figures.render(fig, "pdf")
    png1, png2 = figures.render(fig, "png"), figures.render(fig, "png")
    assert pdf1 == pdf2 and png1 == png2
    assert pdf1.startswith(b"%PDF") and png1.startswith(b"\x89PNG\r\n\x1a\n")
    for key in (b"/CreationDate", b"/ModDate", b"/Producer", b"/Creator"):
        assert key not in pdf1
    assert b"tIME" not in png1 and b"Software" not in png1


def test_render_rejects_unknown_format():
    with pytest.raises(ValueError, match="fmt"):
        figures.render(figures.FIGURES[0], "gif")


@pytest.mark.skipif(not figures.simulation_available(), reason="modelavg_sym.simulate missing")
def test_montecarlo_figure_agrees():
    _res, cmp, dense, pred = figures.montecarlo_data()
    assert cmp.all_agree, cmp.worst()
    assert np.all(np.diff(dense) > 0) and pred.shape == dense.shape
