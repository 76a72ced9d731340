"""Homework 4.1: the mean-prediction loss against the noise-prediction loss, in one run.

Same model class (the default MLP, same initial weights), same data (``mixture_2d``),
same batches, timesteps and noise, same optimiser; only the objective differs:

* mean:  the network outputs mu_theta(x_t, t) and is trained on
  ||mu_tilde_t(x_t, x_0) - mu_theta||^2 (Ho et al. 2020, Eq. 8 without its weight);
* noise: the network outputs eps_theta(x_t, t) and is trained on ||eps - eps_theta||^2
  (L_simple, Ho et al. 2020, Eq. 14).

Printed: the cost of one training step of each, and after a fixed number of steps the
held-out eps-MSE (both predictions converted to eps), the held-out mean-MSE, and a
Monte-Carlo estimate of the variational bound L_vlb in nats per dimension (t uniform,
one fresh x_t per example; with its standard error), all on the same held-out draws.

    python benchmarks/bench_losses.py [--steps 1500] [--batch 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import math
import os
import time


def run(param: str, loss: str, steps: int, batch: int, T: int):
    import torch

    from ddpm_theory.backend import GaussianDiffusion, MLPDenoiser, Schedule, get_dataset
    from ddpm_theory.backend.losses import training_losses

    data = get_dataset("mixture_2d")
    diffusion = GaussianDiffusion(Schedule.linear(T), param, "beta")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = MLPDenoiser(2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)  # identical draws for both objectives
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        x0 = data.sample(batch, g)
        t = torch.randint(1, T + 1, (batch,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        value = training_losses(diffusion, model, x0, t, noise, loss=loss).loss.mean()
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return model.eval(), diffusion, sorted(times)[len(times) // 2]


def evaluate(model, diffusion, n: int = 20_000, n_vlb: int = 400):
    """Held-out eps-MSE and mean-MSE (t uniform), and L_vlb in nats/dim summed over every
    t (one fresh x_t per term, Ho et al. 2020, Eq. 5) for n_vlb examples, with its SE."""
    import torch

    from ddpm_theory.backend import get_dataset
    from ddpm_theory.backend.losses import mean_loss, prior_kl, vlb_term

    data = get_dataset("mixture_2d")
    g = torch.Generator().manual_seed(12345)  # the same held-out draws for every model
    x0 = data.sample(n, g)
    t = torch.randint(1, diffusion.T + 1, (n,), generator=g)
    noise = torch.randn(x0.shape, generator=g)
    with torch.no_grad():
        x_t = diffusion.q_sample(x0, t, noise)
        pred = diffusion.p_mean_variance(model(x_t, t), x_t, t)
        eps_mse = float(((pred.pred_eps - noise) ** 2).mean())
        mean_mse = float(mean_loss(diffusion, x0, x_t, t, pred.mean).mean())
        xv = x0[:n_vlb]
        total = prior_kl(diffusion, xv.double())
        for step in range(1, diffusion.T + 1):
            tt = torch.full((n_vlb,), step, dtype=torch.long)
            e = torch.randn(xv.shape, generator=g)
            xt = diffusion.q_sample(xv, tt, e)
            p = diffusion.p_mean_variance(model(xt, tt), xt, tt)
            total = total + vlb_term(diffusion, p, xv, xt, tt, decoder="gaussian").double()
        per_dim = total / xv.shape[1]
    return eps_mse, mean_mse, float(per_dim.mean()), float(per_dim.std() / math.sqrt(n_vlb))


def interleaved_cost(batch: int, T: int, steps: int = 300) -> tuple[float, float]:
    """Median seconds per step of each objective, steps alternated A, B, A, B, ... so that
    drift on a shared machine hits both alike."""
    import torch

    from ddpm_theory.backend import GaussianDiffusion, MLPDenoiser, Schedule, get_dataset
    from ddpm_theory.backend.losses import training_losses

    data = get_dataset("mixture_2d")
    setups = []
    for param, loss in (("mean", "mean_mse"), ("eps", "simple")):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = MLPDenoiser(2)
        setups.append((GaussianDiffusion(Schedule.linear(T), param), model, loss,
                       torch.optim.Adam(model.parameters(), lr=1e-3)))
    g = torch.Generator().manual_seed(7)
    times: list[list[float]] = [[], []]
    for _ in range(steps):
        x0 = data.sample(batch, g)
        t = torch.randint(1, T + 1, (batch,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        for k, (diffusion, model, loss, opt) in enumerate(setups):
            start = time.perf_counter()
            value = training_losses(diffusion, model, x0, t, noise, loss=loss).loss.mean()
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            times[k].append(time.perf_counter() - start)
    return tuple(sorted(ts)[len(ts) // 2] for ts in times)  # type: ignore[return-value]


def mean_loss_weight(diffusion, t: int) -> float:
    """mu-MSE = w(t) * eps-MSE for eps-form errors: w = coef_x0^2 (1 - ab_t)/ab_t."""
    s = diffusion.schedule
    i = t - 1
    c1 = s.betas[i] * math.sqrt(s.alpha_bar_prev[i]) / s.one_minus_alpha_bar[i]
    return c1**2 * s.one_minus_alpha_bar[i] / s.alpha_bar[i]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    print(f"mixture_2d, default MLP, T = {args.T}, {args.steps} Adam steps of batch "
          f"{args.batch}, {args.threads} CPU thread(s)\n")
    rows = {}
    for label, param, loss in (("mean (mu-MSE)", "mean", "mean_mse"),
                               ("noise (L_simple)", "eps", "simple")):
        model, diffusion, step_s = run(param, loss, args.steps, args.batch, args.T)
        rows[label] = (step_s, *evaluate(model, diffusion))
    ts = [t for t in (1, 10, 100, 500, 1000) if t <= args.T]
    weights = ", ".join(f"w({t}) = {mean_loss_weight(diffusion, t):.1e}" for t in ts)
    print(f"{'objective':<18}{'ms/step':>9}{'eps-MSE':>10}{'mean-MSE':>12}"
          f"{'L_vlb nats/dim':>18}")
    for label, (step_s, eps_mse, mean_mse, vlb, se) in rows.items():
        print(f"{label:<18}{1e3 * step_s:>9.2f}{eps_mse:>10.4f}{mean_mse:>12.3e}"
              f"{vlb:>11.3f} ± {se:.3f}")
    (_, m_eps, m_mu, m_vlb, m_se), (_, n_eps, n_mu, n_vlb, n_se) = rows.values()
    m_s, n_s = interleaved_cost(args.batch, args.T)
    cost = m_s / n_s
    print(f"\ninterleaved timing (300 alternating steps, median): mean {1e3 * m_s:.2f} ms/step, "
          f"noise {1e3 * n_s:.2f} ms/step, ratio {cost:.2f}")
    same = 0.85 < cost < 1.15
    cost_text = (
        f"One step costs about the same for both objectives ({cost:.2f}x for the mean loss, "
        "which only adds the posterior-mean target mu_tilde_t to the same forward and "
        "backward pass), so any difference is in what the step learns, not its price."
        if same else
        f"In this run one mean-loss step cost {cost:.2f}x a noise-loss step (interleaved "
        "timing); both do one forward and one backward pass of the same network, the mean "
        "loss adding only the posterior-mean target mu_tilde_t."
    )
    better = "noise" if n_eps < m_eps else "mean"
    gap = abs(m_vlb - n_vlb) / math.hypot(m_se, n_se)
    print(
        f"\nInterpretation. {cost_text} After {args.steps} steps the {better}-prediction "
        "model has the lower held-out "
        f"eps-MSE ({min(m_eps, n_eps):.4f} vs {max(m_eps, n_eps):.4f}). Measured in eps units, "
        "the mean loss weights timestep t by w(t) = coef_x0(t)^2 (1 - ab_t)/ab_t "
        f"({weights}): Adam undoes their overall scale, but not their tenfold unevenness, "
        "so the mean loss spends its capacity on the timesteps it weights most, while the "
        "noise loss weights every t alike "
        "(Ho et al. 2020, Sec. 3.2 and Table 2, where mean prediction trained with the "
        "unweighted MSE did worse than eps prediction). On the bound, summed over all "
        f"{args.T} terms for the same held-out examples, the two differ by "
        f"{abs(m_vlb - n_vlb):.3f} nats/dim ({gap:.1f} standard errors; "
        f"{'noise' if n_vlb < m_vlb else 'mean'} lower)."
    )


if __name__ == "__main__":
    main()
