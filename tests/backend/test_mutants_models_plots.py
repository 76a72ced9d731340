"""The pictures: what each figure plots (read back from its artists: lines, scatter offsets,
histogram bars, images, labels), its size and text, and the files written. Written against
the survivors of mutation testing (mutation/run.py); each docstring names the planted errors
it catches."""

from __future__ import annotations

import importlib
import struct

import numpy as np
import pytest
import torch
from matplotlib.layout_engine import ConstrainedLayoutEngine

from ddpm_theory.backend import GaussianDiffusion, Schedule, get_dataset, sample
from ddpm_theory.backend.checkpoint import Checkpoint
from ddpm_theory.backend.models import MLPDenoiser
from ddpm_theory.backend.plots import (
    FRACTIONS,
    _draw,
    _forward_states,
    default_schedules,
    forward_reverse_states,
    plot_forward_reverse,
    plot_forward_schedules,
    plot_samples,
)

pl = importlib.import_module("ddpm_theory.backend.plots")
T = 10


@pytest.fixture
def figs(monkeypatch):
    """Every figure handed to the PNG writer, in order (the real writer still runs)."""
    seen = []
    real = pl.FigureCanvasAgg

    def canvas(fig):
        seen.append(fig)
        return real(fig)

    monkeypatch.setattr(pl, "FigureCanvasAgg", canvas)
    return seen


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _ckpt(seed: int = 0) -> Checkpoint:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLPDenoiser(2, hidden=4, depth=1, time_dim=4)
    ds = get_dataset("mixture_2d")
    return Checkpoint(model, GaussianDiffusion(Schedule.linear(T)), ds,
                      {"event_shape": [2]}, torch.zeros(0))


def _offsets(ax, i: int = -1) -> np.ndarray:
    return np.asarray(ax.collections[i].get_offsets())


# -- forward states and schedules ---------------------------------------------------------
def test_forward_states_are_eq_4_at_the_rounded_times() -> None:
    """Planted: t = round(f T) -> f / T; the t = 0 state not x_0; alpha_bar indexed at t - 2;
    either sign or factor of x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps (Ho et al. 2020,
    Eq. 4) changed."""
    s = Schedule.linear(T)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(5, 2, generator=g, dtype=torch.float64) + 3.0
    eps = torch.randn(5, 2, generator=g, dtype=torch.float64)
    ab = np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))
    got = _forward_states(s, x0, eps, (0.0, 0.14, 0.5, 1.0))
    assert got[0] is x0
    for state, t in zip(got[1:], (1, 5, 10), strict=True):
        want = np.sqrt(ab[t - 1]) * x0.numpy() + np.sqrt(1.0 - ab[t - 1]) * eps.numpy()
        np.testing.assert_allclose(np.asarray(state), want, rtol=1e-12)


def test_default_schedules_are_the_four_named_ones() -> None:
    """Planted: a name changed, T not passed on, scale_to_T dropped from the linear or
    quadratic schedule, another default T."""
    d = default_schedules(50)
    assert list(d) == ["linear", "quadratic", "cosine", "sigmoid"]
    assert [s.name for s in d.values()] == list(d) and all(s.T == 50 for s in d.values())
    np.testing.assert_allclose(d["linear"].betas, np.linspace(2e-3, 0.4, 50), rtol=1e-12)
    np.testing.assert_allclose(d["quadratic"].betas,
                               np.linspace(np.sqrt(2e-3), np.sqrt(0.4), 50) ** 2, rtol=1e-12)
    np.testing.assert_array_equal(d["cosine"].betas, Schedule.cosine(50).betas)
    np.testing.assert_array_equal(d["sigmoid"].betas, Schedule.sigmoid(50).betas)
    assert all(s.T == 1000 for s in default_schedules().values())


