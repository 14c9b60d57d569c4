"""Generator backends, each behind :class:`generator.base.Generator`.

- ``llama_cpp``: GGUF models with llama-cpp-python, the default on CPU;
- ``transformers``: any Hugging Face causal LM (id, local directory, or a GGUF via
  ``gguf_file``), for machines with a GPU;
- ``openai``: any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama).

:func:`build_generator` picks one from the settings. Each backend imports its library
lazily, with an error that says what to install.
"""

from __future__ import annotations

from pathlib import Path

from generator.base import Generator
from generator.models import ModelNotAvailable, resolve_model
from studyhall.core.settings import GeneratorSettings


def build_generator(settings: GeneratorSettings, models_dir: Path) -> Generator:
    if settings.backend == "llama_cpp":
        from generator.backends.llama_cpp import LlamaCppGenerator

        path = resolve_model(settings.model, models_dir)
        return LlamaCppGenerator(
            path, name=settings.model, n_ctx=settings.context_window, n_threads=settings.threads,
            nice=settings.nice, kv_reuse=settings.kv_reuse, kv_budget_mb=settings.kv_budget_mb,
            kv_recompute=settings.kv_recompute, parallel=settings.parallel)
    if settings.backend == "transformers":
        from generator.backends.transformers import TransformersGenerator

        gguf_path = None
        model = settings.model
        if not Path(model).is_dir() and not settings.hf_model:
            gguf_path = resolve_model(model, models_dir)
        return TransformersGenerator(
            settings.hf_model or model, gguf_path=gguf_path, name=settings.model,
            context_window=settings.context_window,
        )
    if settings.backend == "openai":
        from generator.backends.openai import OpenAIGenerator

        if not settings.base_url:
            raise ModelNotAvailable("the openai backend needs STUDYHALL_GENERATOR__BASE_URL")
        return OpenAIGenerator(
            settings.base_urls, settings.model, api_key=settings.api_key,
            context_window=settings.context_window, timeout=settings.request_timeout,
            retries=settings.retries, server_limit=settings.server_limit,
        )
    raise ModelNotAvailable(f"unknown generator backend {settings.backend!r}")
