import math

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError
from torch import nn

from demos import transformer

SMALL = dict(n_chars=8000, block_size=32, n_embd=32, n_layer=1, n_head=2, steps=150,
             batch_size=16, sample_chars=20)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_torch_sdpa(causal):
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 6, 8, generator=gen) for _ in range(3))  # (B, heads, T, d_k)
    ours, weights = transformer.attention(q, k, v, causal=causal)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert torch.allclose(ours, expected, atol=1e-5)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 6))


def test_attention_with_a_boolean_mask_matches_torch_sdpa():
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 4, 5, 8, generator=gen) for _ in range(3))
    mask = torch.rand(5, 5, generator=gen) > 0.5  # True: may attend
    mask |= torch.eye(5, dtype=torch.bool)  # every query sees at least itself
    ours, _ = transformer.attention(q, k, v, mask=mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(ours, expected, atol=1e-5)
    ours_causal, _ = transformer.attention(q, k, v, causal=True)
    tril = torch.ones(5, 5, dtype=torch.bool).tril()
    expected_causal = F.scaled_dot_product_attention(q, k, v, attn_mask=tril)
    assert torch.allclose(ours_causal, expected_causal, atol=1e-5)


def test_causal_attention_ignores_the_future():
    gen = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 1, 6, 4, generator=gen) for _ in range(3))
    out, weights = transformer.attention(q, k, v, causal=True)
    assert torch.equal(weights.triu(1), torch.zeros_like(weights))
    v2 = v.clone()
    v2[..., 3:, :] += 100.0  # change only positions 3..5
    out2, _ = transformer.attention(q, k, v2, causal=True)
    assert torch.allclose(out[..., :3, :], out2[..., :3, :])


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(causal):
    torch.manual_seed(0)
    E, heads, T = 16, 4, 7
    reference = nn.MultiheadAttention(E, heads, batch_first=True).eval()
    ours = transformer.MultiHeadAttention(E, heads, causal=causal)
    with torch.no_grad():  # both stack W_Q, W_K, W_V in one (3E, E) matrix
        ours.qkv.weight.copy_(reference.in_proj_weight)
        ours.qkv.bias.copy_(reference.in_proj_bias)
        ours.proj.weight.copy_(reference.out_proj.weight)
        ours.proj.bias.copy_(reference.out_proj.bias)
    x = torch.randn(3, T, E)
    hidden = ~torch.ones(T, T, dtype=torch.bool).tril() if causal else None  # True: hidden
    expected, expected_weights = reference(x, x, x, attn_mask=hidden, need_weights=True,
                                           average_attn_weights=False)
    y, weights = ours(x)
    assert torch.allclose(y, expected, atol=1e-5)
    assert torch.allclose(weights, expected_weights, atol=1e-6)  # (B, heads, T, T)


def test_gpt_shapes_and_causality():
    model = transformer.GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16,
                            generator=torch.Generator().manual_seed(0))
    idx = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(1))
    logits, maps = model(idx)
    assert logits.shape == (3, 8, 11) and len(maps) == 2 and maps[0].shape == (3, 2, 8, 8)
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11  # a different future
    assert torch.allclose(model(changed)[0][:, :5], logits[:, :5], atol=1e-6)


def test_reads_a_deterministic_slice_of_the_lessons():
    text = transformer.load_text(1000)
    assert len(text) == 1000 and text.startswith("# Welcome")
    assert transformer.load_text(1000) == text


def test_learns_the_course_text():
    result = transformer.run(transformer.Config(**SMALL))
    m, val = result.metrics, result.history["val_loss"]
    assert m["uniform_loss"] == pytest.approx(math.log(m["vocab_size"]))
    assert m["val_loss"] < m["uniform_loss"] - 1.0  # well below a uniform guess, ln V
    assert m["val_loss"] < 0.7 * val[0]  # and well below its first evaluation
    assert m["bits_per_char"] == pytest.approx(m["val_loss"] / math.log(2))


def test_same_seed_same_numbers():
    config = transformer.Config(**{**SMALL, "steps": 10}, seed=3)
    a, b = transformer.train(config), transformer.train(config)
    assert a.train_losses == b.train_losses and a.val_losses == b.val_losses
    assert a.sample == b.sample and a.sample.startswith(transformer.PROMPT)


def test_returns_png_figures_and_names_its_lesson():
    result = transformer.run(transformer.Config(**{**SMALL, "steps": 5}))
    names = {f.name for f in result.figures}
    assert {"loss", "attention", "sample"} <= names
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)
    assert "Lesson 15" in result.explanation and result.lesson.endswith("15-transformers.md")
    assert result.explanation.count(". ") == 1 and result.explanation.endswith(".")


def test_out_of_range_parameters_are_refused():
    with pytest.raises(ValidationError, match="block_size"):
        transformer.Config(block_size=4)
    with pytest.raises(ValidationError, match="n_head"):
        transformer.Config(n_embd=50, n_head=4)
    with pytest.raises(ValidationError, match="too long"):  # every knob legal, too much work
        transformer.Config(steps=2000, batch_size=64, block_size=128, n_layer=4, n_embd=128)
    with pytest.raises(ValidationError, match="too long"):  # many heads over a long context
        transformer.Config(steps=2000, batch_size=64, block_size=128, n_layer=1, n_head=8,
                           n_embd=16)


@pytest.mark.slow
def test_default_config_learns_the_course_text():
    m = transformer.run(transformer.Config()).metrics
    assert m["val_loss"] < 2.5 and m["val_loss"] < m["uniform_loss"] - 1.5