def test_plot_forward_schedules_draws_the_curves_and_the_states(tmp_path, figs) -> None:
    """Planted: the alpha_bar or log SNR curves of other data or without labels; the states
    not x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps of one x_0 and eps (another seed, dtype or
    count); the panel limits, titles, row names, grid or figure size changed; the given
    schedules ignored; force not passed on."""
    scheds = {"linear": Schedule.linear(T), "cosine": Schedule.cosine(T)}
    out = tmp_path / "f.png"
    fr = (0.0, 0.5, 1.0)
    assert plot_forward_schedules(out, schedules=scheds, data="mixture_2d", fractions=fr,
                                  n=30) == out
    fig = figs[-1]
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    np.testing.assert_allclose(fig.get_size_inches(), (3.2 + 1.6 * 3, 3.2))
    assert _png_size(out) == (800, 320)
    ax_ab, ax_snr, *panels = fig.axes
    assert len(panels) == 6
    assert ax_ab.get_ylabel() == "alpha_bar_t" and ax_snr.get_ylabel() == "log SNR(t)"
    assert ax_snr.get_xlabel() == "t / T"
    assert [t.get_text() for t in ax_ab.get_legend().get_texts()] == ["linear", "cosine"]
    assert ax_ab.get_legend().get_texts()[0].get_fontsize() == 7
    u = np.arange(1, T + 1) / T
    for line_ab, line_snr, s in zip(ax_ab.lines, ax_snr.lines, scheds.values(), strict=True):
        np.testing.assert_array_equal(line_ab.get_xdata(), u)
        np.testing.assert_array_equal(line_ab.get_ydata(), s.alpha_bar)
        np.testing.assert_array_equal(line_snr.get_xdata(), u)
        np.testing.assert_array_equal(line_snr.get_ydata(), s.log_snr)
    assert [ln.get_label() for ln in ax_snr.lines] == ["linear", "cosine"]
    g = torch.Generator().manual_seed(0)
    x0 = get_dataset("mixture_2d").sample(30, g, dtype=torch.float64).numpy()
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64).numpy()
    lim = np.abs(x0).max() + 3.0
    for r, s in enumerate(scheds.values()):
        for c, (f, t) in enumerate(zip(fr, (0, 5, 10), strict=True)):
            ax = panels[3 * r + c]
            ab = 1.0 if t == 0 else s.alpha_bar[t - 1]
            want = np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps
            np.testing.assert_allclose(_offsets(ax), want, rtol=1e-12, atol=1e-12)
            assert ax.get_xlim() == pytest.approx((-lim, lim))
            assert ax.get_title() == (f"t = {f:g} T" if r == 0 else "")
            assert ax.get_ylabel() == (list(scheds)[r] if c == 0 else "")
            if r == 0:
                assert ax.title.get_fontsize() == 8
            if c == 0:
                assert ax.yaxis.label.get_fontsize() == 8
    with pytest.raises(FileExistsError):
        plot_forward_schedules(out, schedules=scheds, data="mixture_2d", fractions=fr, n=30)
    plot_forward_schedules(out, schedules=scheds, data="mixture_2d", fractions=fr, n=30,
                           force=True)


