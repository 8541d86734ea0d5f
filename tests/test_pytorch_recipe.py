"""Notebook 07b's recipe, as exported to lessons.pytorch_recipe: the photos in memory, the range test, the
torchrun script (DistributedDataParallel), and its benchmark in quick mode. Torch only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import setup
from lessons import pytorch_cnn as cnn
from lessons import pytorch_recipe as recipe


def _tiny_loaders(synthetic_pets, image_size=32):
    from helpers.data import get_dataset
    from helpers.torch_data import make_loaders

    dataset = get_dataset(synthetic_pets.root, progress=False)
    return make_loaders(dataset, cnn.train_transform(image_size), cnn.eval_transform(image_size), batch_size=16, num_workers=0)


def test_photos_in_memory_give_the_same_evaluation_views_as_the_files_and_random_training_crops(synthetic_pets):
    from helpers.data import get_dataset
    from helpers.torch_data import FastJpegLoader, image_folders

    dataset = get_dataset(synthetic_pets.root, progress=False)
    size = 32
    files = image_folders(dataset, cnn.train_transform(size), cnn.eval_transform(size), loader=FastJpegLoader(round(1.25 * size)))
    memory = recipe.memory_loaders(dataset, size, batch_size=8, progress=False)
    for split in ("val", "test"):
        in_memory = memory[split].dataset
        assert len(in_memory) == len(files[split]) and in_memory.targets == files[split].targets
        for index in range(0, len(in_memory), 5):
            assert torch.allclose(in_memory[index][0], files[split][index][0], atol=0.02)  # the same view, up to rounding to uint8
    train = memory["train"].dataset
    assert all(p.dtype == torch.uint8 and min(p.shape[1:]) == round(1.25 * size) for p in train.pixels)  # decoded once, a little larger
    torch.manual_seed(0)
    crops = [train[0][0] for _ in range(4)]
    assert all(c.shape == (3, size, size) and c.dtype == torch.float32 for c in crops)
    assert any(not torch.equal(crops[0], c) for c in crops[1:]), "training crops must stay random"
    assert memory["train"].num_workers == 0


def test_photos_in_memory_refuse_a_folder_without_the_two_class_folders(tmp_path):
    from PIL import Image

    (tmp_path / "cat").mkdir()
    (tmp_path / "horse").mkdir()
    for folder in ("cat", "horse"):
        Image.new("RGB", (40, 30)).save(tmp_path / folder / "a.jpg")
    with pytest.raises(ValueError, match=r"class folders \['cat', 'horse'\]; expected \['cat', 'dog'\]"):
        recipe.PhotosInMemory(tmp_path, 32, cnn.eval_transform(32), progress=False)


@pytest.mark.slow
def test_the_recipe_benchmark_in_quick_mode_compares_each_change_with_the_path_before(tmp_path):
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), "PYTHONPATH": str(setup.PROJECT_ROOT), "CATSDOGS_QUICK": "1"}
    result = subprocess.run([sys.executable, str(setup.PROJECT_ROOT / "benchmarks" / "bench_pytorch_recipe.py")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "data" / "benchmarks" / "bench_pytorch_recipe.json").read_text())
    assert record["quick"] is True
    precisions = record["settings"]["precisions"]
    expected = {f"{change}_vs_before_{p}" for change in ("channels_last", "memory", "plain_val", "pool_first", "keep_memory", "after") for p in precisions}
    assert expected <= set(record["cases"])
    assert record["cases"]["after_vs_before_float32"]["target"] == 0.5
    assert all(case["ratio"]["rounds"] == 2 for case in record["cases"].values())


def test_range_test_returns_a_rate_inside_its_sweep_and_restores_the_weights(synthetic_pets):
    torch.manual_seed(0)
    loaders = _tiny_loaders(synthetic_pets)
    model = cnn.CatsDogsCNN(widths=(8, 16))
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    found = recipe.lr_range_test(model, loaders["train"], torch.device("cpu"), start_lr=1e-4, end_lr=10.0, steps=30)
    rates = np.array(found["rates"])
    assert rates[0] == pytest.approx(1e-4) and np.all(np.diff(rates) > 0)
    assert np.allclose(rates[1:] / rates[:-1], (10.0 / 1e-4) ** (1 / 29))  # geometric
    assert len(found["losses"]) == len(rates) > 10  # more steps than one small loader holds: it restarts
    assert 1e-4 <= found["suggested"] <= 10.0
    lowest = int(np.argmin(found["losses"]))
    assert found["suggested"] == pytest.approx(max(1e-4, rates[lowest] / 10))
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())




def test_the_script_runs_only_as_a_script():
    source = (setup.PROJECT_ROOT / "lessons" / "pytorch_recipe.py").read_text()
    assert 'if __name__ == "__main__" and "ipykernel" not in sys.modules:' in source
    assert "urllib" not in source  # nothing is downloaded from the repository at run time


def test_parameters_cell_and_script_default_to_the_same_final_recipe():
    import nbformat

    nb = nbformat.read(setup.PROJECT_ROOT / "notebooks" / "07b_pytorch_recipe.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    knobs = {}
    exec(cell.source.split("if QUICK:")[0], {}, knobs)
    args = recipe.parse_args([])
    assert (args.epochs, args.image_size, tuple(args.widths), args.batch_size) == (knobs["EPOCHS"], knobs["IMAGE_SIZE"], knobs["WIDTHS"], knobs["BATCH_SIZE"])
    assert (args.weight_decay, args.warmup_fraction, args.label_smoothing, args.tta, args.precision) == (
        knobs["WEIGHT_DECAY"], knobs["WARMUP_FRACTION"], knobs["LABEL_SMOOTHING"], knobs["TTA"], knobs["PRECISION"])
    assert (args.channels_last, args.num_workers, args.peak_lr) == (knobs["CHANNELS_LAST"], knobs["NUM_WORKERS"], knobs["PEAK_LR"])


@pytest.mark.slow
def test_torchrun_two_cpu_processes_end_with_identical_weights_and_score_each_test_photo_once(synthetic_pets, tmp_path):
    """`torchrun -m lessons.pytorch_recipe`, gloo backend: 2 processes, one short epoch on synthetic photos."""
    from helpers.data import get_dataset

    ranks, checkpoint, history = tmp_path / "ranks", tmp_path / "models" / "ddp.pt", tmp_path / "summary.json"
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path / "project"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(setup.PROJECT_ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "lessons.pytorch_recipe",
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
    first = recipe.main(common + ["--widths", "16", "32", "64", "128", "--peak-lr", "1e-3", "--weight-decay", "0.01", "--warmup-fraction", "0",
                               "--label-smoothing", "0", "--no-tta", "--checkpoint", str(project_dirs / "first.pt")])
    final = recipe.main(common + ["--checkpoint", str(project_dirs / "final.pt")])
    print({"first": first["best_val_accuracy"], "final": final["best_val_accuracy"]})
    assert final["best_val_accuracy"] > first["best_val_accuracy"]
    assert first["best_val_accuracy"] > 0.55  # both learn something: the comparison is not between two coin flips




def test_shard_sampler_gives_every_photo_to_exactly_one_rank_where_distributed_sampler_repeats_some():
    from torch.utils.data.distributed import DistributedSampler

    photos = list(range(10))
    shards = [list(recipe.ShardSampler(photos, rank, 3)) for rank in range(3)]
    assert sorted(sum(shards, [])) == photos
    assert [len(recipe.ShardSampler(photos, rank, 3)) for rank in range(3)] == [4, 3, 3]
    padded = sum((list(DistributedSampler(photos, num_replicas=3, rank=rank, shuffle=False)) for rank in range(3)), [])
    assert len(padded) == 12 and len(set(padded)) == 10  # why evaluation does not use DistributedSampler
