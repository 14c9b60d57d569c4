import numpy as np
import pytest

from ingest.embedder import EmbedderNotFound, SentenceTransformerEmbedder, resolve_model_dir


def test_the_short_name_resolves_to_the_packaged_model():
    name, path = resolve_model_dir("all-MiniLM-L6-v2")
    assert name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (path / "config.json").is_file()


def test_an_unknown_embedder_says_nothing_is_downloaded(tmp_path):
    with pytest.raises(EmbedderNotFound, match="never downloaded"):
        resolve_model_dir("someone/else-model")
    with pytest.raises(EmbedderNotFound):
        resolve_model_dir(str(tmp_path))  # a directory, but not a model


def test_token_counting_needs_no_model_load():
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    assert embedder.count_tokens("attention is all you need") == 5
    assert embedder.max_tokens == 256
    assert embedder._model is None


@pytest.mark.slow
def test_real_embeddings_are_unit_384d_and_semantic(real_embedder):
    vectors = real_embedder.embed([
        "The generator and the discriminator compete.",
        "Two networks play an adversarial game.",
        "Bake the bread at 200 degrees.",
    ])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.slow
def test_token_count_matches_the_models_own_tokenizer(real_embedder):
    text = "Variational autoencoders use the reparameterisation trick: z = μ + σ·ε."
    tokenizer = real_embedder._model.tokenizer
    assert real_embedder.count_tokens(text) == len(tokenizer(text, add_special_tokens=False)["input_ids"])
