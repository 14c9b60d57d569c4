import pytest
import torch
from pydantic import ValidationError

from demos import ddpm

SMALL = ddpm.Config(n_steps=50, train_steps=600)


def make_ddpm(n_steps: int = 100) -> ddpm.DDPM:
    torch.manual_seed(0)
    return ddpm.DDPM(ddpm.NoisePredictor(n_steps, hidden=32), n_steps)


def test_closed_form_equals_iterated_noising_for_the_matching_noise():
    # Iterating x_s = √α_s x_{s−1} + √β_s ε_s gives x_t = √ᾱ_t x_0 + Σ_s c_s ε_s with
    # c_s = √β_s ∏_{r>s} √α_r, and Σ_s c_s² = 1 − ᾱ_t: one Gaussian ε = Σ_s c_s ε_s / √(1 − ᾱ_t).
    model = make_ddpm()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(5, 2, generator=g)
    for t in (0, 9, 49, 99):
        x, mixed, weight = x0.clone(), torch.zeros_like(x0), torch.zeros(())
        for s in range(t + 1):
            eps_s = torch.randn(x0.shape, generator=g)
            x = model.alpha[s].sqrt() * x + model.beta[s].sqrt() * eps_s
            mixed = model.alpha[s].sqrt() * mixed + model.beta[s].sqrt() * eps_s  # Σ c_s ε_s
            weight = model.alpha[s] * weight + model.beta[s]  # Σ c_s²
        assert torch.allclose(weight, 1 - model.alpha_bar[t], atol=1e-5)
        eps = mixed / (1 - model.alpha_bar[t]).sqrt()
        closed = model.q_sample(x0, torch.full((5,), t), eps)
        assert torch.allclose(closed, x, atol=1e-5)


def test_closed_form_and_iterated_noising_have_the_same_distribution():
    model = make_ddpm()
    g = torch.Generator().manual_seed(1)
    n, t = 50_000, 29
    x0 = torch.tensor([[1.5, -0.5]]).expand(n, 2)
    x = x0.clone()
    for s in range(t + 1):
        x = model.alpha[s].sqrt() * x + model.beta[s].sqrt() * torch.randn(n, 2, generator=g)
    closed = model.q_sample(x0, torch.full((n,), t), torch.randn(n, 2, generator=g))
    a_bar = model.alpha_bar[t]
    for sample in (x, closed):
        assert torch.allclose(sample.mean(0), a_bar.sqrt() * x0[0], atol=0.02)
        assert torch.allclose(sample.var(0), (1 - a_bar).expand(2), atol=0.02)


def test_schedule_ends_in_noise():
    model = ddpm.DDPM(ddpm.NoisePredictor(1000, hidden=16), 1000)
    assert float(model.beta[0]) == pytest.approx(1e-4) and float(model.beta[-1]) == pytest.approx(0.02)
    for n_steps in (ddpm.Config().n_steps, 50, 1000):
        alpha_bar = make_ddpm(n_steps).alpha_bar
        assert float(alpha_bar[-1]) < 1e-3  # ᾱ_T ≈ 0: x_T is (almost) pure N(0, I)
        assert float(alpha_bar[0]) > 0.95 and bool((alpha_bar.diff() < 0).all())


def test_reverse_step_mean_is_the_true_posterior_mean_given_the_true_noise():
    # With ε_θ = the real ε, μ_θ(x_t, t) must equal the mean of q(x_{t−1} | x_t, x_0):
    # μ̃ = √ᾱ_{t−1} β_t / (1 − ᾱ_t) x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) x_t.
    model = make_ddpm()
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    t = 40
    xt = model.q_sample(x0, torch.full((8,), t), eps)
    model.eps_model = lambda x, step: eps  # an oracle noise predictor
    out = model.p_sample(xt, t, torch.Generator().manual_seed(3))
    z = torch.randn(8, 2, generator=torch.Generator().manual_seed(3))  # the same fresh noise
    beta, alpha, a_bar, a_bar_prev = (model.beta[t], model.alpha[t], model.alpha_bar[t],
                                      model.alpha_bar[t - 1])
    posterior_mean = (a_bar_prev.sqrt() * beta / (1 - a_bar) * x0
                      + alpha.sqrt() * (1 - a_bar_prev) / (1 - a_bar) * xt)
    assert torch.allclose(out - beta.sqrt() * z, posterior_mean, atol=1e-5)


def test_learns_to_turn_noise_into_the_swiss_roll():
    result = ddpm.run(SMALL)
    losses = result.history["loss"]
    assert sum(losses[-100:]) / 100 < 0.8 * sum(losses[:50]) / 50
    assert result.metrics["sample_nearest_distance"] < (
        0.75 * result.metrics["noise_nearest_distance"])


def test_returns_png_figures_and_names_its_lesson():
    result = ddpm.run(ddpm.Config(n_steps=50, train_steps=5))
    assert len(result.figures) == 3
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 18 (Diffusion models)" in result.explanation
    assert result.explanation.count(". ") == 1 and result.explanation.endswith(".")
    assert result.lesson.endswith("18-diffusion-models.md")
    assert all(isinstance(v, float) for v in result.metrics.values())


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="n_steps"):
        ddpm.Config(n_steps=10)  # β_T would pass 1 with the rescaled schedule
    with pytest.raises(ValidationError, match="train_steps"):
        ddpm.Config(train_steps=0)
    with pytest.raises(ValidationError, match="hidden"):
        ddpm.Config(hidden=4096)


@pytest.mark.slow
def test_default_config_samples_lie_on_the_roll():
    result = ddpm.run(ddpm.Config())
    assert result.metrics["sample_nearest_distance"] < 0.4 * result.metrics[
        "noise_nearest_distance"]
    assert result.metrics["alpha_bar_T"] < 1e-3
