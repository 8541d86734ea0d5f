"""Notebook 07's PyTorch CNN, as exported to lessons.pytorch_cnn: transforms, the model and its memory format, the
loop (schedule, TTA, label smoothing), balanced check batches, checkpoints, predicting one photo, top losses. Torch only.
Notebook 07b's recipe (range test, photos in memory, the torchrun script): tests/test_pytorch_recipe.py."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import setup
from lessons import pytorch_cnn as cnn


def _photo(width=150, height=110, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _tiny_loaders(synthetic_pets, image_size=32):
    from helpers.data import get_dataset
    from helpers.torch_data import make_loaders

    dataset = get_dataset(synthetic_pets.root, progress=False)
    return make_loaders(dataset, cnn.train_transform(image_size), cnn.eval_transform(image_size), batch_size=16, num_workers=0)


def _mirror_symmetric(model: torch.nn.Module) -> torch.nn.Module:
    """Make every conv kernel equal to its own mirror image: the network then gives a photo and
    its mirror the same logits (global average pooling forgets where things were)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.copy_((module.weight + module.weight.flip(-1)) / 2)
    return model


def test_eval_transform_is_deterministic_and_train_transform_is_not():
    photo = _photo()
    evaluate = cnn.eval_transform(64)
    first, second = evaluate(photo), evaluate(photo)
    assert first.shape == (3, 64, 64) and first.dtype == torch.float32
    assert torch.equal(first, second)

    augment = cnn.train_transform(64)
    torch.manual_seed(0)
    crops = [augment(photo) for _ in range(4)]
    assert all(crop.shape == (3, 64, 64) for crop in crops)
    assert any(not torch.equal(crops[0], crop) for crop in crops[1:])


def test_model_gives_one_logit_per_class_at_any_image_size():
    model = cnn.CatsDogsCNN(widths=(8, 16)).eval()
    for size in (32, 57):
        assert model(torch.zeros(3, 3, size, size)).shape == (3, 2)


def test_the_final_widths_have_about_389_thousand_parameters_and_the_first_about_98_thousand():
    assert cnn.count_parameters(cnn.CatsDogsCNN(widths=(32, 64, 128, 256))) == 389_410
    assert cnn.count_parameters(cnn.CatsDogsCNN()) == 97_938


def test_pooling_before_the_relu_gives_the_outputs_and_gradients_of_relu_then_pool():
    """Why the blocks may pool first: max and ReLU commute, so the cheaper order computes the same function
    (and the benchmark's old order, relu_before_pool, is a fair "before")."""
    from benchmarks.bench_pytorch_recipe import relu_before_pool

    torch.manual_seed(0)
    pool_first = cnn.CatsDogsCNN(widths=(8, 16))
    relu_first = cnn.CatsDogsCNN(widths=(8, 16))
    relu_first.load_state_dict(pool_first.state_dict())  # ReLU and pooling hold no weights: the keys match
    relu_first.features = relu_before_pool(relu_first.features)
    assert [type(layer).__name__ for layer in pool_first.features[:4]] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"]
    assert [type(layer).__name__ for layer in relu_first.features[:4]] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    images, labels = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 0, 1, 1, 0])
    for model in (pool_first, relu_first):
        model.head[2].p = 0.0  # no dropout: the two forward passes must see the same network
        torch.nn.functional.cross_entropy(model(images), labels).backward()
    with torch.no_grad():
        assert torch.equal(pool_first(images), relu_first(images))
    for (name, a), (_, b) in zip(pool_first.named_parameters(), relu_first.named_parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-6), name
    assert pool_first.features[0].weight.grad.abs().sum() > 0


def test_mirror_tta_of_a_mirror_symmetric_model_equals_the_plain_prediction():
    torch.manual_seed(0)
    images = torch.randn(4, 3, 32, 32)
    symmetric = _mirror_symmetric(cnn.CatsDogsCNN(widths=(8, 16))).eval()
    with torch.no_grad():
        assert torch.allclose(cnn.logits_of(symmetric, images, tta=True), cnn.logits_of(symmetric, images), atol=1e-5)
        ordinary = cnn.CatsDogsCNN(widths=(8, 16)).eval()
        plain, mirrored = ordinary(images), ordinary(images.flip(-1))
        assert not torch.allclose(plain, mirrored, atol=1e-4), "a random network should see a mirror differently"
        assert torch.allclose(cnn.logits_of(ordinary, images, tta=True), (plain + mirrored) / 2, atol=1e-6)


