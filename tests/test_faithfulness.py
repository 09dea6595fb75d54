"""Faithfulness: the per-text figures against separate forward passes of the transformers model itself, padding
invariance and odd input; the store's sets and summary; the pipeline on tiny data; the README block; Live text's
section (the dataset figures on Compare are in tests/test_dataset_pages.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from streamlit.testing.v1 import AppTest

from app_data import save_model
from conftest import REVIEWS, make_bert, make_tokenizer
from lens_helpers import save_tiny_model, word_trace
from pipeline_data import make_data_dir
from pipelines import faithfulness as faithfulness_pipeline
from pipelines import results
from pruning_core import storage as store
from pruning_core.analysis.faithfulness import faithfulness_by_class, faithfulness_summary
from pruning_core.text.data import load_dataset
from pruning_core.text.faithfulness import (gradient_x_input, last_scoring_layer, measure, rank_correlation,
                                       saliency_agreement)
from pruning_core.methods import LearnedTokenPruning, NoPruning, TokenMerging, TopK
from pruning_core.metrics import bootstrap_mean, paired_bootstrap
from pruning_core.text import EmptyTextError, PrunedTextClassifier, load_text_classifier

ODD_TEXTS = ["<b>great</b> <script>alert('x')</script> & the movie",   # markup is text
             "the film 🎬 was great 😀 שלום עולם مرحبا",                # emoji, right-to-left
             "the\u200bmovie\u00ad was great\ufeff",                    # zero-width and soft hyphen
             "\u200b\u200b"]                                            # nothing the model reads as a word


@pytest.fixture(scope="module")
def pruned() -> PrunedTextClassifier:
    return PrunedTextClassifier(make_bert(num_layers=4, num_labels=3), make_tokenizer(), TopK.geometric(0.4, 4))


def direct_probabilities(classifier: PrunedTextClassifier, ids: list[int]) -> np.ndarray:
    """The transformers model's own forward pass (its own attention, no layer loop of ours) on one id sequence."""
    with torch.inference_mode():
        return classifier.model(input_ids=torch.tensor([ids])).logits.softmax(dim=-1)[0].numpy()


def ids_of(classifier: PrunedTextClassifier, tokens: list[str]) -> list[int]:
    return classifier.tokenizer.convert_tokens_to_ids(tokens)


# --- the per-text figures ---------------------------------------------------------------------------------

def test_the_figures_equal_separate_forward_passes_on_the_kept_and_the_other_token_ids(pruned):
    tokenizer, partly_kept = pruned.tokenizer, 0
    for text, figures in zip(REVIEWS, measure(pruned, REVIEWS, batch_size=2)):
        trace = pruned.trace([text])[0]
        ids = ids_of(pruned, trace.tokens)
        words = [position for position, word in enumerate(trace.word_ids) if word is not None]
        kept = [position for position in words if trace.read_mask[position]]       # alive on entry to the last layer
        others = [position for position in words if not trace.read_mask[position]]
        partly_kept += 0 < len(kept) < len(words)
        full = direct_probabilities(pruned, ids)
        alone = direct_probabilities(pruned, [tokenizer.cls_token_id, *(ids[p] for p in kept), tokenizer.sep_token_id])
        without = direct_probabilities(pruned, [tokenizer.cls_token_id, *(ids[p] for p in others),
                                                tokenizer.sep_token_id])
        y = trace.prediction
        assert figures.pruned_prediction == y and figures.pruned_probabilities == pytest.approx(trace.probabilities,
                                                                                                abs=1e-6)
        assert figures.unpruned_probabilities == pytest.approx(full.tolist(), abs=1e-5)
        assert figures.unpruned_prediction == int(full.argmax()) and figures.agrees == (y == int(full.argmax()))
        assert figures.sufficiency == pytest.approx(full[y] - alone[y], abs=1e-5)
        assert figures.comprehensiveness == pytest.approx(full[y] - without[y], abs=1e-5)
        assert figures.confidence_change == pytest.approx(trace.probabilities[y] - full[y], abs=1e-5)
        assert (figures.n_kept, figures.n_tokens) == (len(kept), len(words))
    assert partly_kept >= 3, "the schedule prunes some but not all of most texts"