def _images(n: int = 5, seed: int = 0) -> torch.Tensor:
    """n 8x8 one-channel images on the 3-level grid {-1, 0, 1}."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-1, 2, (n, 1, 8, 8), generator=g).double()


def test_plot_forward_schedules_defaults(tmp_path, figs, monkeypatch) -> None:
    """Planted: the default data (one digit image), the default schedules, n (one image,
    2000 points of vector data) or seed changed; a single schedule's lone curve panel.
    The digits are replaced by a small image set of the same shape (loading them takes
    seconds); the name asked for is recorded."""
    monkeypatch.setattr(pl, "default_schedules", lambda: {"cosine": Schedule.cosine(T)})
    asked = []
    small = get_dataset("points", points=_images(), levels=3)

    def fake(name):
        asked.append(name)
        return small if name == "digits" else get_dataset(name)

    monkeypatch.setattr(pl, "get_dataset", fake)
    plot_forward_schedules(tmp_path / "a.png", fractions=(0.0, 1.0))
    assert asked == ["digits"]
    fig = figs[-1]
    assert len(fig.axes) == 3  # one schedule: the alpha_bar curve and two panels
    ax_ab, panel, last = fig.axes
    assert [ln.get_label() for ln in ax_ab.lines] == ["cosine"]
    assert ax_ab.get_xlabel() == ""
    np.testing.assert_allclose(fig.get_size_inches(), (3.2 + 1.6 * 2, 3.0))
    g = torch.Generator().manual_seed(0)
    x0 = small.sample(1, g, dtype=torch.float64)
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    np.testing.assert_array_equal(panel.images[0].get_array(), x0[0, 0].numpy())
    ab = Schedule.cosine(T).alpha_bar[-1]
    np.testing.assert_allclose(last.images[0].get_array(),
                               (np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps)[0, 0].numpy(),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(FileNotFoundError, match="output folder"):
        plot_forward_schedules(tmp_path / "nope" / "x.png")
    plot_forward_schedules(tmp_path / "b.png", data=get_dataset("mixture_1d"),
                           fractions=(0.0,), seed=4)
    x0 = get_dataset("mixture_1d").sample(2000, torch.Generator().manual_seed(4),
                                          dtype=torch.float64)[:, 0].numpy()
    lim = np.abs(x0).max() + 3.0
    heights = [p.get_height() for p in figs[-1].axes[1].patches]
    want, _ = np.histogram(x0, bins=np.linspace(-lim, lim, 60), density=True)
    np.testing.assert_allclose(heights, want, rtol=1e-12)


# -- one panel ----------------------------------------------------------------------------
def test_draw_an_image_a_scatter_and_a_histogram() -> None:
    """Planted: the image of another example or channel, colour map or range; the ticks
    left on; the histogram's bins (range, count, default 4), density, colours or order;
    the reference drawn over the samples or not at all; the limits not set."""
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 4)
    img = torch.linspace(-0.5, 0.5, 2 * 2 * 9).reshape(2, 2, 3, 3)  # the range is fixed
    _draw(axes[0], img)
    im = axes[0].images[0]
    np.testing.assert_array_equal(im.get_array(), img[0, 0].numpy())
    assert im.get_clim() == (-1, 1) and im.get_cmap().name == "gray"
    assert list(axes[0].get_xticks()) == [] and list(axes[0].get_yticks()) == []
    g = torch.Generator().manual_seed(1)
    x, ref = torch.randn(200, 1, generator=g), 2 + torch.randn(300, 1, generator=g)
    _draw(axes[1], x, ref=ref)
    bars = axes[1].patches
    assert len(bars) == 2 * 59
    bins = np.linspace(-4.0, 4.0, 60)
    want_ref, _ = np.histogram(ref[:, 0].numpy(), bins=bins, density=True)
    want_x, _ = np.histogram(x[:, 0].double().numpy(), bins=bins, density=True)
    np.testing.assert_allclose([b.get_height() for b in bars[:59]], want_ref, rtol=1e-6)
    np.testing.assert_allclose([b.get_height() for b in bars[59:]], want_x, rtol=1e-12)
    assert bars[0].get_x() == pytest.approx(-4.0) and bars[58].get_x() == pytest.approx(
        4.0 - 8.0 / 59)
    assert bars[0].get_alpha() == 0.4 and bars[59].get_alpha() == 0.7
    assert bars[0].get_facecolor()[:3] == pytest.approx((0.5020, 0.5020, 0.5020), abs=1e-3)
    assert bars[59].get_facecolor()[:3] == pytest.approx((0.1216, 0.4667, 0.7059), abs=1e-3)
    _draw(axes[2], x, lim=2.0)
    assert axes[2].patches[0].get_x() == pytest.approx(-2.0)
    assert axes[2].patches[-1].get_x() == pytest.approx(2.0 - 4.0 / 59)
    p2, r2 = torch.randn(50, 2, generator=g), torch.randn(60, 3, generator=g) * 10
    _draw(axes[3], p2, ref=r2)
    ref_pts, pts = axes[3].collections
    np.testing.assert_array_equal(np.asarray(ref_pts.get_offsets()), r2[:, :2].numpy())
    np.testing.assert_allclose(np.asarray(pts.get_offsets()), p2.double().numpy())
    assert ref_pts.get_alpha() == 0.3 and pts.get_alpha() == 0.6
    assert ref_pts.get_sizes()[0] == 2 and pts.get_sizes()[0] == 2
    assert ref_pts.get_facecolor()[0][:3] == pytest.approx((0.5020,) * 3, abs=1e-3)
    assert pts.get_facecolor()[0][:3] == pytest.approx((0.1216, 0.4667, 0.7059), abs=1e-3)
    assert axes[3].get_xlim()[1] > 10  # no limit given: the reference is in view
    assert list(axes[3].get_xticks()) == [] and list(axes[1].get_yticks()) == []


# -- forward and reverse ------------------------------------------------------------------
def test_forward_reverse_states_come_from_one_generator() -> None:
    """Planted: the data, forward noise or sampler drawn from another stream or seed; the
    t = 0 state not the data; the forward states not q_sample at t."""
    ck = _ckpt()
    fwd, rev, data = forward_reverse_states(ck, [0, 3, 10], 40, 7)
    g = torch.Generator().manual_seed(7)
    want_data = ck.dataset.sample(40, g)
    assert torch.equal(data, want_data) and fwd[0] is data
    ab = np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))
    for state, t in zip(fwd[1:], (3, 10), strict=True):
        eps = torch.randn(data.shape, generator=g)
        want = np.sqrt(ab[t - 1]) * want_data.double() + np.sqrt(1 - ab[t - 1]) * eps.double()
        np.testing.assert_allclose(state.double().numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    traj = sample(ck, 40, generator=g, return_trajectory=True)
    for state, t in zip(rev, (0, 3, 10), strict=True):
        assert torch.equal(state, traj.at(t))
    nodata = Checkpoint(ck.model, ck.diffusion, None, ck.config, ck.loss_history)
    with pytest.raises(ValueError, match=r"^the checkpoint's dataset cannot be rebuilt; no "
                                         r"forward states to draw\.$"):
        forward_reverse_states(nodata, [0], 4, 0)


def test_plot_forward_reverse_panels(tmp_path, figs) -> None:
    """Planted: the default times (round(f T) for the fractions, sorted, unique) changed;
    forward and reverse rows swapped or of other states; titles, row names, limits, figure
    size; the seed or n not passed on; force not passed on."""
    ck = _ckpt()
    out = tmp_path / "fr.png"
    plot_forward_reverse(out, ck, n=30, seed=2)
    fig = figs[-1]
    times = sorted({round(f * T) for f in FRACTIONS})
    assert times == [0, 1, 2, 5, 8, 10]
    fwd, rev, data = forward_reverse_states(ck, times, 30, 2)
    assert len(fig.axes) == 12
    top, bottom = fig.axes[:6], fig.axes[6:]
    lim = float(data.abs().max()) + 2.0
    for c, t in enumerate(times):
        np.testing.assert_allclose(_offsets(top[c]), fwd[c].double().numpy())
        np.testing.assert_allclose(_offsets(bottom[c]), rev[c].double().numpy())
        assert top[c].get_title() == f"t = {t}" and top[c].title.get_fontsize() == 8
        assert top[c].get_xlim() == pytest.approx((-lim, lim))
        assert bottom[c].get_ylim() == pytest.approx((-lim, lim))
    assert top[0].get_ylabel() == "forward q" and bottom[0].get_ylabel() == "reverse p_theta"
    assert top[0].yaxis.label.get_fontsize() == 8 == bottom[0].yaxis.label.get_fontsize()
    np.testing.assert_allclose(fig.get_size_inches(), (1.9 * 6, 4.0))
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    with pytest.raises(FileExistsError):
        plot_forward_reverse(out, ck, n=30)
    plot_forward_reverse(out, ck, times=[4, 0], n=5, force=True)
    fig = figs[-1]
    assert [ax.get_title() for ax in fig.axes[:2]] == ["t = 4", "t = 0"]
    fwd, _, _ = forward_reverse_states(ck, [4, 0], 5, 0)
    np.testing.assert_allclose(_offsets(fig.axes[0]), fwd[0].double().numpy())


# -- samples ------------------------------------------------------------------------------
def test_plot_samples_of_vectors(tmp_path, figs) -> None:
    """Planted: the data reference missing, of another count or seed; the limits
    max|x| + 0.5 changed; the title's words or counts; the figure size or layout; force
    not passed on."""
    x = torch.randn(25, 2, generator=torch.Generator().manual_seed(0)) * 2
    ds = get_dataset("mixture_2d")
    out = tmp_path / "s.png"
    plot_samples(out, x, data=ds)
    fig = figs[-1]
    (ax,) = fig.axes
    ref = ds.sample(25, torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(_offsets(ax, 0), ref.numpy())
    np.testing.assert_allclose(_offsets(ax, 1), x.double().numpy())
    lim = float(x.abs().max()) + 0.5
    assert ax.get_xlim() == pytest.approx((-lim, lim))
    assert ax.get_title() == "all 25 samples (blue) vs 25 draws from the data (grey)"
    assert ax.title.get_fontsize() == 9
    np.testing.assert_allclose(fig.get_size_inches(), (4.5, 4.5))
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    assert _png_size(out) == (450, 450)
    plot_samples(out, x, data=ds, seed=3, force=True)
    np.testing.assert_array_equal(_offsets(figs[-1].axes[0], 0),
                                  ds.sample(25, torch.Generator().manual_seed(3)).numpy())
    plot_samples(tmp_path / "alone.png", x[:7])
    (ax,) = figs[-1].axes
    assert len(ax.collections) == 1 and ax.get_title() == "all 7 samples (blue)"


def test_plot_samples_of_images(tmp_path, figs) -> None:
    """Planted: more or fewer than min(16, n) images, an image of another example, the
    data row missing or of other draws, the row names, the suptitle's words and counts,
    the figure size (0.8 inch per image; 1.8 or 3.4 high) or layout."""
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(20, 1, 8, 8, generator=g) * 2 - 1
    ds = get_dataset("points", points=_images(30, seed=1), levels=3)
    out = tmp_path / "i.png"
    plot_samples(out, imgs, data=ds, seed=1)
    fig = figs[-1]
    assert len(fig.axes) == 32
    ref = ds.sample(20, torch.Generator().manual_seed(1))
    for i in range(16):
        np.testing.assert_allclose(fig.axes[i].images[0].get_array(), imgs[i, 0].double())
        np.testing.assert_allclose(fig.axes[16 + i].images[0].get_array(), ref[i, 0].double())
    assert fig.axes[0].get_ylabel() == "samples" and fig.axes[16].get_ylabel() == "data"
    assert fig.axes[0].yaxis.label.get_fontsize() == 8
    assert fig.axes[16].yaxis.label.get_fontsize() == 8
    assert fig.axes[1].get_ylabel() == "" and fig.axes[17].get_ylabel() == ""
    assert fig.get_suptitle() == "16 of 20 samples shown; below, 16 draws from the data"
    assert fig._suptitle.get_fontsize() == 9
    np.testing.assert_allclose(fig.get_size_inches(), (16 * 0.8, 3.4))
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    with pytest.raises(FileExistsError):
        plot_samples(out, imgs)
    plot_samples(out, imgs[:3], force=True)
    fig = figs[-1]
    assert len(fig.axes) == 3 and fig.get_suptitle() == "3 of 3 samples shown"
    np.testing.assert_allclose(fig.get_size_inches(), (3 * 0.8, 1.8))
    assert _png_size(out) == (240, 180)
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), imgs[2, 0].double())


def test_a_png_at_100_dpi_whatever_the_user_settings(tmp_path) -> None:
    """Planted: the format or dpi not given to savefig (matplotlib then takes the user's
    rcParams: another format or resolution)."""
    import matplotlib

    x = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    with matplotlib.rc_context({"savefig.format": "svg", "savefig.dpi": 50, "figure.dpi": 72}):
        out = plot_samples(tmp_path / "s.png", x)
    assert _png_size(out) == (450, 450)


def test_the_grid_of_the_forward_schedules_figure(tmp_path, figs) -> None:
    """Planted: the grid of rows x (columns + 2) changed; the alpha_bar curve not on the
    upper half of the first two columns (rows // 2, at least one) or the log SNR curve not
    on the lower half; a state panel in another cell."""
    scheds = {k: Schedule.linear(T) for k in "abcd"}
    plot_forward_schedules(tmp_path / "g.png", schedules=scheds, data="mixture_2d",
                           fractions=(0.0, 0.5, 1.0), n=5)
    ax_ab, ax_snr, *panels = figs[-1].axes
    assert ax_ab.get_subplotspec().get_gridspec().get_geometry() == (4, 5)
    spans = [(ax.get_subplotspec().rowspan, ax.get_subplotspec().colspan)
             for ax in (ax_ab, ax_snr)]
    assert spans == [(range(0, 2), range(0, 2)), (range(2, 4), range(0, 2))]
    cells = [(ax.get_subplotspec().rowspan, ax.get_subplotspec().colspan) for ax in panels]
    assert cells == [(range(r, r + 1), range(c, c + 1)) for r in range(4) for c in (2, 3, 4)]
    plot_forward_schedules(tmp_path / "h.png", schedules=dict(list(scheds.items())[:2]),
                           data="mixture_2d", fractions=(0.0,), n=5)
    ax_ab, ax_snr, *_ = figs[-1].axes
    assert ax_ab.get_subplotspec().rowspan == range(0, 1)
    assert ax_snr.get_subplotspec().rowspan == range(1, 2)


def test_plot_forward_reverse_defaults_and_one_column(tmp_path, figs) -> None:
    """Planted: the default n (1000 examples) changed; a single time not kept as a 2 x 1
    grid (squeeze)."""
    ck = _ckpt()
    plot_forward_reverse(tmp_path / "a.png", ck, times=[3])
    top, bottom = figs[-1].axes
    assert len(_offsets(top)) == 1000 and len(_offsets(bottom)) == 1000
    assert top.get_title() == "t = 3"
