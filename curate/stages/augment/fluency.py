"""How likely a small causal LM finds a text, read as a user's message: a back-translation that garbles word order
("how are you" → "How you are"), loses an auxiliary or doubles an article is much less likely than what a person
wrote, whatever its embedding similarity to the source. Default model: the packaged SmolLM2-135M-Instruct (GGUF)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.core.extras import require
from curate.core.model_loading import load_causal_lm

# The text is scored as the user's turn of the chat the model was tuned on: what comes before it is the same for
# every text, so the first word is scored too.
USER_TURN = "<|im_start|>user\n"


@dataclass
class FluencyScorer:
    model: str | None = None  # None: the packaged SmolLM2-135M-Instruct; else a folder or hub name
    batch_size: int = 32
    prefix: str = USER_TURN

    def _load(self):
        if getattr(self, "_loaded", None) is None:  # loaded once per scorer, reused across calls
            tokenizer, network = load_causal_lm(self.model, "the augment fluency check")
            self._loaded = tokenizer, network.eval()
        return self._loaded

    def losses(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(summed negative log-likelihood in nats, tokens) of each text after `prefix`; batches of similar length."""
        require("the augment fluency check (less_fluent)", "torch")
        import torch

        tokenizer, network = self._load()
        prefix = tokenizer(self.prefix, add_special_tokens=False)["input_ids"] if self.prefix else []
        if not prefix:  # a first token needs something before it
            prefix = [tokenizer.eos_token_id]
        encoded = [prefix + ids for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
        total, count = np.zeros(len(texts)), np.array([len(ids) - len(prefix) for ids in encoded])
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        for start in range(0, len(order), self.batch_size):
            at = order[start : start + self.batch_size]
            width = max(len(encoded[i]) for i in at)
            ids = torch.full((len(at), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(at), width), dtype=torch.long)
            for row, i in enumerate(at):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
            with torch.no_grad():
                logits = network(input_ids=ids, attention_mask=mask).logits[:, :-1]
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
            scored = mask[:, 1:].clone()
            scored[:, : len(prefix) - 1] = 0  # the prefix's own tokens are not the text's
            total[at] = (nll * scored).sum(dim=1).numpy()
        return total, count

    def gap(self, sources: list[str], candidates: list[str]) -> np.ndarray:
        """How much less likely each candidate is than its source, in nats per token of the source: the candidate's
        summed loss minus the source's, over the source's length (a longer candidate pays for its extra words)."""
        scored, tokens = self.losses(list(sources) + list(candidates))
        n = len(sources)
        return (scored[n:] - scored[:n]) / np.maximum(tokens[:n], 1)
