"""Training from scratch (with pruning switched on after warm-up), CIFAR-10 loading, save/load."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pruning_core.classifier import ModelLoadError
from pruning_core.methods import LearnedTokenPruning, NoPruning, TopK
from pruning_core.vision import (DatasetUnavailableError, Distillation, StepOutput, VisionTrainConfig, VisionTrainer, augment,
                                 distillation_loss, load_cifar10, load_vision_classifier, save_vision_classifier,
                                 train_alongside, train_vit, vision_accuracy)
from pruning_core.vision import data as vision_data
from vision_helpers import make_vit, random_pixels


def two_colour_dataset(count: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Reddish pictures are class 0, bluish ones class 1, with noise: learnable in a few dozen steps."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 2
    pixels = torch.randint(0, 120, (count, 3, 32, 32), generator=generator)
    pixels[labels == 0, 0] += 120
    pixels[labels == 1, 2] += 120
    return pixels.to(torch.uint8), labels


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_from_scratch_learns(precision):
    pixels, labels = two_colour_dataset()
    classifier = make_vit(num_labels=2)
    before = vision_accuracy(classifier, pixels, labels)
    config = VisionTrainConfig(epochs=6, batch_size=16, learning_rate=3e-3, warmup_epochs=1, augment=True,
                               precision=precision)
    result = train_vit(classifier, pixels, labels, config)
    assert result.steps == 6 * 4
    after = vision_accuracy(classifier, pixels, labels)
    assert before < 0.75 and after >= 0.9


class CountingTopK(TopK):
    """TopK that counts the layers it decided at."""

    def __init__(self, **config):
        super().__init__(**config)
        self.decisions = 0

    def select(self, state):
        self.decisions += 1
        return super().select(state)


def test_pruning_switches_on_after_the_warm_up_epochs():
    pixels, labels = two_colour_dataset(32)
    method = CountingTopK(r_max=0.6, alpha=1.2)
    classifier = make_vit(num_labels=2, method=method)
    config = VisionTrainConfig(epochs=3, batch_size=16, warmup_epochs=0.5, augment=False)
    train_vit(classifier, pixels, labels, config, prune_after_epochs=2)
    assert method.decisions == 1 * 2 * (classifier.num_layers - 1), \
        "only the last epoch's 2 steps prune, at every layer but the last (it computes CLS's row alone)"
    assert classifier.method is method and not classifier.training


def test_a_fork_shares_the_warm_up_and_leaves_the_original_untouched():
    pixels, labels = two_colour_dataset(32)
    config = VisionTrainConfig(epochs=3, batch_size=16, warmup_epochs=0.5)
    straight = VisionTrainer(make_vit(num_labels=2), pixels, labels, config)
    straight.train_until()
    original = VisionTrainer(make_vit(num_labels=2), pixels, labels, config)
    original.train_until(1)
    pruned = original.fork(TopK(r_max=0.6, alpha=1.2))
    assert pruned.step == original.step == 2 and pruned.pixels is original.pixels
    original.train_until()
    pruned.train_until()
    for a, b in zip(straight.classifier.parameters(), original.classifier.parameters()):
        assert torch.equal(a, b), "forking does not disturb the original run"
    assert type(original.classifier.method) is NoPruning and type(pruned.classifier.method) is TopK
    moved = [not torch.equal(a, b) for a, b in zip(original.classifier.parameters(), pruned.classifier.parameters())]
    assert any(moved), "the fork trained its own copy"
    assert pruned.scheduler.get_last_lr() == original.scheduler.get_last_lr()


def test_each_stretch_reports_its_steps_done_of_its_length():
    pixels, labels = two_colour_dataset(32)
    trainer = VisionTrainer(make_vit(num_labels=2), pixels, labels, VisionTrainConfig(epochs=3, batch_size=16))
    warm_up, rest = [], []
    trainer.train_until(1, prune=False, on_step=lambda done, total: warm_up.append((done, total)))
    trainer.train_until(on_step=lambda done, total: rest.append((done, total)))
    assert warm_up == [(1, 2), (2, 2)] and rest == [(k, 4) for k in range(1, 5)]


def test_methods_with_learned_parameters_cannot_be_forked_in():
    trainer = VisionTrainer(make_vit(), random_pixels(4), torch.tensor([0, 1, 2, 0]), VisionTrainConfig())
    with pytest.raises(ValueError, match="learned parameters"):
        trainer.fork(LearnedTokenPruning(3))


def test_ltp_soft_training_moves_thresholds():
    pixels, labels = two_colour_dataset(32)
    method = LearnedTokenPruning(3, thresholds=[0.9] * 3, temperature=0.05, keep_lambda=0.2, mode="soft")
    classifier = make_vit(num_labels=2, method=method)
    result = train_vit(classifier, pixels, labels, VisionTrainConfig(epochs=2, batch_size=16, augment=False))
    assert len(result.keep_fractions) == 3
    assert not torch.allclose(method.thresholds.detach(), torch.full((3,), 0.9))


def test_bad_training_input_is_refused():
    with pytest.raises(ValueError, match="as many labels"):
        train_vit(make_vit(), random_pixels(4), torch.tensor([0, 1]), VisionTrainConfig())


def test_augment_crops_and_flips_without_changing_shape():
    pixels = random_pixels(8)
    out = augment(pixels, torch.Generator().manual_seed(0))
    assert out.shape == pixels.shape and out.dtype == torch.uint8
    again = augment(pixels, torch.Generator().manual_seed(0))
    assert torch.equal(out, again), "seeded augmentation is reproducible"
    assert not torch.equal(out, pixels)
    # Every output is a shifted (possibly mirrored) window of its input: some 24x24 core matches.
    for original, changed in zip(pixels, out):
        found = any(torch.equal(window[:, 4:28, 4:28], original[:, 4 + dy:28 + dy, 4 + dx:28 + dx])
                    for window in (changed, changed.flip(-1)) for dy in range(-4, 5) for dx in range(-4, 5))
        assert found


@pytest.mark.parametrize("method, stem", [(TopK(r_max=0.6, alpha=1.2, score="received"), "patch"),
                                          (LearnedTokenPruning(3, thresholds=[0.6, 0.8, 1.0]), "patch"),
                                          (TopK(r_max=0.6, alpha=1.0), "conv")])
def test_save_then_load_gives_identical_traces(tmp_path, method, stem):
    original = make_vit(method=method, stem=stem)
    if stem == "conv":   # move the stem's BatchNorm statistics away from their defaults: they must be saved too
        original.train()
        original(original.pixel_values(random_pixels(8, seed=5)))
        original.eval()
    folder = save_vision_classifier(original, tmp_path / "vit")
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    assert json.loads((folder / "pruning.json").read_text())["method"] == method.name
    restored = load_vision_classifier(folder)
    assert type(restored.method) is type(method) and restored.grid == (12, 12) and restored.source_size == 32
    assert restored.config.stem == stem
    saved = restored.model.state_dict()   # weights and buffers (the stem's BatchNorm statistics)
    assert all(torch.equal(tensor, saved[name]) for name, tensor in original.model.state_dict().items())
    pixels = random_pixels(3)
    for a, b in zip(original.trace(pixels), restored.trace(pixels)):
        np.testing.assert_array_equal(a.kept, b.kept)
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert type(load_vision_classifier(folder, method=NoPruning()).method) is NoPruning


def test_loading_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="No saved vision model"):
        load_vision_classifier(tmp_path / "nowhere")


def write_cifar_like(folder, split: str, per_class: int = 3, column: str = "jpeg") -> None:
    rows = []
    for label in range(10):
        for number in range(per_class):
            buffer = io.BytesIO()
            Image.new("RGB", (32, 32), (label * 25, number * 40, 100)).save(buffer, format="PNG")
            data = buffer.getvalue()
            rows.append({column: data if column == "jpeg" else {"bytes": data, "path": None}, "label": label})
    (folder / "cifar10").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "cifar10" / f"{split}.parquet")


@pytest.mark.parametrize("column", ["jpeg", "img"], ids=["local-copy", "hub-layout"])
def test_cifar10_loads_from_a_data_directory(tmp_path, column):
    write_cifar_like(tmp_path, "test", column=column)
    dataset = load_cifar10("test", data_dir=tmp_path)
    assert len(dataset) == 30 and dataset.pixels.shape == (30, 3, 32, 32) and dataset.pixels.dtype == torch.uint8
    assert dataset.class_names[0] == "airplane" and dataset.labels.tolist()[:4] == [0, 0, 0, 1]
    assert dataset.pixels[3, 0, 0, 0].item() == 25, "label 1's first picture has red 25"
    assert dataset.image(3).getpixel((5, 5)) == (25, 0, 100)
    subset = load_cifar10("test", data_dir=tmp_path, limit=20, seed=1)
    assert sorted(subset.labels.tolist()) == sorted(list(range(10)) * 2), "a balanced sample"
    full = load_cifar10("test", data_dir=tmp_path)
    index = subset.split_indices()
    assert torch.equal(full.pixels[index], subset.pixels) and torch.equal(full.labels[index], subset.labels), \
        "each sampled image remembers its place in the split"


def test_a_validation_set_is_held_out_of_the_training_split_disjoint_and_balanced(tmp_path):
    write_cifar_like(tmp_path, "train", per_class=6)
    full = load_cifar10("train", data_dir=tmp_path)
    rest, held = full.hold_out(20, seed=3)
    assert (len(rest), len(held)) == (40, 20)
    assert sorted(rest.ids + held.ids) == list(range(60)), "together every image, each once"
    assert sorted(held.labels.tolist()) == sorted(list(range(10)) * 2), "class-balanced"
    assert rest.ids == sorted(rest.ids), "the rest keeps the split's order"
    assert torch.equal(full.pixels[held.split_indices()], held.pixels), "ids name the images in the split"
    assert full.hold_out(20, seed=3)[1].ids == held.ids and full.hold_out(20, seed=4)[1].ids != held.ids, "seeded"
    for size in (0, 60):
        with pytest.raises(ValueError, match=f"size.*{size}"):
            full.hold_out(size)

    train, validation = vision_data.load_cifar10_training(tmp_path, validation_size=20, train_limit=10, seed=1,
                                                          validation_seed=3)
    assert validation.ids == held.ids, "the same validation images whatever the training seed and limit"
    assert len(train) == 10 and set(train.ids) <= set(rest.ids), "training images come from the rest only"


def _offline(*args, **kwargs):
    raise OSError("offline")


def test_cifar10_without_data_or_hub_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.hf_hub_download", _offline)
    with pytest.raises(DatasetUnavailableError, match="LENS_DATA_DIR|No file") as caught:
        load_cifar10("train", data_dir=tmp_path)
    assert "cifar10/train.parquet" in str(caught.value)
    assert "uoft-cs/cifar10/plain_text/train-00000-of-00001.parquet" in str(caught.value), "the hub file tried"
    with pytest.raises(ValueError, match="split"):
        load_cifar10("validation", data_dir=tmp_path)


def test_images_read_the_data_directory_from_the_environment(tmp_path, monkeypatch):
    """Images and text share one lookup of the data directory (pruning_core.paths)."""
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.hf_hub_download", _offline)
    with pytest.raises(DatasetUnavailableError, match=str(tmp_path)):
        vision_data.load_cifar10("test")


# ----------------------------------------------------------------------------------------------- distillation

def test_the_distillation_loss_reaches_the_student_and_not_the_teacher():
    pixels = random_pixels(6)
    teacher, student = make_vit(seed=1), make_vit(seed=2, method=TopK(r_max=0.6, alpha=1.2))
    student_logits = student(student.pixel_values(pixels)).logits
    teacher_logits = teacher(teacher.pixel_values(pixels)).logits
    loss = distillation_loss(student_logits, teacher_logits, temperature=2.0)
    assert loss.item() > 0 and distillation_loss(teacher_logits, teacher_logits).item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters()), "no gradient flows into the teacher"
    assert sum(float(p.grad.abs().sum()) for p in student.parameters() if p.grad is not None) > 0


def test_a_student_learns_what_its_teacher_says_rather_than_the_labels():
    pixels, labels = two_colour_dataset(32)   # balanced labels
    config = VisionTrainConfig(epochs=4, batch_size=16, learning_rate=3e-3, warmup_epochs=0.5, augment=False)
    student = VisionTrainer(make_vit(num_labels=2), pixels, labels, config, Distillation(weight=1.0))
    says_one = StepOutput(logits=torch.tensor([[-3.0, 3.0]]).repeat(16, 1), feature=torch.zeros(16, 32))
    for _ in range(8):
        student.train_step(says_one)
    with torch.no_grad():
        predictions = student.classifier.predict(pixels)
    assert (predictions == 1).all(), "a teacher that always says class 1 outweighs the labels at weight 1"


def test_trainers_advanced_together_see_the_same_batches_as_alone():
    pixels, labels = two_colour_dataset(32)
    config = VisionTrainConfig(epochs=3, batch_size=16, warmup_epochs=0.5)
    teacher = VisionTrainer(make_vit(num_labels=2), pixels, labels, config)
    teacher.train_until(1)
    alone, together = (teacher.fork(TopK(r_max=0.6, alpha=1.2)) for _ in range(2))
    alone.train_until()
    results = train_alongside(teacher, [together])
    assert [result.steps for result in results] == [6, 6]
    for a, b in zip(alone.classifier.parameters(), together.classifier.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="same step"):
        train_alongside(teacher, [teacher.fork(NoPruning()), VisionTrainer(make_vit(num_labels=2), pixels, labels,
                                                                            config)])
    with pytest.raises(ValueError, match="distils exactly when"):
        alone.train_step(teacher.train_step())


def test_a_distilled_model_saves_and_loads_exactly(tmp_path):
    pixels, labels = two_colour_dataset(32)
    teacher = VisionTrainer(make_vit(num_labels=2, stem="conv"), pixels, labels,
                            VisionTrainConfig(epochs=2, batch_size=16, warmup_epochs=0.5))
    teacher.train_until(1)
    student = teacher.fork(TopK(r_max=0.6, alpha=1.0), Distillation(weight=0.7, temperature=2.0, feature_weight=0.5))
    train_alongside(teacher, [student])
    restored = load_vision_classifier(save_vision_classifier(student.classifier, tmp_path / "distilled"))
    inputs = student.classifier.pixel_values(pixels[:8])
    with torch.no_grad():
        assert torch.equal(student.classifier(inputs).logits, restored(inputs).logits)
    assert restored.method.config() == student.classifier.method.config()


def test_the_first_epochs_can_train_on_a_cheaper_grid():
    pixels, labels = two_colour_dataset(32)
    config = VisionTrainConfig(epochs=2, batch_size=16, augment=False, low_res_size=32, low_res_epochs=1)
    trainer = VisionTrainer(make_vit(num_labels=2), pixels, labels, config)
    assert trainer.picture_size() == 32 and trainer.low_res_steps == 2
    cheap = trainer.classifier(trainer.classifier.pixel_values(pixels[:2], size=32), record=True)   # every row
    assert cheap.loop.hidden.shape[1] == 1 + 8 * 8, "32px pictures: an 8 x 8 grid, position embeddings resized"
    trainer.train_until(1)
    assert trainer.picture_size() is None
    trainer.train_until()
    assert trainer.classifier(trainer.classifier.pixel_values(pixels[:2]), record=True).loop.hidden.shape[1] == 145