def test_the_rationale_is_what_the_classifier_read_so_the_last_layers_own_pruning_changes_nothing():
    """A model whose last layer alone drops every token but CLS has the same answer and the same rationale as the
    same weights not pruning there: the classifier read the tokens alive on entry to the last layer."""
    model, tokenizer = make_bert(num_layers=4, num_labels=3), make_tokenizer()
    early = [0.02, 0.05, 0.0]
    last_drops_all = PrunedTextClassifier(model, tokenizer, LearnedTokenPruning(4, thresholds=[*early, 1e9]))
    last_keeps_all = PrunedTextClassifier(model, tokenizer, LearnedTokenPruning(4, thresholds=[*early, 0.0]))
    assert all(trace.keep_counts[-1] == 1 for trace in last_drops_all.trace(REVIEWS)), "the last layer keeps CLS only"
    dropping, keeping = measure(last_drops_all, REVIEWS), measure(last_keeps_all, REVIEWS)
    for text, dropped, kept in zip(REVIEWS, dropping, keeping):
        assert dropped.pruned_probabilities == pytest.approx(kept.pruned_probabilities, abs=1e-6)
        assert (dropped.n_kept, dropped.n_tokens) == (kept.n_kept, kept.n_tokens)
        assert (dropped.sufficiency, dropped.comprehensiveness) == pytest.approx(
            (kept.sufficiency, kept.comprehensiveness), abs=1e-6)
        read = last_drops_all.trace([text])[0]
        words = np.array([word is not None for word in read.word_ids])
        assert dropped.n_kept == int((read.read_mask & words).sum()) > 0


def test_keeping_every_token_agrees_and_measures_comprehensiveness_against_the_empty_text():
    classifier = PrunedTextClassifier(make_bert(seed=3), make_tokenizer(), NoPruning())
    empty = direct_probabilities(classifier, [classifier.tokenizer.cls_token_id, classifier.tokenizer.sep_token_id])
    for figures in measure(classifier, REVIEWS):
        y = figures.pruned_prediction
        assert figures.agrees and figures.confidence_change == pytest.approx(0, abs=1e-6)
        assert figures.sufficiency == pytest.approx(0, abs=1e-5)
        assert figures.comprehensiveness == pytest.approx(figures.full_probability - empty[y], abs=1e-5)
        assert figures.n_kept == figures.n_tokens > 0


def test_a_text_gets_the_same_figures_alone_and_in_a_padded_batch(pruned):
    texts = [*REVIEWS, *ODD_TEXTS[:3]]
    together = measure(pruned, texts, batch_size=len(texts))
    for text, batched in zip(texts, together):
        alone = measure(pruned, text)[0]
        assert (alone.n_kept, alone.n_tokens, alone.pruned_prediction) == \
            (batched.n_kept, batched.n_tokens, batched.pruned_prediction)
        assert alone.unpruned_probabilities == pytest.approx(batched.unpruned_probabilities, abs=1e-5)
        assert (alone.sufficiency, alone.comprehensiveness) == pytest.approx(
            (batched.sufficiency, batched.comprehensiveness), abs=1e-5)


def test_odd_huge_and_empty_texts(pruned):
    huge = " ".join(["the movie was great and the music was fun ."] * 400)
    figures = measure(pruned, [huge, *ODD_TEXTS], max_length=64)
    assert figures[0].n_tokens == 62                                   # cut at 64 tokens, [CLS] and [SEP] aside
    for result in figures:
        values = [*result.pruned_probabilities, *result.unpruned_probabilities, result.sufficiency,
                  result.comprehensiveness]
        assert np.isfinite(values).all() and 0 <= result.n_kept <= result.n_tokens
    no_words = figures[-1]                                             # only [CLS] [SEP]: every input is the same
    assert no_words.n_tokens == 0 and no_words.sufficiency == no_words.comprehensiveness == pytest.approx(0, abs=1e-6)
    for bad in ("", "   \n"):
        with pytest.raises(EmptyTextError):
            measure(pruned, [REVIEWS[0], bad])
    with pytest.raises(TypeError):
        measure(pruned, [REVIEWS[0], None])


