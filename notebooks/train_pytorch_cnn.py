"""Notebook 07's cats-vs-dogs CNN as a script, on one device or many (DistributedDataParallel).

    python notebooks/train_pytorch_cnn.py --epochs 10                      # one CPU or GPU
    torchrun --nproc_per_node 4 notebooks/train_pytorch_cnn.py --epochs 10 # 4 GPUs, one process each
    torchrun --nproc_per_node 2 notebooks/train_pytorch_cnn.py --device cpu --epochs 1  # 2 CPU processes

Notebook 07 imports the model, the transforms and `run_epoch` from this file, so the
notebook and the script train the same network. Under torchrun every process trains on
its own shard of the training photos (DistributedSampler); DistributedDataParallel
averages the gradients, so all processes hold the same weights after every step; only
rank 0 writes the checkpoint. Backend: nccl on GPUs, gloo on CPUs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torchvision.transforms import v2

if __package__ in (None, ""):  # run as a script: make the repository's helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.layout import CLASS_NAMES  # noqa: E402

# The ImageNet channel statistics: the usual choice, and the ones pretrained models expect.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def train_transform(image_size: int):
    """A random crop of 60-100 % of the photo, resized to image_size, flipped half the time.

    Every epoch sees a slightly different version of each photo, which fights overfitting.
    """
    return v2.Compose([
        v2.ToImage(),
        v2.RandomResizedCrop(image_size, scale=(0.6, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(MEAN, STD),
    ])


def eval_transform(image_size: int):
    """Deterministic: resize the shorter side, crop the centre, normalise. No augmentation,
    so a validation or test score measures the model, not the luck of a random crop."""
    return v2.Compose([
        v2.ToImage(),
        v2.Resize(round(image_size * 1.15), antialias=True),
        v2.CenterCrop(image_size),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(MEAN, STD),
    ])


class CatsDogsCNN(nn.Module):
    """Blocks of conv 3x3 -> batch norm -> ReLU -> max pool 2x2, then global average pool,
    dropout and a linear layer with one output (logit) per class.

    Each block halves the picture and widens the channels; the global average pool makes
    the network accept any image size.
    """

    def __init__(self, widths=(16, 32, 64, 128), dropout: float = 0.3, n_classes: int = len(CLASS_NAMES)):
        super().__init__()
        layers, channels = [], 3
        for width in widths:
            # no conv bias: the batch norm right after it has its own shift
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, n_classes))

    def forward(self, images):
        return self.head(self.features(images))


def build_model(device, distributed: bool = False, compile: bool = False, **model_options) -> nn.Module:
    """CatsDogsCNN on `device`, ready to train fast there.

    On a GPU the weights are stored channels-last (NHWC), the layout tensor cores read
    fastest. Under torchrun it is wrapped in DistributedDataParallel. torch.compile
    (optional) turns the model into fused kernels: the first batches are slow while it
    compiles (a C compiler must be installed), later ones faster.
    """
    model = CatsDogsCNN(**model_options).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    if distributed:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        model = torch.compile(model)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DistributedDataParallel and/or torch.compile wrapper."""
    model = getattr(model, "module", model)  # DistributedDataParallel
    return getattr(model, "_orig_mod", model)  # torch.compile


