import math

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError
from torch.distributions import Normal, kl_divergence

from demos import vae


def test_kl_term_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 3, generator=g), torch.randn(16, 3, generator=g)
    q = Normal(mu, torch.exp(0.5 * logvar))
    reference = kl_divergence(q, Normal(torch.zeros(3), torch.ones(3))).sum(dim=1)
    assert torch.allclose(vae.kl_divergence(mu, logvar), reference, atol=1e-5)


def test_reconstruction_loss_is_pixelwise_binary_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits, x = 3 * torch.randn(8, 64, generator=g), torch.rand(8, 64, generator=g)
    reference = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
    assert torch.allclose(vae.reconstruction_loss(logits, x), reference, atol=1e-4)


def test_reparameterised_samples_have_mean_mu_and_std_sigma():
    n = 200_000
    mu = torch.tensor([1.0, -2.0]).expand(n, 2)
    logvar = torch.tensor([0.0, math.log(0.25)]).expand(n, 2)  # σ = 1 and 0.5
    z = vae.reparameterise(mu, logvar, torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.01)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 0.5]), atol=0.01)


def test_gradients_flow_through_the_sample_to_mu_and_logvar():
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    logvar = torch.tensor([0.0, 1.0], requires_grad=True)
    z = vae.reparameterise(mu, logvar, torch.Generator().manual_seed(1))
    z.sum().backward()
    eps = (z.detach() - mu.detach()) / torch.exp(0.5 * logvar.detach())
    assert torch.allclose(mu.grad, torch.ones(2))  # ∂z/∂μ = 1
    # ∂z/∂log σ² = ½ σ ε
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps, atol=1e-6)


def test_learns_to_reconstruct_held_out_digits():
    t = vae.train(vae.Config(epochs=8))
    assert t.history["test_mse"][-1] < 0.07
    assert t.history["test_mse"][-1] < 0.5 * t.untrained_mse
    assert t.history["loss"][-1] < t.history["loss"][0]


def test_returns_png_figures_and_names_its_lesson():
    result = vae.run(vae.Config(epochs=1))
    assert len(result.figures) == 3
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 17 (Variational autoencoders)" in result.explanation
    assert result.explanation.count(". ") == 1 and result.explanation.endswith(".")
    assert result.lesson.endswith("17-variational-autoencoders.md")
    assert all(isinstance(v, float) for v in result.metrics.values())


def test_other_latent_sizes_still_draw():
    for latent_dim in (1, 3):
        result = vae.run(vae.Config(epochs=1, latent_dim=latent_dim))
        assert len(result.figures) == 3


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="epochs"):
        vae.Config(epochs=0)
    with pytest.raises(ValidationError, match="latent_dim"):
        vae.Config(latent_dim=100)
    with pytest.raises(ValidationError, match="beta"):
        vae.Config(beta=-1)


@pytest.mark.slow
def test_default_config_uses_its_latent_space():
    result = vae.run(vae.Config())
    assert result.metrics["test_reconstruction_mse"] < 0.045
    assert result.metrics["test_kl"] > 1.0  # the codes carry information about the digit
