"""Auditing diffusers models with no hand-written conversion: the adapter's record
equals the audit of the same network converted by hand; train → save_pretrained →
audit runs offline, through Python and through the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("diffusers")

import torch  # noqa: E402
from diffusers_helpers import scheduler, tiny_unet  # noqa: E402

from ddpm_theory.adapters import load_model  # noqa: E402
from ddpm_theory.adapters.diffusers import AdapterError, from_diffusers, from_pretrained  # noqa: E402
from ddpm_theory.adapters.diffusers_export import (  # noqa: E402
    diffusers_unet,
    save_pretrained_folder,
)
from ddpm_theory.audit import elbo_terms  # noqa: E402
from ddpm_theory.backend import Schedule  # noqa: E402
from ddpm_theory.backend.train import train  # noqa: E402
from ddpm_theory.cli import main  # noqa: E402


def _x0(n: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    return torch.randint(0, 17, (n, 1, 8, 8), generator=g).to(torch.float64) / 8.0 - 1.0


def test_adapter_audit_equals_a_hand_conversion():
    net = tiny_unet(seed=5)
    sched = scheduler(num_train_timesteps=40, beta_schedule="scaled_linear", beta_start=1e-3,
                      beta_end=0.1, clip_sample=False, variance_type="fixed_small")
    adapted = from_diffusers(net, sched)
    kw = {"decoder": "discretized", "levels": 17, "bayes": False}
    got = elbo_terms(adapted, _x0(), generator=torch.Generator().manual_seed(0), **kw)

    def by_hand(x_t, t):  # what a user would write: t_d = t − 1, ε-prediction, σ² = β̃
        return net(x_t, t - 1).sample

    sched64 = Schedule.quadratic(40, 1e-3, 0.1)
    ref = elbo_terms(by_hand, _x0(), sched64, parameterization="eps", variance="beta_tilde",
                     generator=torch.Generator().manual_seed(0), **kw)
    assert got.parameterization == "eps" and got.variance == "beta_tilde"
    np.testing.assert_allclose(got.transitions, ref.transitions, rtol=1e-12)
    assert got.total is not None and ref.total is not None
    assert abs(got.total.nats - ref.total.nats) <= 1e-10 * abs(ref.total.nats)


def test_adapter_audit_detects_a_planted_timestep_slip():
    """With t passed unshifted the per-t terms move by far more than their float error."""
    net = tiny_unet(seed=5)
    sched = scheduler(num_train_timesteps=40, clip_sample=False)
    adapted = from_diffusers(net, sched)
    ok = elbo_terms(adapted, _x0(), levels=17, bayes=False,
                    generator=torch.Generator().manual_seed(0))
    adapted.model.timestep_offset = 0
    slipped = elbo_terms(adapted, _x0(), levels=17, bayes=False,
                         generator=torch.Generator().manual_seed(0))
    assert np.max(np.abs(slipped.transitions - ok.transitions)) > 1e-6


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffusers")
    net = diffusers_unet((1, 8, 8), False, seed=0)
    ckpt = train("digits", 3, model=net, schedule=Schedule.linear(30, 1e-3, 0.2),
                 batch_size=16, device="cpu", progress=False, seed=0)
    folder = save_pretrained_folder(ckpt, root / "model")
    return ckpt, folder


def test_train_save_audit_round_trip(trained_folder):
    ckpt, folder = trained_folder
    adapted = from_pretrained(folder)
    assert adapted.dataset is not None and adapted.dataset.name == "digits"
    assert adapted.levels == 17 and adapted.decoder is not None
    assert not adapted.clipping.active
    np.testing.assert_array_equal(adapted.schedule.betas, ckpt.schedule.betas)
    x0 = _x0(4).to(torch.float32)
    a = elbo_terms(adapted, x0, generator=torch.Generator().manual_seed(1))
    b = elbo_terms(ckpt, x0, generator=torch.Generator().manual_seed(1))
    # the same weights, schedule and process; the folder's network runs in float32 as the
    # checkpoint's does: equal up to float64 rounding of the same float32 outputs
    np.testing.assert_allclose(a.transitions, b.transitions, rtol=1e-10)
    assert a.total is not None and b.total is not None
    assert a.total.nats == pytest.approx(b.total.nats, rel=1e-10)
    assert isinstance(load_model(folder), type(adapted))


def test_cli_audits_a_diffusers_folder(trained_folder, tmp_path, capsys):
    _, folder = trained_folder
    out = tmp_path / "audit.json"
    code = main(["audit", str(folder), "--n", "4", "--no-progress", "--json", str(out)])
    assert code in (0, 1), capsys.readouterr().err
    d = json.loads(out.read_text())
    assert d["meta"]["T"] == 30 and len(d["transitions"]) == 29


def test_cli_train_writes_a_diffusers_folder(tmp_path, capsys):
    out = tmp_path / "m"
    args = ["train", "--data", "digits", "--model", "diffusers-unet", "--steps", "2", "--T", "50",
            "--scale-to-T", "--batch-size", "8", "--device", "cpu", "--no-progress", "--out",
            str(out)]
    assert main(args) == 0, capsys.readouterr().err
    assert (out / "unet" / "config.json").is_file()
    assert (out / "scheduler" / "scheduler_config.json").is_file()
    assert main(args) == 2  # never replaced without --force
    assert "exists" in capsys.readouterr().err
    bad = ["train", "--data", "mixture_2d", "--model", "diffusers-unet", "--steps", "1",
           "--out", str(tmp_path / "n"), "--no-progress", "--device", "cpu"]
    assert main(bad) == 2
    assert "square images" in capsys.readouterr().err


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        from_pretrained(tmp_path / "missing")
    (tmp_path / "unet").mkdir()
    with pytest.raises(AdapterError, match="scheduler/"):
        from_pretrained(tmp_path)


@pytest.mark.gpu
def test_adapter_audit_on_cuda_matches_cpu():
    """The same float64 network on CUDA and on the CPU; distributed=True keys the noise to
    CPU generators seeded by (seed, example) (the seed drawn from one CPU generator), so
    both devices see the same ε. float64
    kernels on the two devices differ by rounding only (~1e-15 relative per output)."""
    sched = scheduler(num_train_timesteps=40, clip_sample=True)
    x0 = _x0()
    recs = []
    for dev in ("cpu", "cuda"):
        adapted = from_diffusers(tiny_unet(seed=5), sched)
        recs.append(elbo_terms(adapted, x0, levels=17, bayes=False, device=dev,
                               generator=torch.Generator().manual_seed(0), distributed=True))
    np.testing.assert_allclose(recs[1].transitions, recs[0].transitions, rtol=1e-9)


@pytest.mark.parametrize("make", [
    lambda: Schedule.linear(100, 1e-3, 0.05),
    lambda: Schedule.quadratic(100, 1e-3, 0.05),
    lambda: Schedule.cosine(100),
    lambda: Schedule.sigmoid(100),
    lambda: Schedule.linear(100, scale_to_T=True),
])
def test_exported_scheduler_config_rebuilds_the_schedule(make):
    from ddpm_theory.adapters.diffusers_export import scheduler_config
    from ddpm_theory.adapters.diffusers_schedule import schedule_from_config
    from ddpm_theory.backend.enums import Parameterization, VarianceType

    s = make()
    cfg = scheduler_config(s, Parameterization.V, VarianceType.BETA_TILDE)
    assert cfg["prediction_type"] == "v_prediction" and cfg["variance_type"] == "fixed_small"
    np.testing.assert_array_equal(schedule_from_config(cfg).betas, s.betas)


def test_export_refuses_what_diffusers_cannot_express():
    from ddpm_theory.adapters.diffusers_export import scheduler_config
    from ddpm_theory.backend.enums import Parameterization, VarianceType

    s = Schedule.linear(10)
    with pytest.raises(AdapterError, match="parameterization 'mean'"):
        scheduler_config(s, Parameterization.MEAN, VarianceType.BETA)
    with pytest.raises(AdapterError, match="variance 'learned'"):
        scheduler_config(s, Parameterization.EPS, VarianceType.LEARNED)


def test_cli_foreign_folder_needs_data(trained_folder, tmp_path, capsys):
    """A folder written elsewhere carries no data law: the CLI asks for --data, then audits."""
    import shutil

    _, folder = trained_folder
    foreign = tmp_path / "foreign"
    shutil.copytree(folder, foreign)
    (foreign / "ddpm_theory.json").unlink()
    assert main(["audit", str(foreign), "--n", "2", "--no-progress"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["audit", str(foreign), "--n", "2", "--no-progress", "--data", "digits",
                 "--max-rows", "0"]) in (0, 1)
    assert "ELBO audit: T = 30" in capsys.readouterr().out