# --- gradient × input ---------------------------------------------------------------------------------------

def test_gradient_x_input_matches_autograd_through_the_transformers_model(pruned):
    texts, targets = REVIEWS[:3], [0, 2, 1]
    saliencies = gradient_x_input(pruned, texts, targets)
    for text, target, saliency in zip(texts, targets, saliencies):
        ids = torch.tensor([ids_of(pruned, pruned.trace([text])[0].tokens)])
        captured = {}

        def keep(module, inputs, output):
            output.retain_grad()
            captured["embeddings"] = output

        hook = pruned.model.bert.embeddings.register_forward_hook(keep)
        try:
            pruned.model(input_ids=ids).logits[0, target].backward()
        finally:
            hook.remove()
            pruned.model.zero_grad(set_to_none=True)
        embeddings = captured["embeddings"]
        expected = (embeddings.grad * embeddings.detach()).sum(dim=-1).abs()[0].numpy()
        np.testing.assert_allclose(saliency, expected, rtol=1e-4, atol=1e-6)
    alone = gradient_x_input(pruned, [texts[1]], [targets[1]])[0]
    np.testing.assert_allclose(alone, saliencies[1], rtol=1e-4, atol=1e-6)          # padding changes nothing
    assert all(parameter.grad is None for parameter in pruned.model.parameters())   # the shared weights stay clean
    with pytest.raises(ValueError, match="one class per text"):
        gradient_x_input(pruned, texts, [0])


def test_rank_correlation_is_spearmans_rho():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 30).astype(float), rng.normal(size=30)       # ties in a
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert rank_correlation(b, 2 * b + 1) == pytest.approx(1.0) and rank_correlation(b, -b) == pytest.approx(-1.0)
    assert np.isnan(rank_correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])) and np.isnan(rank_correlation([1.0], [2.0]))


def test_the_saliency_is_ranked_against_the_last_layer_that_scored_two_of_the_texts_tokens():
    trace = word_trace(["good", "bad", "film", "plot"], kept=[[True, True, True, False], [False, False, True, False],
                                                              [False, False, True, False]],
                       scores=[[0.1, 0.4, 0.2, 0.3], [0.5, 0.1, 0.9, 0.0], [0.0, 0.0, 0.7, 0.0]])
    assert last_scoring_layer(trace) == 1                  # layer 2 scored only "film"
    saliency = np.array([9.0, 0.2, 0.1, 0.6, 0.3, 9.0])    # [CLS] and [SEP] are left out whatever they hold
    assert saliency_agreement(trace, saliency) == (1, pytest.approx(spearmanr([0.2, 0.1, 0.6],
                                                                              [0.5, 0.1, 0.9]).statistic))
    assert saliency_agreement(trace, saliency, layer=0)[1] == pytest.approx(
        spearmanr([0.2, 0.1, 0.6, 0.3], [0.1, 0.4, 0.2, 0.3]).statistic)


# --- store and summary --------------------------------------------------------------------------------------

