"""Notebook 07's PyTorch CNN (notebooks/train_pytorch_cnn.py): transforms, checkpoints,
predicting one photo, and the DistributedDataParallel script under torchrun. Torch only."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import setup

SCRIPT = setup.PROJECT_ROOT / "notebooks" / "train_pytorch_cnn.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("train_pytorch_cnn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cnn = _load_script()


def _photo(width=150, height=110, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _tiny_loaders(synthetic_pets, image_size=32):
    from helpers.data import get_dataset
    from helpers.torch_data import make_loaders

    dataset = get_dataset(synthetic_pets.root, progress=False)
    return make_loaders(dataset, cnn.train_transform(image_size), cnn.eval_transform(image_size), batch_size=16, num_workers=0)


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


def test_checkpoint_written_by_the_training_loop_reloads_with_identical_predictions(synthetic_pets, project_dirs):
    torch.manual_seed(0)
    loaders = _tiny_loaders(synthetic_pets)
    model = cnn.CatsDogsCNN(widths=(8, 16))
    untrained = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    checkpoint = project_dirs / "data" / "models" / "cnn.pt"
    history = cnn.fit(model, loaders, torch.device("cpu"), epochs=1, learning_rate=1e-2, checkpoint=checkpoint, progress=False)
    assert {key: len(values) for key, values in history.items()} == {"loss": 1, "accuracy": 1, "val_loss": 1, "val_accuracy": 1, "seconds": 1}
    assert 0.0 <= history["val_accuracy"][0] <= 1.0 and np.isfinite(history["loss"][0])

    reloaded = cnn.load_checkpoint(checkpoint, widths=(8, 16))  # one epoch: the best is the final model
    assert any(not torch.equal(untrained[name], tensor) for name, tensor in reloaded.state_dict().items()), "training changed nothing"
    labels, predicted, probabilities = cnn.predict(model, loaders["val"], torch.device("cpu"))
    labels_again, predicted_again, probabilities_again = cnn.predict(reloaded, loaders["val"], torch.device("cpu"))
    assert np.array_equal(labels, labels_again) and np.array_equal(predicted, predicted_again)
    assert np.array_equal(probabilities, probabilities_again)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_load_checkpoint_says_what_to_do_when_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="train the model first"):
        cnn.load_checkpoint(tmp_path / "nothing.pt")


def test_predict_image_gives_each_class_a_probability(tmp_path):
    path = tmp_path / "my pet.png"
    _photo(seed=3).save(path)
    probabilities = cnn.predict_image(cnn.CatsDogsCNN(widths=(8,)), path, image_size=32)
    assert list(probabilities) == ["cat", "dog"]
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())


def test_predict_image_rejects_a_file_that_is_not_an_image(tmp_path):
    not_a_photo = tmp_path / "cat.jpg"
    not_a_photo.write_text("this is text with a .jpg name")
    with pytest.raises(cnn.NotAnImageError, match="not an image") as raised:
        cnn.predict_image(cnn.CatsDogsCNN(widths=(8,)), not_a_photo, image_size=32)
    assert isinstance(raised.value, ValueError) and str(not_a_photo) in str(raised.value)
    with pytest.raises(FileNotFoundError, match="Give the path of a photo"):
        cnn.predict_image(cnn.CatsDogsCNN(widths=(8,)), tmp_path / "missing.jpg", image_size=32)


@pytest.mark.slow
def test_torchrun_two_cpu_processes_end_with_identical_weights(synthetic_pets, tmp_path):
    """DistributedDataParallel with the gloo backend: 2 processes, one short epoch."""
    ranks, checkpoint = tmp_path / "ranks", tmp_path / "models" / "ddp.pt"
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path / "project"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(setup.PROJECT_ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(SCRIPT),
               "--device", "cpu", "--data", str(synthetic_pets.root), "--epochs", "1", "--image-size", "32", "--batch-size", "16",
               "--num-workers", "0", "--no-progress", "--checkpoint", str(checkpoint), "--weights-per-rank", str(ranks)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, f"STDOUT:\n{result.stdout[-3000:]}\nSTDERR:\n{result.stderr[-5000:]}"
    assert "epoch 1/1" in result.stdout and result.stdout.count("epoch 1/1") == 1, "only rank 0 reports"

    rank_0 = torch.load(ranks / "rank-0.pt", weights_only=True)
    rank_1 = torch.load(ranks / "rank-1.pt", weights_only=True)
    assert rank_0.keys() == rank_1.keys()
    assert all(torch.equal(rank_0[name], rank_1[name]) for name in rank_0)
    torch.manual_seed(42)  # the script's seed: its initial weights
    initial = cnn.CatsDogsCNN().state_dict()
    assert any(not torch.equal(initial[name], rank_0[name]) for name in rank_0), "the weights never changed"

    reloaded = cnn.load_checkpoint(checkpoint)  # one epoch: the best checkpoint is the final model
    assert all(torch.equal(tensor, rank_0[name]) for name, tensor in reloaded.state_dict().items())


@pytest.mark.slow
@pytest.mark.shared_data
def test_learns_real_photos_in_a_few_epochs(shared_data, project_dirs):
    """cats_and_dogs_filtered (2000 training photos), 3 short epochs at 96 pixels: clearly above chance."""
    summary = cnn.main(["--data", str(shared_data / "cats_and_dogs_filtered"), "--epochs", "3", "--image-size", "96",
                        "--device", "cpu", "--no-progress", "--checkpoint", str(project_dirs / "cnn.pt")])
    print(summary)
    assert summary["best_val_accuracy"] >= 0.6
    assert summary["test_accuracy"] >= 0.6


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
