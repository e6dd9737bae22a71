"""`bias`: class imbalance, per-class length and language, identity-term and toxic-language association
with labels. It flags rows (`identity_terms`, `toxic`) and reports; it never drops.

Associations: for every term seen at least `min_term_count` times, the label with the highest pointwise
mutual information,
PMI = log P(label | term) / P(label), tested with Fisher's exact test and corrected for the number of
terms (Benjamini-Hochberg). Findings are stated as sentences in the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from curate.core.columns import IDENTITY_TERMS, LABEL, TEXT, TOXIC
from curate.core.params import Count, Positive, Share
from curate.core.stage import RunContext, Stage, StageResult, empty_rejected

IDENTITY_WORDS: dict[str, list[str]] = {
    "gender": [
        "he",
        "she",
        "him",
        "her",
        "his",
        "hers",
        "man",
        "woman",
        "men",
        "women",
        "male",
        "female",
        "husband",
        "wife",
        "boyfriend",
        "girlfriend",
        "mr",
        "mrs",
        "ms",
        "sir",
        "madam",
        "lady",
        "guy",
    ],
    "nationality": [
        "american",
        "british",
        "english",
        "chinese",
        "indian",
        "mexican",
        "german",
        "french",
        "russian",
        "african",
        "asian",
        "european",
        "immigrant",
        "foreigner",
        "spanish",
        "italian",
        "arab",
    ],
    "religion": [
        "christian",
        "muslim",
        "jewish",
        "hindu",
        "buddhist",
        "atheist",
        "catholic",
        "church",
        "mosque",
        "synagogue",
    ],
    "age": [
        "old",
        "young",
        "elderly",
        "senior",
        "teen",
        "teenager",
        "kid",
        "boomer",
        "millennial",
        "retired",
        "pensioner",
    ],
    "disability": ["disabled", "disability", "blind", "deaf", "wheelchair", "handicapped"],
}
TOXIC_WORDS = [
    "fuck",
    "fucking",
    "fucked",
    "shit",
    "shitty",
    "damn",
    "damned",
    "crap",
    "crappy",
    "idiot",
    "idiots",
    "stupid",
    "moron",
    "morons",
    "bastard",
    "bastards",
    "useless",
    "pathetic",
    "hell",
    "bloody",
    "screw",
    "sucks",
    "dumb",
    "asshole",
]


def normalized_entropy(counts: list[int]) -> float:
    total = sum(counts)
    if total == 0 or len(counts) < 2:
        return 1.0
    entropy = -sum(c / total * math.log(c / total) for c in counts if c)
    return entropy / math.log(len(counts))


@dataclass
class Bias(Stage):
    terms: dict[str, list[str]] = field(default_factory=lambda: dict(IDENTITY_WORDS))
    toxic_terms: list[str] = field(default_factory=lambda: list(TOXIC_WORDS))
    min_term_count: Positive = 5
    significance: Share = 0.01
    top_pairs: Count = 10

    name: ClassVar[str] = "bias"
    produces: ClassVar[tuple[str, ...]] = (IDENTITY_TERMS, TOXIC)

    def associations(self, tokens: pl.DataFrame, labels: pl.Series) -> list[dict]:
        """For each identity term, the label it leans to most, tested exactly (Fisher, one-sided) and
        corrected for testing many terms (Benjamini-Hochberg): valid for the small counts of real data.
        A term that is part of a label's own name ("old" in how_old_are_you) is the task, not a bias."""
        from scipy.stats import false_discovery_control, fisher_exact

        term_to_category = {t: c for c, ts in self.terms.items() for t in ts}
        n = len(labels)
        sizes = dict(zip(*labels.value_counts().select(LABEL, "count").to_dict(as_series=False).values()))
        label_words = {label: set(re.findall(r"[a-z]+", str(label).lower())) for label in sizes}
        rows = []
        present = tokens.filter(pl.col("token").is_in(list(term_to_category))).unique(["row", "token"])
        for term, group in present.group_by("token"):
            term = term[0]
            if group.height < self.min_term_count:
                continue
            with_term = group[LABEL].value_counts()
            counts = dict(zip(with_term[LABEL].to_list(), with_term["count"].to_list()))
            best = max(sorted(counts), key=lambda lab: counts[lab] / sizes[lab])  # ties: the first label by name
            if term in label_words[best]:
                continue
            inside, outside = counts[best], group.height - counts[best]
            table = [[inside, outside], [sizes[best] - inside, n - sizes[best] - outside]]
            p_value = float(fisher_exact(table, alternative="greater").pvalue)
            pmi = math.log(inside / group.height / (sizes[best] / n))
            rows.append(
                {
                    "term": term,
                    "category": term_to_category[term],
                    "rows": group.height,
                    "label": best,
                    "rows_with_label": inside,
                    "pmi": round(pmi, 3),
                    "p_value": p_value,
                }
            )
        if rows:
            for row, adjusted in zip(rows, false_discovery_control([r["p_value"] for r in rows])):
                row["p_value"] = float(adjusted)
        return sorted(rows, key=lambda r: (r["p_value"], -r["pmi"], r["term"]))

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        counts = (
            rows.group_by(LABEL).len().sort(["len", LABEL], descending=[True, False])
        )  # ties by name: the same report every run
        sizes = counts["len"].to_list()
        tokens = rows.select(
            pl.int_range(pl.len()).alias("row"),
            LABEL,
            pl.col(TEXT).str.to_lowercase().str.extract_all(r"[a-z]+").alias("token"),
        ).explode("token")
        identity = set(t for ts in self.terms.values() for t in ts)
        found = (
            tokens.filter(pl.col("token").is_in(list(identity))).group_by("row").agg(pl.col("token").unique().sort())
        )
        toxic_rows = tokens.filter(pl.col("token").is_in(self.toxic_terms))["row"].unique()
        flagged = rows.with_row_index("_row").join(
            found.rename({"token": IDENTITY_TERMS}), left_on="_row", right_on="row", how="left"
        )
        flagged = flagged.with_columns(
            pl.col(IDENTITY_TERMS).fill_null([]), pl.col("_row").is_in(toxic_rows.implode()).alias(TOXIC)
        ).drop("_row")

        by_class = (
            flagged.group_by(LABEL)
            .agg(
                pl.len().alias("rows"),
                pl.col(TEXT).str.len_chars().mean().round(1).alias("mean_chars"),
                pl.col(TEXT).str.len_chars().median().alias("median_chars"),
                pl.col(TOXIC).mean().round(4).alias("toxic_share"),
                (pl.col(IDENTITY_TERMS).list.len() > 0).mean().round(4).alias("identity_share"),
                *(
                    [pl.col("q_language").drop_nulls().mode().sort().first().alias("main_language")]
                    if "q_language" in rows.columns
                    else []
                ),
            )
            .sort(["rows", LABEL], descending=[True, False])
        )
        pairs = self.associations(tokens, rows[LABEL].fill_null(""))
        significant = [p for p in pairs if p["p_value"] < self.significance]
        ratio = sizes[0] / max(sizes[-1], 1) if sizes else 1.0
        entropy = normalized_entropy(sizes)
        findings = [
            f"{len(sizes)} classes; the largest ({counts[LABEL][0]}, {sizes[0]} rows) is {ratio:.1f} times the smallest "
            f"({counts[LABEL][-1]}, {sizes[-1]} rows); normalised entropy {entropy:.3f} (1 is perfectly balanced)."
            if sizes
            else "no rows",
            f"{int(flagged['toxic'].sum())} rows ({flagged['toxic'].mean():.1%}) use toxic or abusive words"
            + (
                f", most in {by_class.sort(['toxic_share', LABEL], descending=[True, False])[LABEL][0]}."
                if flagged[TOXIC].any()
                else "."
            ),
        ]
        if significant:
            for p in significant[: self.top_pairs]:
                findings.append(
                    f"'{p['term']}' ({p['category']}) appears in {p['rows']} rows and leans to '{p['label']}' "
                    f"({p['rows_with_label']} of them; PMI {p['pmi']}, Fisher p={p['p_value']:.2g}, corrected)."
                )
        else:
            findings.append(
                f"No identity term is associated with a label at p < {self.significance} (terms seen at least {self.min_term_count} times)."
            )
        lengths = by_class["mean_chars"]
        if lengths.len() > 1 and lengths.max() > 2 * lengths.min():
            findings.append(
                f"Mean length differs by class: from {lengths.min()} to {lengths.max()} characters; a model may learn length."
            )
        stats = {
            "imbalance_ratio": round(ratio, 3),
            "normalized_entropy": round(entropy, 4),
            "classes": len(sizes),
            "toxic_rows": int(flagged[TOXIC].sum()),
            "identity_rows": int((flagged[IDENTITY_TERMS].list.len() > 0).sum()),
            "significant_associations": len(significant),
            "associations": pairs[: self.top_pairs],
            "by_class": by_class.to_dicts(),
            "findings": findings,
        }
        return StageResult(kept=flagged, rejected=empty_rejected(rows), stats=stats)
