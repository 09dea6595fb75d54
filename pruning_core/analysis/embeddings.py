"""What the retained tokens represent: final-layer vectors of the surviving tokens, projected to 2-D.

An example is represented by the mean of its retained tokens' final hidden states (specials left out;
CLS alone when nothing else survives). Retained means read by the classifier: alive on entry to the last layer,
whose output the loop computes for all of them when recording; the token-level view is a sample of retained tokens. Both are
projected with t-SNE and UMAP once, in the pipeline, so pages only read points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ..text import PrunedTextClassifier
from ..storage.analyses import PROJECTION_METHODS
from .flops import model_dims

PROJECTIONS = PROJECTION_METHODS   # the methods stored (one home: the store's reader checks them too)


@dataclass
class Representations:
    examples: np.ndarray          # (E, D) one vector per example
    token_vectors: np.ndarray     # (T, D) sampled retained tokens
    token_examples: np.ndarray    # (T,) index into the texts given
    token_positions: np.ndarray   # (T,) original token position


@torch.inference_mode()
def retained_representations(classifier: PrunedTextClassifier, texts: list[str], max_length: int,
                             tokens_per_example: int = 4, batch_size: int = 32, seed: int = 0,
                             progress: bool = True) -> Representations:
    """Run the pruned model and keep, per example, the mean retained vector and a few retained tokens."""
    classifier.eval()
    rng = np.random.default_rng(seed)
    special_ids = torch.tensor(sorted(classifier.tokenizer.all_special_ids), device=classifier.device)
    example_vectors, token_vectors, token_examples, token_positions = [], [], [], []
    for start in tqdm(range(0, len(texts), batch_size), desc="embeddings", disable=not progress):
        encoding = classifier.encode(texts[start:start + batch_size], max_length)
        # Recording runs the last layer over every row alive on entry to it: the tokens the classifier read.
        loop = classifier(encoding.input_ids, encoding.attention_mask, record=True).loop
        ids = encoding.input_ids.gather(1, loop.positions)
        content = loop.alive & ~torch.isin(ids, special_ids)
        hidden = loop.hidden.float()
        for row in range(hidden.shape[0]):
            rows = hidden[row, content[row]]
            example_vectors.append((rows.mean(0) if len(rows) else hidden[row, 0]).cpu().numpy())
            if len(rows):
                chosen = rng.choice(len(rows), size=min(tokens_per_example, len(rows)), replace=False)
                token_vectors.append(rows[chosen].cpu().numpy())
                token_examples += [start + row] * len(chosen)
                token_positions += loop.positions[row, content[row]][chosen].tolist()
    width = model_dims(classifier.model.config)[0]
    return Representations(np.stack(example_vectors) if example_vectors else np.zeros((0, width)),
                           np.concatenate(token_vectors) if token_vectors else np.zeros((0, width)),
                           np.asarray(token_examples, dtype=np.int64), np.asarray(token_positions, dtype=np.int64))


def project(vectors: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """(n, D) -> (n, 2) with t-SNE or UMAP; neighbourhood sizes shrink to fit small samples."""
    n = len(vectors)
    if n < 4:
        return np.zeros((n, 2))
    if method == "tsne":
        from sklearn.manifold import TSNE
        perplexity = float(min(30.0, (n - 1) / 3))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)
    if method == "umap":
        import umap
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed, n_jobs=1,
                            init="random" if n < 16 else "spectral")
        return reducer.fit_transform(vectors)
    raise ValueError(f"Unknown projection {method!r}; choose from {', '.join(PROJECTIONS)}.")
