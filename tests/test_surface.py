"""Surface sampling: grid orientation, masking, contour levels and lines, arrow field."""

import numpy as np
import pytest

from gdviz.core.loss import compile_loss
from gdviz.core.surface import (
    contour_levels,
    contour_segments,
    gradient_field,
    grid_axes,
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


def _contours_cell_by_cell(grid, levels):
    """Marching squares one cell at a time: the reference for the vectorised version."""
    from gdviz.core.surface import _CASES

    z, xs, ys = grid.z, grid.xs, grid.ys
    out = []
    for level in levels:
        cells = []
        for j in range(z.shape[0] - 1):
            for i in range(z.shape[1] - 1):
                v = [z[j, i], z[j, i + 1], z[j + 1, i + 1], z[j + 1, i]]
                if not all(np.isfinite(v)) or not (min(v) < level <= max(v)):
                    continue
                case = sum(1 << k for k in range(4) if v[k] >= level)

                def t(a, b, level=level):
                    return (level - a) / (b - a) if b != a else 0.5

                x0, x1, y0, y1 = xs[i], xs[i + 1], ys[j], ys[j + 1]
                ex = [x0 + t(v[0], v[1]) * (x1 - x0), x1, x0 + t(v[3], v[2]) * (x1 - x0), x0]
                ey = [y0, y0 + t(v[1], v[2]) * (y1 - y0), y1, y0 + t(v[0], v[3]) * (y1 - y0)]
                cells.append((case, ex, ey))
        for code, pairs in _CASES.items():
            for a, b in pairs:
                for case, ex, ey in cells:
                    if case == code:
                        out.append([[ex[a], ey[a]], [ex[b], ey[b]]])
    return np.array(out).reshape(-1, 2, 2)


@pytest.mark.parametrize(
    "text, domain",
    [
        ("(1-x)^2 + 100(y-x^2)^2", ((-2, 2), (-1, 3))),
        ("log(x) + sin(3y)*x", ((-1, 3), (-2, 2))),  # a masked half
        ("abs(x) + abs(y)", ((-1, 1), (-1, 1))),  # levels through grid points
    ],
)
def test_contour_segments_equal_cell_by_cell_marching_squares(text, domain):
    g = sample_grid(compile_loss(text), domain, 37)
    for levels in (contour_levels(g.z, 9), contour_levels(g.z, 7, log=True), [0.5, 1.0]):
        got = contour_segments(g, levels)
        want = _contours_cell_by_cell(g, levels)
        assert got.shape == want.shape and len(got) > 0
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_range_too_wide_to_sample_is_refused_by_name():
    # Both ends are finite, but the grid's spacing (high − low) overflows to inf.
    with pytest.raises(ValueError, match="y range is too wide"):
        normalize_domain([(-1.0, 1.0), (-1e308, 1e308)])
    with pytest.raises(ValueError, match="too wide"):
        grid_axes([(-1e308, 1e308), (-1.0, 1.0)], 5)
