"""Explorer page: words."""

import polars as pl
import streamlit as st
from wordcloud import WordCloud
from shared import run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Words")
labels = ["(all)"] + sorted(APPROVED["label"].drop_nulls().unique().to_list())
label = st.selectbox("label", labels)
rows = APPROVED if label == "(all)" else APPROVED.filter(pl.col("label") == label)
frequencies = D.word_frequencies(rows["text"])
if frequencies:
    cloud = WordCloud(width=900, height=320, background_color="white", random_state=0).generate_from_frequencies(frequencies)
    st.image(cloud.to_array(), caption=f"word cloud: {label}, {rows.height:,} approved rows")
n = st.radio("n-gram", [1, 2, 3], horizontal=True, format_func=lambda k: {1: "unigrams", 2: "bigrams", 3: "trigrams"}[k])
before = pl.concat([APPROVED.select("text", "label"), REJECTED.select("text", "label")], how="diagonal_relaxed")
if label != "(all)":
    before = before.filter(pl.col("label") == label)
st.subheader("Before and after curation")
st.dataframe(D.compare_ngrams(before["text"], rows["text"], n), hide_index=True)
