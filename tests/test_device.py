"""A device for the library and the trace pipeline: "auto" is the GPU when present, else the CPU; the run says which."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pipeline_data import make_base_model, make_data_dir
from pipelines import trace
from pruning_core.classifier import resolve_device
from pruning_core.loading import load_classifier
from pruning_core.text import load_text_classifier
from pruning_core.vision import PrunedVisionClassifier, load_vision_classifier, vit_config

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks what happens where there is no GPU")
gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("device")
    return {"model": make_base_model(root / "model", num_layers=2), "data_dir": str(make_data_dir(root / "data")),
            "root": root}


def test_auto_is_the_gpu_when_present_else_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device, message", [("tpu", "device='tpu' is not a device"),
                                             ("cuda:x", "device='cuda:x' is not a device")])
def test_an_unknown_device_is_refused_by_name(device, message):
    with pytest.raises(ValueError, match=message):
        resolve_device(device)


def test_a_gpu_asked_for_where_there_is_none_is_refused(monkeypatch, tiny):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda': no CUDA GPU"):
        load_text_classifier(tiny["model"], device="cuda")


def test_the_loaders_put_the_model_on_the_device_asked_for(monkeypatch, tiny):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)   # "auto" means the CPU here
    for loaded in (load_text_classifier(tiny["model"], device="cpu"), load_text_classifier(tiny["model"]),
                   load_classifier(tiny["model"], device="auto")):
        assert loaded.device == torch.device("cpu")
        assert {p.device.type for p in loaded.parameters()} == {"cpu"}
    folder = PrunedVisionClassifier.from_config(vit_config(hidden_size=32, num_layers=2, intermediate_size=64)).save(
        tiny["root"] / "vit")
    assert load_vision_classifier(folder, device="cpu").device == torch.device("cpu")
    assert load_classifier(folder).device == torch.device("cpu")


def test_the_trace_pipeline_names_its_device_in_the_run(tiny, tmp_path):
    row = trace.run(tiny["model"], "imdb", db=tmp_path / "lens.duckdb", data_dir=tiny["data_dir"], limit=6,
                    device="cpu")
    assert json.loads(row["config"])["device"] == "cpu"


@no_gpu
def test_trace_refuses_a_missing_gpu_on_its_command_line(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        trace.main(["--model", str(tiny["model"]), "--dataset", "imdb", "--device", "cuda",
                    "--db", str(tmp_path / "lens.duckdb")])
    assert stop.value.code == 2
    assert "--device: device='cuda': no CUDA GPU" in capsys.readouterr().err


@gpu
def test_the_quick_trace_runs_on_cuda_as_on_the_cpu(tiny, tmp_path):
    """The whole trace path on the GPU: the model moved there, scores and kept masks brought back before numpy."""
    runs = {device: trace.run(tiny["model"], "imdb", db=tmp_path / f"{device}.duckdb", data_dir=tiny["data_dir"],
                              device=device) for device in ("cpu", "cuda")}
    assert json.loads(runs["cuda"]["config"])["device"].startswith("cuda")
    assert runs["cuda"]["accuracy"] == runs["cpu"]["accuracy"]
    classifier = load_text_classifier(tiny["model"], device="cuda")
    texts = ["a fine film", "a dull and far too long film"]
    on_gpu, on_cpu = classifier.trace(texts), load_text_classifier(tiny["model"], device="cpu").trace(texts)
    for gpu_trace, cpu_trace in zip(on_gpu, on_cpu):
        np.testing.assert_allclose(gpu_trace.scores, cpu_trace.scores, rtol=1e-3, atol=1e-5, equal_nan=True)
        np.testing.assert_array_equal(gpu_trace.kept, cpu_trace.kept)