def test_one_cycle_warms_up_in_a_straight_line_then_falls_along_a_cosine():
    peak, total = 0.01, 1000  # warm-up: the first 250 steps
    assert cnn.one_cycle_lr(0, total, peak, 0.25) == pytest.approx(peak / 25)
    assert cnn.one_cycle_lr(125, total, peak, 0.25) == pytest.approx((peak / 25 + peak) / 2)
    assert cnn.one_cycle_lr(250, total, peak, 0.25) == pytest.approx(peak)
    end = peak / 1e4
    assert cnn.one_cycle_lr(625, total, peak, 0.25) == pytest.approx((peak + end) / 2)  # half-way down the cosine
    assert cnn.one_cycle_lr(total, total, peak, 0.25) == pytest.approx(end)
    assert cnn.one_cycle_lr(total + 50, total, peak, 0.25) == pytest.approx(end)  # never back up
    assert cnn.one_cycle_lr(0, total, peak, 0.0) == pytest.approx(peak)  # no warm-up: a plain cosine
    assert cnn.one_cycle_lr(500, total, peak, 0.0) == pytest.approx((peak + end) / 2)


def test_label_smoothing_is_what_the_training_step_minimises():
    torch.manual_seed(0)
    model = cnn.CatsDogsCNN(widths=(8,)).train()
    images, labels = torch.randn(8, 3, 16, 16), torch.tensor([0, 1] * 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # measure the loss, change nothing
    smoothed, logits = cnn.train_step(model, optimizer, images, labels, label_smoothing=0.1)
    log_p = torch.log_softmax(logits, dim=1)
    targets = torch.full_like(log_p, 0.05).scatter_(1, labels[:, None], 0.95)  # 0.1 spread over 2 classes
    assert smoothed.item() == pytest.approx(-(targets * log_p).sum(1).mean().item(), rel=1e-5)
    plain, logits = cnn.train_step(model, optimizer, images, labels)  # dropout: new logits, so compare with those
    assert plain.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), rel=1e-5)


def test_fit_follows_the_schedule_and_its_checkpoint_reloads_with_identical_predictions(synthetic_pets, project_dirs, capsys):
    torch.manual_seed(0)
    loaders = _tiny_loaders(synthetic_pets)
    model = cnn.CatsDogsCNN(widths=(8, 16))
    untrained = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    checkpoint = project_dirs / "data" / "models" / "cnn.pt"
    history = cnn.fit(model, loaders, torch.device("cpu"), epochs=2, learning_rate=1e-2, checkpoint=checkpoint,
                      warmup_fraction=0.5, label_smoothing=0.1, progress=False)
    assert {key: len(values) for key, values in history.items()} == {key: 2 for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")}
    steps = len(loaders["train"])  # the schedule is stepped after every batch: at the end of epoch 1, the warm-up's peak
    assert history["lr"][0] == pytest.approx(cnn.one_cycle_lr(steps, 2 * steps, 1e-2, 0.5))
    assert history["lr"][0] == pytest.approx(1e-2)
    assert history["lr"][1] == pytest.approx(1e-2 / 1e4)
    first, last = capsys.readouterr().out.splitlines()[-2:]  # one line per epoch: the time so far and, at that pace, the time to go
    assert first.startswith("epoch 1/2:") and first.endswith(f"| {history['seconds'][0]:.0f} s, about {history['seconds'][0]:.0f} s to go")
    assert last.startswith("epoch 2/2:") and last.endswith(f"| {history['seconds'][1]:.0f} s")

    best_epoch = int(np.argmax(history["val_accuracy"]))
    reloaded = cnn.load_checkpoint(checkpoint, widths=(8, 16))
    assert any(not torch.equal(untrained[name], tensor) for name, tensor in reloaded.state_dict().items()), "training changed nothing"
    labels, predicted, probabilities = cnn.predict(reloaded, loaders["val"], torch.device("cpu"))
    assert float((labels == predicted).mean()) == pytest.approx(history["val_accuracy"][best_epoch])  # the best epoch was kept
    labels_again, predicted_again, probabilities_again = cnn.predict(cnn.load_checkpoint(checkpoint, widths=(8, 16)), loaders["val"], torch.device("cpu"))
    assert np.array_equal(predicted, predicted_again) and np.array_equal(probabilities, probabilities_again)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_load_checkpoint_says_what_to_do_when_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="train the model first"):
        cnn.load_checkpoint(tmp_path / "nothing.pt")


