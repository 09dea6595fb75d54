"""The dashboard: `lens app` (or `streamlit run app/Home.py`) runs Home.py and the pages in views/; their logic lives in
the `dashboard` package, importable from anywhere as `app.dashboard` (e.g. benchmarks/live_latency.py).

Under Streamlit the pages import it as `dashboard` (Streamlit puts this folder on sys.path): one process uses one
name, so its modules are never loaded twice."""
