"""Corpus analyses of traced runs: linguistics (spaCy), word frequency, keywords, embeddings, FLOPs.

Pure functions over pandas frames and models; the pipelines feed them from the store and write back.
"""
