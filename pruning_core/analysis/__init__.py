"""Analyses of models and traced runs: linguistics (spaCy), word frequency, keywords, embeddings, FLOPs, a
classifier's evaluation on labelled texts, faithfulness summaries and the study's findings.

Mostly pure functions over pandas frames and models; the pipelines feed them from the store and write back. The
few that answer a page on demand (keywords.custom_keywords, faithfulness.faithfulness_summary, findings) read the
store themselves: analysis sits above storage.
"""