def test_predict_image_is_the_softmax_of_the_model_on_the_bilinear_evaluation_view(tmp_path):
    path = tmp_path / "my pet.png"
    photo = _photo(seed=3)
    photo.save(path)
    torch.manual_seed(0)
    model = cnn.CatsDogsCNN(widths=(8,)).eval()
    probabilities = cnn.predict_image(model, path, image_size=32)
    assert list(probabilities) == ["cat", "dog"]
    with torch.no_grad():
        expected = torch.softmax(model(cnn.eval_transform(32)(photo)[None]), dim=1)[0]
    assert [probabilities["cat"], probabilities["dog"]] == pytest.approx(expected.tolist(), abs=1e-6)
    resize = next(t for t in cnn.eval_transform(32).transforms if type(t).__name__ == "Resize")
    assert resize.interpolation == cnn.BILINEAR  # the same resampling as in training, not nearest-neighbour


def test_predict_image_rejects_a_file_that_is_not_an_image(tmp_path):
    not_a_photo = tmp_path / "cat.jpg"
    not_a_photo.write_text("this is text with a .jpg name")
    with pytest.raises(cnn.NotAnImageError, match="not an image") as raised:
        cnn.predict_image(cnn.CatsDogsCNN(widths=(8,)), not_a_photo, image_size=32)
    assert isinstance(raised.value, ValueError) and str(not_a_photo) in str(raised.value)
    with pytest.raises(FileNotFoundError, match="Give the path of a photo"):
        cnn.predict_image(cnn.CatsDogsCNN(widths=(8,)), tmp_path / "missing.jpg", image_size=32)


def test_top_losses_puts_the_most_confidently_wrong_photos_first():
    labels = np.array([0, 1, 0, 1, 0])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.03, 0.97], [0.6, 0.4], [0.55, 0.45]])
    assert cnn.top_losses(labels, probabilities, k=3).tolist() == [2, 3, 4]
    assert cnn.top_losses(labels, probabilities, k=10).tolist() == [2, 3, 4, 1, 0]


def test_precision_is_bfloat16_only_where_the_cpu_has_bf16_instructions(monkeypatch):
    assert cnn.cpu_has_bf16("flags : fpu avx2 avx512f avx512_bf16 amx_tile")
    assert cnn.cpu_has_bf16("flags : fpu amx_bf16")
    assert not cnn.cpu_has_bf16("flags : fpu avx2 avx512f")
    cpu = torch.device("cpu")
    monkeypatch.setattr(cnn, "cpu_has_bf16", lambda cpuinfo=None: False)
    assert cnn.autocast_dtype(cpu) is None  # the float32 fallback
    monkeypatch.setattr(cnn, "cpu_has_bf16", lambda cpuinfo=None: True)
    assert cnn.autocast_dtype(cpu) == torch.bfloat16
    assert cnn.autocast_dtype(cpu, "float32") is None
    assert cnn.autocast_dtype(torch.device("cuda"), "auto") == torch.float16
    with pytest.raises(ValueError, match="precision must be"):
        cnn.autocast_dtype(cpu, "half")


def test_balanced_indices_draw_each_class_equally_and_say_when_a_class_is_short():
    labels = [0] * 30 + [1] * 12  # every cat before every dog, as ImageFolder lists them
    chosen = cnn.balanced_indices(labels, per_class=8, seed=1)
    assert len(chosen) == 16 == len(set(chosen))
    assert [labels[i] for i in chosen] == [0, 1] * 8  # interleaved: both classes in any prefix
    assert chosen != cnn.balanced_indices(labels, per_class=8, seed=2)  # drawn at random, not the first ones
    with pytest.raises(ValueError, match="needs 13 photos of class 'dog'; found 12"):
        cnn.balanced_indices(labels, per_class=13)


