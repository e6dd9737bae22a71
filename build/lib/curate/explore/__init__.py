"""Pure functions over a run directory's frames for the Streamlit explorer (apps/explorer.py draws them)."""