def made_up_rows(n: int = 200, flips_per_class: tuple[int, int] = (5, 15), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    unpruned = labels.copy()
    pruned = labels.copy()
    for label, flips in enumerate(flips_per_class):
        pruned[np.flatnonzero(labels == label)[:flips]] = 1 - label
    return pd.DataFrame({"example_id": range(n), "label": labels, "pruned_prediction": pruned,
                         "unpruned_prediction": unpruned, "pruned_confidence": rng.uniform(0.5, 1, n),
                         "unpruned_confidence": rng.uniform(0.5, 1, n), "full_probability": rng.uniform(0, 1, n),
                         "sufficiency": rng.normal(0.05, 0.1, n), "comprehensiveness": rng.normal(0.3, 0.2, n),
                         "n_kept": rng.integers(1, 20, n), "n_tokens": np.full(n, 40)})


def write_set(db: Path, stage: str, rows: pd.DataFrame, dataset: str = "imdb", profile: str = "cpu") -> None:
    store.write_faithfulness({"faith_id": f"{dataset}-{profile}-{stage}", "dataset": dataset,
                              "training_run": f"{dataset}-{profile}", "stage": stage, "profile": profile,
                              "method": {"ltp_hard": "ltp", "ts_dtp_hard": "ts_dtp"}.get(stage, "topk"),
                              "method_config": "{}", "model_path": "", "label_names": ["negative", "positive"],
                              "n_examples": len(rows), "config": "{}", "seconds": 1.0}, rows, db)


def test_bootstrap_mean_brackets_the_mean_and_paired_bootstrap_is_the_mean_of_differences():
    values = np.random.default_rng(1).normal(2.0, 1.0, 400)
    mean, low, high = bootstrap_mean(values)
    assert mean == pytest.approx(values.mean()) and low < mean < high
    assert high - low == pytest.approx(2 * 1.96 * values.std() / 20, rel=0.15)   # the normal approximation
    assert bootstrap_mean(np.full(10, 0.25)) == pytest.approx((0.25, 0.25, 0.25))
    a, b = values > 2.0, values > 1.5
    assert paired_bootstrap(a, b) == bootstrap_mean(a.astype(np.int8) - b.astype(np.int8))
    with pytest.raises(ValueError):
        bootstrap_mean([])


def test_a_stored_set_comes_back_with_its_summary_and_flips_by_class(tmp_path):
    db = tmp_path / "lens.duckdb"
    rows = made_up_rows()
    write_set(db, "ltp_hard", rows)
    write_set(db, "ltp_hard", rows)                                          # a rerun replaces the set
    stored = store.faithfulness_rows(db=db)
    assert len(stored) == len(rows)
    pd.testing.assert_frame_equal(stored[rows.columns].astype(rows.dtypes.to_dict()), rows, check_dtype=False)
    summary = faithfulness_summary("imdb", db=db).iloc[0]
    agree = (rows["pruned_prediction"] == rows["unpruned_prediction"]).to_numpy(np.int8)
    assert summary["n_examples"] == 200 and summary["agreement"] == pytest.approx(0.9)
    assert summary["flip_rate"] == pytest.approx(0.1)
    assert (summary["agreement_low"], summary["agreement_high"]) == pytest.approx(bootstrap_mean(agree)[1:])
    for measure_name in ("sufficiency", "comprehensiveness"):
        assert [summary[measure_name], summary[f"{measure_name}_low"], summary[f"{measure_name}_high"]] == \
            pytest.approx(bootstrap_mean(rows[measure_name].to_numpy()))
    assert summary["kept_share"] == pytest.approx(rows["n_kept"].sum() / rows["n_tokens"].sum())
    by_class = faithfulness_by_class(db=db)
    assert by_class[["class_name", "examples", "flips"]].values.tolist() == [["negative", 100, 5],
                                                                            ["positive", 100, 15]]
    assert by_class["flip_rate"].tolist() == pytest.approx([0.05, 0.15])
    assert faithfulness_summary("ag_news", db=db).empty and faithfulness_by_class("ag_news", db=db).empty
    assert faithfulness_summary(db=tmp_path / "none.duckdb").empty


# --- pipeline -----------------------------------------------------------------------------------------------

def test_the_pipeline_stores_each_pruned_model_on_the_same_seeded_sample(tmp_path, capsys):
    data_dir = str(make_data_dir(tmp_path / "data", train=8, test=24))
    artifacts = tmp_path / "artifacts"
    db = artifacts / "lens.duckdb"
    save_model(artifacts, "imdb-tiny/ltp_hard", "imdb", LearnedTokenPruning(4, [0.02, 0.05, 0.08, 0.1]))
    save_model(artifacts, "imdb-tiny/topk_trained", "imdb", TopK.geometric(0.3, 4), seed=2)
    save_model(artifacts, "imdb-tiny/control", "imdb", NoPruning())
    save_model(artifacts, "imdb-tiny/merge_trained", "imdb", TokenMerging(0.5, 0.5))
    faithfulness_pipeline.main(["--dataset", "imdb", "--run", "imdb-tiny", "--stages",
                                "ltp_hard,topk_trained,control,merge_trained,ts_dtp_hard", "--limit", "10",
                                "--data-dir", data_dir, "--artifacts", str(artifacts), "--batch-size", "4"])
    printed = capsys.readouterr().out
    assert "control keeps every token" in printed and "merge_trained merges tokens" in printed
    summary = faithfulness_summary(db=db)
    assert list(summary["stage"]) == ["ltp_hard", "topk_trained"] and set(summary["n_examples"]) == {10}
    assert list(summary["method"]) == ["ltp", "topk"]
    data = load_dataset("imdb", "test", data_dir, limit=10, seed=0)
    rows = store.faithfulness_rows(db=db)
    for stage, stored in rows.groupby("stage"):
        assert stored["label"].tolist() == data.labels
        classifier = load_text_classifier(artifacts / "models" / "imdb-tiny" / stage)
        expected = measure(classifier, data.texts, max_length=32)
        assert stored["sufficiency"].tolist() == pytest.approx([f.sufficiency for f in expected], abs=1e-6)
        assert stored["pruned_prediction"].tolist() == [f.pruned_prediction for f in expected]
        assert stored["n_kept"].tolist() == [f.n_kept for f in expected]
    config = json.loads(rows["config"].iloc[0])
    assert config["max_length"] == 32 and config["limit"] == 10


def test_the_pipeline_says_in_one_line_when_the_run_has_no_models(tmp_path):
    with pytest.raises(SystemExit, match="error: No trained model ltp_hard under"):
        faithfulness_pipeline.main(["--dataset", "imdb", "--run", "nothing", "--stages", "ltp_hard",
                                    "--artifacts", str(tmp_path / "artifacts")])


# --- the README block ---------------------------------------------------------------------------------------

def test_the_readme_block_comes_from_the_database(tmp_path, monkeypatch, capsys):
    db = tmp_path / "lens.duckdb"
    assert results.faithfulness_table(db).startswith("_No `cpu` faithfulness figures yet")
    write_set(db, "ts_dtp_hard", made_up_rows(flips_per_class=(0, 2), seed=1))
    write_set(db, "ltp_hard", made_up_rows())
    write_set(db, "ltp_hard", made_up_rows(100), dataset="ag_news")
    write_set(db, "ltp_hard", made_up_rows(), profile="quick")               # another profile: not in the block
    table = results.faithfulness_table(db)
    sections = results.faithfulness_sections(db)
    assert list(sections) == ["imdb", "ag_news"] and table == results.join_sections(sections)
    lines = sections["imdb"].splitlines()
    assert lines[:2] == ["**imdb**", ""]
    lines = lines[2:]
    assert lines[0].startswith("| dataset | model | test examples | agrees with unpruned")
    summary = faithfulness_summary("imdb", profile="cpu", db=db).set_index("stage").loc["ltp_hard"]
    assert lines[2] == (f"| imdb | LTP | 200 | 90.0 [{100 * summary['agreement_low']:.1f}, "
                        f"{100 * summary['agreement_high']:.1f}] | 10.0% (negative 5.0%, positive 15.0%) | "
                        f"{100 * summary['kept_share']:.0f}% | {summary['sufficiency']:.3f} "
                        f"[{summary['sufficiency_low']:.3f}, {summary['sufficiency_high']:.3f}] | "
                        f"{summary['comprehensiveness']:.3f} [{summary['comprehensiveness_low']:.3f}, "
                        f"{summary['comprehensiveness_high']:.3f}] |")
    assert lines[3].startswith("| imdb | TS-DTP | 200 | 99.0 [") and len(lines) == 4
    assert sections["ag_news"].splitlines()[4].startswith("| ag_news | LTP | 100 |")

    readme = tmp_path / "README.md"
    monkeypatch.setattr(results, "results_table", lambda *a: "_No text results_")
    monkeypatch.setattr(results, "vision_table", lambda *a: "_No vision results_")
    readme.write_text(f"{results.START}\nkept\n{results.END}\n")
    with pytest.raises(SystemExit, match="no <!-- faithfulness:start -->"):
        results.main(["--db", str(db), "--write", str(readme)])
    assert readme.read_text() == f"{results.START}\nkept\n{results.END}\n"    # nothing written
    readme.write_text(f"{results.START}\nkept\n{results.END}\n{results.FAITHFULNESS_START}\nold\n"
                      f"{results.FAITHFULNESS_END}\n")
    results.main(["--db", str(db), "--write", str(readme)])
    assert readme.read_text() == (f"{results.START}\nkept\n{results.END}\n{results.FAITHFULNESS_START}\n{table}\n"
                                  f"{results.FAITHFULNESS_END}\n")
    results.main(["--db", str(tmp_path / "empty.duckdb"), "--write", str(readme)])   # nothing stored: kept
    assert table in readme.read_text()


# --- Live text --------------------------------------------------------------------------------------------

HOME = str(Path(__file__).resolve().parents[1] / "app" / "Home.py")
LIVE = "views/1_Live_text.py"


def live_page(text: str) -> AppTest:
    app = AppTest.from_file(HOME, default_timeout=60)
    app.switch_page(LIVE)
    app.run()
    app.text_area(key="live_text").input(text).run()
    assert not app.exception, app.exception
    return app


def metrics_of(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


@pytest.mark.parametrize("text", [REVIEWS[0], ODD_TEXTS[0], ODD_TEXTS[1], " ".join([REVIEWS[1]] * 300)])
def test_live_text_shows_the_unpruned_answer_sufficiency_and_comprehensiveness(artifacts, text):
    folder = save_tiny_model(artifacts, "imdb-tiny/ltp_hard")
    app = live_page(text)
    assert "Faithfulness" in [header.value for header in app.subheader]
    classifier = load_text_classifier(folder)
    expected = measure(classifier, [text[:20_000]])[0]
    shown = metrics_of(app)
    assert shown["Unpruned prediction"] == classifier.label_names[expected.unpruned_prediction]
    assert shown["Agrees with pruned"] == ("yes" if expected.agrees else "no: pruning flips it")
    assert shown["Sufficiency"] == f"{expected.sufficiency:+.3f}"
    assert shown["Comprehensiveness"] == f"{expected.comprehensiveness:+.3f}"
    assert shown["Confidence change"] == f"{100 * expected.confidence_change:+.1f} points"
    assert any(f"{expected.n_kept} of the text's {expected.n_tokens} tokens" in caption.value
               for caption in app.caption)
    app.toggle(key="faith_saliency").set_value(True).run()
    assert not app.exception and any(label.startswith("Spearman's ρ, layer") for label in metrics_of(app))
    tokens = app.dataframe[0].value
    assert list(tokens.columns)[:2] == ["token", tokens.columns[1]] and (tokens["gradient × input"] >= 0).all()


def test_live_text_says_there_is_nothing_to_compare_when_every_token_is_kept(artifacts):
    save_tiny_model(artifacts, "imdb-tiny/ltp_hard")
    app = live_page(REVIEWS[0])
    app.radio(key="method_kind").set_value("none").run()
    assert not app.exception and "Sufficiency" not in metrics_of(app)
    assert any("keeps every token" in caption.value for caption in app.caption)
    app.text_area(key="live_text").input("  ").run()                          # the page's own hint, no section
    assert not app.exception and "Faithfulness" not in [header.value for header in app.subheader]