def run_epoch(model, loader, device, optimizer=None, scaler=None, amp: bool = False, description: str = "", progress: bool = True, channels_last: bool | None = None) -> dict:
    """One pass over `loader`: trains when an optimizer is given, else only evaluates.

    Returns {'loss', 'accuracy'} averaged over the images. Under DistributedDataParallel
    the sums are added up across all processes, so every rank reports the same numbers.
    channels_last=None: batches go channels-last on a GPU (as build_model puts the weights).
    """
    from tqdm.auto import tqdm

    training = optimizer is not None
    model.train(training)
    if channels_last is None:
        channels_last = device.type == "cuda"  # faster convolutions on tensor cores; no gain on CPU
    sums = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, correct predictions
    count = 0
    bar = tqdm(loader, desc=description, leave=False, disable=not progress, unit="batch")
    with torch.set_grad_enabled(training):
        for step, (images, labels) in enumerate(bar, 1):
            images = images.to(device, non_blocking=True, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
            labels = labels.to(device, non_blocking=True)
            # Mixed precision: float16 matrix maths where safe, float32 where it matters
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                logits = model(images)
                loss = nn.functional.cross_entropy(logits, labels)
            if training:
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:  # scale the loss so small float16 gradients do not round to 0
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
            sums += torch.stack([loss.detach().double() * len(labels), (logits.argmax(1) == labels).sum().double()])
            count += len(labels)
            if progress and step % 10 == 0:  # reading numbers off a GPU waits for it: not every batch
                loss_sum, correct = sums.tolist()
                bar.set_postfix(loss=f"{loss_sum / count:.3f}", acc=f"{correct / count:.3f}")
    totals = torch.cat([sums, torch.tensor([count], dtype=torch.float64, device=device)])
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(totals)
    loss_sum, correct, count = totals.tolist()
    return {"loss": loss_sum / max(count, 1), "accuracy": correct / max(count, 1)}


@torch.no_grad()
def predict(model, loader, device) -> tuple:
    """(true labels, predicted labels, probabilities of each class) for every image of a loader."""
    model.eval()
    labels, probabilities = [], []
    for images, batch_labels in loader:
        probabilities.append(torch.softmax(model(images.to(device)).float(), dim=1).cpu())
        labels.append(batch_labels)
    probabilities = torch.cat(probabilities)
    return torch.cat(labels).numpy(), probabilities.argmax(1).numpy(), probabilities.numpy()


def fit(model, loaders, device, epochs: int, learning_rate: float, checkpoint, amp: bool = False, progress: bool = True) -> dict:
    """Train for `epochs` epochs with AdamW; after each, evaluate on 'val' and keep the best weights.

    The learning rate falls along a cosine from `learning_rate` to 0 over the epochs: big
    steps while the weights are far off, small ones at the end, so the last epochs settle
    instead of jumping around.

    Returns the history: per epoch 'loss', 'accuracy', 'val_loss', 'val_accuracy' and
    'seconds' since the start. Under DistributedDataParallel every process runs this same
    loop on its shard of the photos and only rank 0 prints and writes the checkpoint.
    """
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    is_rank_0 = not distributed or torch.distributed.get_rank() == 0
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    scaler = torch.amp.GradScaler("cuda") if amp else None
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": []}
    best, start = -1.0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        if hasattr(loaders["train"].sampler, "set_epoch"):
            loaders["train"].sampler.set_epoch(epoch)  # DistributedSampler: a new shuffle every epoch
        show = progress and is_rank_0
        train = run_epoch(model, loaders["train"], device, optimizer, scaler, amp, f"epoch {epoch}/{epochs} train", show)
        val = run_epoch(model, loaders["val"], device, amp=amp, description=f"epoch {epoch}/{epochs} val", progress=show)
        for key in ("loss", "accuracy"):
            history[key].append(train[key])
            history[f"val_{key}"].append(val[key])
        history["seconds"].append(time.perf_counter() - start)
        schedule.step()
        if val["accuracy"] > best:  # every rank sees the same all-reduced accuracy, so they agree
            best = val["accuracy"]
            if is_rank_0:
                save_checkpoint(model, checkpoint)
        if is_rank_0:
            print(f"epoch {epoch}/{epochs}: loss {train['loss']:.3f} acc {train['accuracy']:.3f} | "
                  f"val loss {val['loss']:.3f} acc {val['accuracy']:.3f} | {history['seconds'][-1]:.0f} s", flush=True)
    if distributed:
        torch.distributed.barrier()  # the checkpoint is complete before anyone reads it
    return history


def save_checkpoint(model, path) -> Path:
    """Save only the weights (a state_dict): loading one back runs no code from the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(unwrap(model).state_dict(), path)
    return path


def load_checkpoint(path, device="cpu", **model_options) -> CatsDogsCNN:
    """A fresh CatsDogsCNN with the weights saved at `path` (weights_only=True: tensors, never code)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}: train the model first (notebook 07 or notebooks/train_pytorch_cnn.py).")
    model = CatsDogsCNN(**model_options)
    model.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return model.to(device).eval()


class NotAnImageError(ValueError):
    """The file given to predict_image is not a picture PIL can read."""


