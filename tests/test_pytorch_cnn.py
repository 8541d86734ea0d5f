"""Notebook 07's PyTorch CNN, as exported to lessons.pytorch_cnn: transforms, the recipe's pieces
(schedule, range test, TTA, label smoothing), checkpoints, predicting one photo, top losses, and the
DistributedDataParallel script under torchrun. Torch only."""
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


def test_range_test_returns_a_rate_inside_its_sweep_and_restores_the_weights(synthetic_pets):
    torch.manual_seed(0)
    loaders = _tiny_loaders(synthetic_pets)
    model = cnn.CatsDogsCNN(widths=(8, 16))
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    found = cnn.lr_range_test(model, loaders["train"], torch.device("cpu"), start_lr=1e-4, end_lr=10.0, steps=30)
    rates = np.array(found["rates"])
    assert rates[0] == pytest.approx(1e-4) and np.all(np.diff(rates) > 0)
    assert np.allclose(rates[1:] / rates[:-1], (10.0 / 1e-4) ** (1 / 29))  # geometric
    assert len(found["losses"]) == len(rates) > 10  # more steps than one small loader holds: it restarts
    assert 1e-4 <= found["suggested"] <= 10.0
    lowest = int(np.argmin(found["losses"]))
    assert found["suggested"] == pytest.approx(max(1e-4, rates[lowest] / 10))
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())


def test_fit_follows_the_schedule_and_its_checkpoint_reloads_with_identical_predictions(synthetic_pets, project_dirs):
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


def test_shard_sampler_gives_every_photo_to_exactly_one_rank_where_distributed_sampler_repeats_some():
    from torch.utils.data.distributed import DistributedSampler

    photos = list(range(10))
    shards = [list(cnn.ShardSampler(photos, rank, 3)) for rank in range(3)]
    assert sorted(sum(shards, [])) == photos
    assert [len(cnn.ShardSampler(photos, rank, 3)) for rank in range(3)] == [4, 3, 3]
    padded = sum((list(DistributedSampler(photos, num_replicas=3, rank=rank, shuffle=False)) for rank in range(3)), [])
    assert len(padded) == 12 and len(set(padded)) == 10  # why evaluation does not use DistributedSampler


def test_the_script_runs_only_as_a_script():
    source = (setup.PROJECT_ROOT / "lessons" / "pytorch_cnn.py").read_text()
    assert 'if __name__ == "__main__" and "ipykernel" not in sys.modules:' in source
    assert "urllib" not in source  # nothing is downloaded from the repository at run time


def test_parameters_cell_and_script_default_to_the_same_final_recipe():
    import nbformat

    nb = nbformat.read(setup.PROJECT_ROOT / "notebooks" / "07_pytorch_cnn.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    knobs = {}
    exec(cell.source.split("if QUICK:")[0], {}, knobs)
    args = cnn.parse_args([])
    assert (args.epochs, args.image_size, tuple(args.widths), args.batch_size) == (knobs["EPOCHS"], knobs["IMAGE_SIZE"], knobs["WIDTHS"], knobs["BATCH_SIZE"])
    assert (args.weight_decay, args.warmup_fraction, args.label_smoothing, args.tta, args.precision) == (
        knobs["WEIGHT_DECAY"], knobs["WARMUP_FRACTION"], knobs["LABEL_SMOOTHING"], knobs["TTA"], knobs["PRECISION"])


@pytest.mark.slow
def test_torchrun_two_cpu_processes_end_with_identical_weights_and_score_each_test_photo_once(synthetic_pets, tmp_path):
    """`torchrun -m lessons.pytorch_cnn`, gloo backend: 2 processes, one short epoch on synthetic photos."""
    from helpers.data import get_dataset

    ranks, checkpoint, history = tmp_path / "ranks", tmp_path / "models" / "ddp.pt", tmp_path / "summary.json"
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path / "project"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(setup.PROJECT_ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "lessons.pytorch_cnn",
               "--device", "cpu", "--data", str(synthetic_pets.root), "--epochs", "1", "--image-size", "32", "--batch-size", "16",
               "--widths", "8", "16", "--num-workers", "0", "--no-progress", "--checkpoint", str(checkpoint),
               "--weights-per-rank", str(ranks), "--history", str(history)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=setup.PROJECT_ROOT)
    assert result.returncode == 0, f"STDOUT:\n{result.stdout[-3000:]}\nSTDERR:\n{result.stderr[-5000:]}"
    assert result.stdout.count("epoch 1/1") == 1, "only rank 0 reports"

    rank_0 = torch.load(ranks / "rank-0.pt", weights_only=True)
    rank_1 = torch.load(ranks / "rank-1.pt", weights_only=True)
    assert rank_0.keys() == rank_1.keys()
    assert all(torch.equal(rank_0[name], rank_1[name]) for name in rank_0)
    torch.manual_seed(42)  # the script's seed: its initial weights
    initial = cnn.CatsDogsCNN(widths=(8, 16)).state_dict()
    assert any(not torch.equal(initial[name], rank_0[name]) for name in rank_0), "the weights never changed"
    reloaded = cnn.load_checkpoint(checkpoint, widths=(8, 16))  # one epoch: the best checkpoint is the final model
    assert all(torch.equal(tensor, rank_0[name]) for name, tensor in reloaded.state_dict().items())

    import json

    summary = json.loads(history.read_text())
    n_test = len(get_dataset(synthetic_pets.root, progress=False).files("test")[0])
    # each photo once: DistributedSampler would have padded an odd count up to the next multiple of 2
    assert summary["test_images"] == n_test and summary["world_size"] == 2


@pytest.mark.slow
@pytest.mark.shared_data
def test_a_short_run_of_the_final_recipe_beats_the_first_models_recipe(shared_data, tmp_path):
    """cats_and_dogs_filtered (2,000 training photos), 3 epochs at 64 pixels each. The cleaned photos
    go to data/clean/ (cached there, like a notebook's), the checkpoints to a temporary folder."""
    project_dirs = tmp_path
    common = ["--data", str(shared_data / "cats_and_dogs_filtered"), "--epochs", "3", "--image-size", "64", "--device", "cpu", "--no-progress"]
    first = cnn.main(common + ["--widths", "16", "32", "64", "128", "--peak-lr", "1e-3", "--weight-decay", "0.01", "--warmup-fraction", "0",
                               "--label-smoothing", "0", "--no-tta", "--checkpoint", str(project_dirs / "first.pt")])
    final = cnn.main(common + ["--checkpoint", str(project_dirs / "final.pt")])
    print({"first": first["best_val_accuracy"], "final": final["best_val_accuracy"]})
    assert final["best_val_accuracy"] > first["best_val_accuracy"]
    assert first["best_val_accuracy"] > 0.55  # both learn something: the comparison is not between two coin flips


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
