import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from demos import gan

SMALL = gan.Config(steps=500)  # enough rounds for the fakes to reach the ring


def test_losses_are_binary_cross_entropy():
    g = torch.Generator().manual_seed(0)
    real, fake = 3 * torch.randn(64, generator=g), 3 * torch.randn(64, generator=g)
    d_ref = (F.binary_cross_entropy_with_logits(real, torch.ones(64))
             + F.binary_cross_entropy_with_logits(fake, torch.zeros(64)))
    g_ref = F.binary_cross_entropy_with_logits(fake, torch.ones(64))
    assert torch.allclose(gan.discriminator_loss(real, fake), d_ref, atol=1e-6)
    assert torch.allclose(gan.generator_loss(fake), g_ref, atol=1e-6)


def test_non_saturating_loss_keeps_its_gradient_when_fakes_are_rejected():
    # D sure a fake is fake (logit −8): log(1 − D) is flat there, −log D is not.
    logit = torch.tensor([-8.0], requires_grad=True)
    minimax = torch.log1p(-torch.sigmoid(logit)).mean()  # the generator minimises this
    (grad_minimax,) = torch.autograd.grad(minimax, logit)
    (grad_ns,) = torch.autograd.grad(gan.generator_loss(logit), logit)
    assert abs(float(grad_minimax)) < 1e-3 < 0.99 < abs(float(grad_ns))


def test_data_are_blobs_on_the_ring():
    centres = gan.ring_centres(8)
    x = gan.sample_data(4000, centres, torch.Generator().manual_seed(0))
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), gan.RADIUS))
    assert torch.cdist(x, centres).min(dim=1).values.max() < 6 * gan.MODE_STD


def test_generated_points_take_on_the_datas_mean_and_spread():
    t = gan.train(SMALL)
    start, end, real = t.snapshots[0], t.snapshots[SMALL.steps], t.real
    real_spread = gan.spread(real)
    assert gan.spread(start) < 0.25 * real_spread  # at first G's points huddle in the middle
    assert abs(gan.spread(end) - real_spread) < 0.1 * real_spread
    assert (end.mean(0) - real.mean(0)).norm() < 0.3
    near_start, _ = gan.mode_stats(start, t.centres)
    near_end, covered_end = gan.mode_stats(end, t.centres)
    assert near_start < 0.05 and near_end > 0.3
    assert covered_end >= 0.75


def test_returns_png_figures_and_names_its_lesson():
    result = gan.run(gan.Config(steps=20))
    assert len(result.figures) >= 2
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 16 (Generative adversarial networks)" in result.explanation
    assert result.explanation.count(". ") == 1 and result.explanation.endswith(".")
    assert result.lesson.endswith("16-generative-adversarial-networks.md")
    assert all(isinstance(v, float) for v in result.metrics.values())
    assert len(result.history["d_accuracy"]) == 20


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="n_modes"):
        gan.Config(n_modes=0)
    with pytest.raises(ValidationError, match="steps"):
        gan.Config(steps=100_000)
    with pytest.raises(ValidationError, match="learning_rate"):
        gan.Config(learning_rate=0)


@pytest.mark.slow
def test_default_config_covers_every_mode_and_fools_the_discriminator():
    result = gan.run(gan.Config())
    assert result.metrics["modes_covered"] == 1.0
    assert result.metrics["share_near_a_mode"] > 0.5
    assert result.metrics["discriminator_accuracy"] < 0.75
