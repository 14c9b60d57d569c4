"""Any Hugging Face causal LM through transformers: by hub id or local directory, or a
GGUF file (``gguf_file``, dequantised on load). bf16 on CPU, the GPU when there is one.

On a 2-core CPU this is several times slower than llama.cpp for the same model; it is
here for machines with a GPU and for models that have no GGUF.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from generator.base import ChatMessage, GenerationParams
from generator.guard import defuse_control_tokens

log = logging.getLogger(__name__)


class TransformersGenerator:
    def __init__(self, model: str, *, name: str, gguf_path: Path | None = None,
                 context_window: int = 4096) -> None:
        self.model = model
        self.gguf_path = gguf_path
        self.name = name
        self.context_window = context_window
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError:
                raise ImportError(
                    "the transformers backend needs transformers and torch: "
                    "pip install 'studyhall[transformers]'"
                ) from None

            if self.gguf_path is not None:
                source, extra = str(self.gguf_path.parent), {"gguf_file": self.gguf_path.name}
            else:
                source, extra = self.model, {}
            device = "cuda" if torch.cuda.is_available() else "cpu"
            log.info("loading %s with transformers on %s", source, device)
            self._tokenizer = AutoTokenizer.from_pretrained(source, **extra)
            self._model = AutoModelForCausalLM.from_pretrained(
                source, dtype=torch.bfloat16, **extra
            ).to(device).eval()

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: list[ChatMessage], params: GenerationParams,
               cancel: threading.Event | None = None) -> Iterator[str]:
        self.load()
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return cancel is not None and cancel.is_set()

        with self._lock:
            inputs = self._tokenizer.apply_chat_template(
                [{"role": m.role, "content": defuse_control_tokens(m.content)}
                 for m in messages], add_generation_prompt=True,
                return_tensors="pt", return_dict=True,
            ).to(self._model.device)
            streamer = TextIteratorStreamer(
                self._tokenizer, skip_prompt=True, skip_special_tokens=True
            )
            kwargs = dict(
                **inputs, max_new_tokens=params.max_tokens, streamer=streamer,
                stopping_criteria=StoppingCriteriaList([Cancelled()]),
                do_sample=params.temperature > 0,
            )
            if params.temperature > 0:
                kwargs["temperature"] = params.temperature
            worker = threading.Thread(
                target=lambda: torch.inference_mode()(self._model.generate)(**kwargs), daemon=True
            )
            worker.start()
            text = ""
            for piece in streamer:
                if cancel is not None and cancel.is_set():
                    break
                text += piece
                if any(stop in text for stop in params.stop):
                    break
                if piece:
                    yield piece
            worker.join()
