"""Explorer page: words. Frequencies after curation against every row that came in, and a word's rows."""

import polars as pl
import streamlit as st
from wordcloud import WordCloud
from shared import open_row, run_data

from curate.core.columns import ID, LABEL, TEXT
from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Words")
labels = ["(all)"] + sorted(APPROVED[LABEL].drop_nulls().unique().to_list())
label = st.selectbox("label", labels)
rows = APPROVED if label == "(all)" else APPROVED.filter(pl.col(LABEL) == label)
frequencies = D.word_frequencies(rows[TEXT])
if frequencies:
    cloud = WordCloud(width=900, height=320, background_color="white", random_state=0).generate_from_frequencies(
        frequencies
    )
    st.image(cloud.to_array(), caption=f"word cloud: {label}, {rows.height:,} approved rows")
n = st.radio(
    "n-gram", [1, 2, 3], horizontal=True, format_func=lambda k: {1: "unigrams", 2: "bigrams", 3: "trigrams"}[k]
)
before = D.original_rows(APPROVED, REJECTED)  # every row that came in; generated rows are not "before"
if label != "(all)":
    before = before.filter(pl.col(LABEL) == label)
table = D.compare_ngrams(before[TEXT], rows[TEXT], n)
st.subheader("Before and after curation")
st.caption(
    f"before: the {before.height:,} rows that came in; after: the {rows.height:,} approved rows (generated ones included)"
)
st.bar_chart(table.head(20).to_pandas(), x="ngram", y=["before", "after"], stack=False, horizontal=True, sort=False)
st.dataframe(table, hide_index=True, height=D.table_height(table.height))
if table.height:
    ngram = st.selectbox("rows containing", table["ngram"].to_list())
    containing = D.rows_containing(rows, ngram)
    st.caption(f"{containing.height:,} approved rows contain “{ngram}”")
    st.dataframe(D.page(containing.select(ID, LABEL, TEXT), 1, 200), hide_index=True)
    if containing.height and st.button("review one of them"):
        open_row(containing[ID][0])