def predict_image(model, path, image_size: int, device="cpu") -> dict:
    """The probability of each class for one photo: {'cat': p, 'dog': 1 - p}.

    The model has one output per class; softmax turns the two logits into probabilities
    that add up to 1.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}. Give the path of a photo (JPEG, PNG, ...) of a cat or a dog.")
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise NotAnImageError(f"{path} is not an image that can be read ({error}). Give the path of a photo (JPEG, PNG, ...) of a cat or a dog.") from error
    batch = eval_transform(image_size)(image).unsqueeze(0).to(device)
    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(batch).float(), dim=1)[0].cpu()
    return {name: float(p) for name, p in zip(CLASS_NAMES, probabilities)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="folder of cat and dog photos (default: what get_dataset() picks: CATSDOGS_IMAGES, quick mode's synthetic photos, or PetImages)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128], help="channels of the conv blocks")
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--num-workers", type=int, default=None, help="data loader workers per process (default: helpers.torch_data.default_num_workers)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (needs a C compiler; pays off on long GPU runs)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="where rank 0 saves the best weights (default data/models/pytorch_cnn_ddp.pt)")
    parser.add_argument("--history", type=Path, default=None, help="write the per-epoch metrics as JSON here")
    parser.add_argument("--weights-per-rank", type=Path, default=None, help="every rank saves its final weights to DIR/rank-N.pt (to check that the ranks agree)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    from torch.utils.data.distributed import DistributedSampler

    from helpers import setup
    from helpers.data import get_dataset
    from helpers.torch_data import FastJpegLoader, make_loaders

    args = parse_args(argv)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1  # set by torchrun
    rank = int(os.environ.get("RANK", "0"))
    if distributed:
        torch.distributed.init_process_group("nccl" if args.device == "cuda" else "gloo")
    if args.device == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    torch.manual_seed(args.seed)  # the same initial weights everywhere (DDP also copies rank 0's)

    # Rank 0 cleans the photos first; the others then find the cleaned copy cached instead
    # of writing the same files at the same time.
    if rank == 0:
        dataset = get_dataset(args.data, progress=not args.no_progress)
    if distributed:
        torch.distributed.barrier()
    if rank != 0:
        dataset = get_dataset(args.data, progress=False)

    sampler = None
    if distributed:
        # Each process sees 1/world_size of the photos. Evaluation shards pad with a few
        # repeated photos so that every process gets the same count (a negligible bias).
        def sampler(folder, shuffle):
            return DistributedSampler(folder, shuffle=shuffle, seed=args.seed)
    loaders = make_loaders(dataset, train_transform(args.image_size), eval_transform(args.image_size), args.batch_size, args.num_workers, sampler=sampler, loader=FastJpegLoader(round(1.25 * args.image_size)))

    model = build_model(device, distributed=distributed, compile=args.compile, widths=tuple(args.widths))
    checkpoint = args.checkpoint or setup.MODELS_DIR / "pytorch_cnn_ddp.pt"
    amp = device.type == "cuda"
    history = fit(model, loaders, device, args.epochs, args.learning_rate, checkpoint, amp, progress=rank == 0 and not args.no_progress)
    best, train_seconds = max(history["val_accuracy"]), history["seconds"][-1]

    if args.weights_per_rank:
        args.weights_per_rank.mkdir(parents=True, exist_ok=True)
        torch.save(unwrap(model).state_dict(), args.weights_per_rank / f"rank-{rank}.pt")
    unwrap(model).load_state_dict(torch.load(checkpoint, map_location=device, weights_only=True))
    test = run_epoch(model, loaders["test"], device, amp=amp, description="test", progress=rank == 0 and not args.no_progress)
    summary = {"best_val_accuracy": best, "test_accuracy": test["accuracy"], "train_seconds": train_seconds, "world_size": torch.distributed.get_world_size() if distributed else 1, "dataset": dataset.name, "checkpoint": str(checkpoint), "history": history}
    if rank == 0:
        print(f"best val accuracy {best:.3f}, test accuracy {test['accuracy']:.3f}, {train_seconds:.0f} s; weights in {checkpoint}", flush=True)
        if args.history:
            args.history.parent.mkdir(parents=True, exist_ok=True)
            args.history.write_text(json.dumps(summary, indent=2) + "\n")
    if distributed:
        torch.distributed.destroy_process_group()
    return summary


if __name__ == "__main__":
    main()
