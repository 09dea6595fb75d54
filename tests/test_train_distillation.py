"""The training pipeline with a distilling profile: the control comes first (trained on demand), its logits over the
training texts are computed once and kept beside it, every pruned stage learns them, and the top-k model's schedule
is chosen on validation texts at the profile's FLOPs share."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from pipeline_data import make_base_model, make_data_dir, tiny_profile
from pipelines import train
from pruning_core.distillation import Distillation


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    root = tmp_path_factory.mktemp("distil")
    data_dir, base = make_data_dir(root / "data"), make_base_model(root / "base")
    profile = replace(tiny_profile(), distillation=Distillation(weight=0.5, temperature=2.0), topk_flops_share=0.6,
                      topk_shapes=(0.5, 1.0))
    seen = []
    for method in ("ltp", "topk"):
        train.run("imdb", profile, "imdb-distil", str(base), str(data_dir), str(root / "artifacts"), method=method,
                  on_stage=lambda stage, what: seen.append(stage))
    return {"folder": root / "artifacts" / "models" / "imdb-distil", "seen": seen}


def metrics(folder, stage: str) -> dict:
    return json.loads((folder / stage / "metrics.json").read_text())


def test_the_control_is_trained_first_and_its_logits_kept_beside_it(distilled):
    assert distilled["seen"][:3] == ["baseline", "control", "ltp_soft"], "the teacher before the first pruned stage"
    saved = load_file(str(distilled["folder"] / "control" / train.TEACHER_FILE))
    assert saved["logits"].shape == (len(saved["ids"]), 2) and torch.isfinite(saved["logits"]).all()


def test_every_pruned_stage_distils_and_the_unpruned_ones_do_not(distilled):
    folder = distilled["folder"]
    for stage in ("ltp_soft", "ltp_hard", "topk_trained"):
        assert metrics(folder, stage)["distillation"] == {"weight": 0.5, "temperature": 2.0, "feature_weight": 0.0}
    for stage in ("baseline", "control"):
        assert metrics(folder, stage)["distillation"] is None
    assert metrics(folder, "ltp_hard")["device"] == "cpu", "the device that trained it is recorded"


def test_the_soft_stage_records_the_cuts_it_started_from(distilled):
    calibrated = metrics(distilled["folder"], "ltp_soft")["calibrated"]
    assert len(calibrated) == 3 and all(value >= 0 for value in calibrated)


def test_the_topk_schedule_is_the_best_shape_on_validation_at_the_flops_share(distilled):
    chosen = metrics(distilled["folder"], "topk_trained")
    candidates = chosen["schedule_candidates"]
    assert {c["shape"] for c in candidates} == {0.5, 1.0} and chosen["topk_shape"] == candidates[0]["shape"]
    assert candidates[0]["accuracy"] == max(c["accuracy"] for c in candidates)
    assert all(c["flops_share"] == pytest.approx(0.6, abs=0.1) for c in candidates)