def test_channels_last_changes_the_layout_not_the_predictions():
    torch.manual_seed(0)
    images = torch.randn(4, 3, 32, 32)
    plain = cnn.build_model(torch.device("cpu"), channels_last=False, widths=(8, 16)).eval()
    nhwc = cnn.build_model(torch.device("cpu"), widths=(8, 16)).eval()
    nhwc.load_state_dict(plain.state_dict())
    assert cnn.is_channels_last(nhwc) and not cnn.is_channels_last(plain)
    with torch.no_grad():
        assert torch.allclose(nhwc(images.contiguous(memory_format=torch.channels_last)), plain(images), atol=1e-5)


def test_run_epoch_feeds_batches_in_the_models_layout():
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self, channels_last):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 3)
            if channels_last:
                self.conv.to(memory_format=torch.channels_last)

        def forward(self, images):
            seen.append(images.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous())
            return self.conv(images).mean((2, 3))

    batches = [(torch.randn(2, 3, 8, 8), torch.tensor([0, 1]))]
    for channels_last in (True, False):
        seen.clear()
        cnn.run_epoch(Spy(channels_last), batches, torch.device("cpu"), progress=False)
        assert seen == [channels_last]


def test_default_num_workers_is_zero_unless_workers_are_forked(monkeypatch):
    import multiprocessing

    from helpers import torch_data

    monkeypatch.setattr(torch_data.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none=False: "spawn")  # Windows, macOS
    assert torch_data.default_num_workers() == 0
    monkeypatch.setattr(multiprocessing, "get_start_method", lambda allow_none=False: "fork")  # Linux, Colab
    assert torch_data.default_num_workers() == 4
    monkeypatch.setattr(torch_data.os, "cpu_count", lambda: 1)
    assert torch_data.default_num_workers() == 0


def test_fast_jpeg_loader_decodes_big_jpegs_smaller_but_not_below_min_side(tmp_path):
    from helpers.torch_data import FastJpegLoader

    big = _photo(width=800, height=600, seed=1)
    big.save(tmp_path / "big.jpg", quality=90)
    big.save(tmp_path / "big.png")
    loaded = FastJpegLoader(160)(tmp_path / "big.jpg")
    assert loaded.mode == "RGB" and min(loaded.size) >= 160 and loaded.size[0] < 800
    assert loaded.size[0] / loaded.size[1] == pytest.approx(800 / 600, rel=0.02)
    assert FastJpegLoader(160)(tmp_path / "big.png").size == (800, 600)  # only JPEGs can be decoded at a reduced scale


def test_describe_loaders_gives_photos_batches_and_workers_per_split():
    from torch.utils.data import DataLoader, TensorDataset

    from helpers.torch_data import describe_loaders

    loaders = {"train": DataLoader(TensorDataset(torch.zeros(10, 1)), batch_size=4), "val": DataLoader(TensorDataset(torch.zeros(3, 1)), batch_size=4)}
    assert describe_loaders(loaders) == "train:    10 photos,   3 batches, 0 workers\nval  :     3 photos,   1 batches, 0 workers"


def test_open_photo_reads_any_picture_as_rgb_and_names_a_bad_file(tmp_path):
    from helpers.torch_data import NotAnImageError, open_photo

    grey = tmp_path / "grey.png"
    Image.new("L", (5, 4)).save(grey)
    assert open_photo(grey).mode == "RGB" and open_photo(grey).size == (5, 4)
    (tmp_path / "cat.jpg").write_text("text")
    with pytest.raises(NotAnImageError, match="cat.jpg is not an image"):
        open_photo(tmp_path / "cat.jpg")
    assert cnn.NotAnImageError is NotAnImageError  # what predict_image raises


def test_describe_photos_in_memory_counts_photos_and_megabytes():
    from types import SimpleNamespace

    from helpers.torch_data import describe_photos_in_memory

    class Photos(list):
        pixels: list

    train, val = Photos([0, 0]), Photos([0])
    train.pixels = [torch.zeros(3, 1000, 1000, dtype=torch.uint8)] * 2
    val.pixels = [torch.zeros(1_000_000, dtype=torch.uint8)]
    loaders = {"train": SimpleNamespace(dataset=train), "val": SimpleNamespace(dataset=val)}
    assert describe_photos_in_memory(loaders, 2.4) == "3 photos decoded in 2 s, 7 MB in memory"
