"""Surface sampling: grid orientation, masking, contour levels and lines, arrow field."""

import numpy as np
import pytest

from gdviz.core.loss import compile_loss
from gdviz.core.surface import (
    contour_levels,
    contour_segments,
    gradient_field,
    normalize_domain,
    sample_curve,
    sample_grid,
)


class Plane:
    """f(x, y) = x + 10 y: tells x from y and rows from columns."""

    dim = 2

    def value(self, p):
        return p[..., 0] + 10 * p[..., 1]

    def grad(self, p):
        return np.broadcast_to(np.array([1.0, 10.0]), p.shape)


def test_grid_is_row_major_with_rows_along_y():
    g = sample_grid(Plane(), ((0, 1), (-2, 2)), (5, 9))
    assert g.z.shape == (9, 5)
    assert g.xs[0] == 0 and g.xs[-1] == 1 and g.ys[0] == -2 and g.ys[-1] == 2
    for j in (0, 4, 8):
        for i in (0, 2, 4):
            assert g.z[j, i] == pytest.approx(g.xs[i] + 10 * g.ys[j])


def test_non_finite_values_are_masked_not_raised():
    loss = compile_loss("log(x) + y")
    g = sample_grid(loss, ((-1, 1), (0, 1)), 41)
    left = g.xs <= 0
    assert np.all(np.isnan(g.z[:, left]))
    assert np.all(np.isfinite(g.z[:, ~left]))
    assert g.masked_fraction == pytest.approx(left.mean())
    lo, hi = g.value_range()
    assert np.isfinite(lo) and np.isfinite(hi)


def test_all_masked_grid_has_no_range_and_no_contours():
    loss = compile_loss("log(-x^2 - 1) + y")
    g = sample_grid(loss, ((-1, 1), (-1, 1)), 11)
    assert g.value_range() is None
    assert contour_levels(g.z, 10).size == 0
    assert contour_segments(g, [0.0]).shape == (0, 2, 2)


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        (((1, 0), (0, 1)), "x range must go from low to high"),
        (((0, 1), (2, 2)), "y range must go from low to high"),
        (((0, float("nan")), (0, 1)), "x range must be finite"),
        (((0, 1),), "needs 2 ranges"),
        ((("a", 1), (0, 1)), "x range must be two numbers"),
    ],
)
def test_bad_domains_name_the_axis(domain, words):
    with pytest.raises(ValueError, match=words):
        normalize_domain(domain, 2)


def test_curve_samples_one_variable():
    loss = compile_loss("x^2")
    c = sample_curve(loss, ((-2, 2),), 101)
    assert c.z.shape == (101,)
    assert c.z[50] == pytest.approx(0.0, abs=1e-12)
    assert c.value_range() == pytest.approx((0.0, 4.0))


def test_linear_levels_are_even_and_inside_the_range():
    z = np.linspace(0, 100, 1001)
    lv = contour_levels(z, 9)
    assert lv.size == 9
    assert np.all(np.diff(lv) > 0)
    assert lv[0] > 0 and lv[-1] < 100
    assert np.allclose(np.diff(lv), np.diff(lv)[0])


def test_log_levels_crowd_towards_the_minimum():
    z = np.linspace(3, 1003, 1001)
    lv = contour_levels(z, 8, log=True)
    gaps = np.diff(lv)
    assert np.all(gaps > 0)
    assert np.all(np.diff(gaps) > 0)  # each gap wider than the one below
    assert lv[0] > 3 and lv[0] - 3 < 1


def test_levels_ignore_nan_and_constant_gives_none():
    z = np.array([np.nan, 1.0, 2.0, np.inf * 0])
    assert np.all(np.isfinite(contour_levels(z, 3)))
    assert contour_levels(np.full(10, 2.0), 5).size == 0


def test_contour_segments_of_a_bowl_are_circles():
    loss = compile_loss("x^2 + y^2")
    g = sample_grid(loss, ((-2, 2), (-2, 2)), 101)
    seg = contour_segments(g, [1.0])
    assert len(seg) > 50
    r = np.hypot(seg[..., 0], seg[..., 1])
    assert np.allclose(r, 1.0, atol=2e-3)
    # The circle is closed: it goes all the way round.
    angles = np.arctan2(seg[:, 0, 1], seg[:, 0, 0])
    assert angles.min() < -3.0 and angles.max() > 3.0


def test_contour_segments_skip_masked_cells():
    loss = compile_loss("log(x) + y^2")
    g = sample_grid(loss, ((-1, 1), (-1, 1)), 41)
    seg = contour_segments(g, contour_levels(g.z, 6))
    assert len(seg) > 0
    assert np.all(seg[..., 0] >= g.xs[g.xs > 0][0] - 1e-12)


def test_gradient_field_points_downhill_and_fits_its_cell():
    loss = compile_loss("(x - 1)^2 + 4y^2")
    pts, d = gradient_field(loss.grad, ((-3, 3), (-1, 1)), 10)
    g = loss.grad(pts)
    assert len(pts) == 100
    assert np.all(np.sum(g * d, axis=1) < 0)
    cell = np.array([0.6, 0.2])
    assert np.allclose(np.hypot(*(d / cell).T), 0.8)


def test_gradient_field_leaves_out_zero_and_nan_gradients():
    loss = compile_loss("sqrt(x) + 0 y")
    pts, _d = gradient_field(loss.grad, ((-1, 1), (-1, 1)), 4)
    assert np.all(pts[:, 0] > 0)
