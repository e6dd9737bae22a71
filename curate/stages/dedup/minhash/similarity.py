"""How alike two texts of a candidate pair are: estimated Jaccard (signature agreement) or edit similarity."""

from __future__ import annotations

import numpy as np
import polars as pl


def agreement(signatures: np.ndarray, i: np.ndarray, j: np.ndarray, block: int = 200_000) -> np.ndarray:
    """Estimated Jaccard similarity of pairs: the share of permutations whose minima agree."""
    out = np.empty(len(i), dtype=np.float32)
    for start in range(0, len(i), block):
        s = slice(start, start + block)
        out[s] = (signatures[i[s]] == signatures[j[s]]).mean(axis=1)
    return out


def _pick(texts: list[str] | pl.Series, rows: np.ndarray) -> list[str]:
    return texts.gather(rows).to_list() if isinstance(texts, pl.Series) else [texts[k] for k in rows]


def edit_similarity(
    texts: list[str] | pl.Series, i: np.ndarray, j: np.ndarray, at_least: float | None = None, block: int = 500_000
) -> np.ndarray:
    """1 - Levenshtein distance / length of the longer text, for each pair (texts[i], texts[j]).

    With `at_least`, pairs below it score 0: rapidfuzz then stops early (about 2x faster). Pairs
    go to rapidfuzz a block at a time, so memory does not grow with the number of candidates.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    out = np.empty(len(i), dtype=np.float32)
    most = (
        None if at_least is None else 1 - at_least + 1e-9
    )  # a pair exactly at the threshold passes despite 1 - 0.9 != 0.1
    for start in range(0, len(i), block):
        left, right = _pick(texts, i[start : start + block]), _pick(texts, j[start : start + block])
        distance = process.cpdist(
            left, right, scorer=Levenshtein.normalized_distance, dtype=np.float64, workers=-1, score_cutoff=most
        )
        out[start : start + len(left)] = 1 - distance if most is None else np.where(distance <= most, 1 - distance, 0)
    return out
