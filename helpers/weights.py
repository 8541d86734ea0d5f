"""Pretrained ImageNet weights for the transfer-learning notebooks (08 Keras, 09 PyTorch).

The normal way still works: `weights="imagenet"` downloads Keras' file into
~/.keras/models/ (or $KERAS_HOME), a torchvision weights enum downloads into
~/.cache/torch/hub/checkpoints/ (or $TORCH_HOME), once. Behind a firewall, download
the same file by hand and either pass its path (`weights_file=`) or put it, under its
original name, in a folder named by the environment variable CATSDOGS_WEIGHTS_DIR.
When neither works, `WeightsUnavailableError` says which file to fetch and where to put it.

TensorFlow and torch are imported inside the functions: one framework per process.
"""
from __future__ import annotations

import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_DIR_ENV = "CATSDOGS_WEIGHTS_DIR"
_KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class KerasWeights:
    """Where keras.applications gets a model's ImageNet weights without the classifier ("notop")."""

    module: str  # keras.applications.<module>: holds the model's own preprocess_input
    input_size: int  # the size the ImageNet weights were trained at
    url: str
    md5: str  # the hash keras.applications checks

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[1]


KERAS_WEIGHTS = {
    "VGG16": KerasWeights("vgg16", 224, _KERAS_URL + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    "ResNet50": KerasWeights("resnet50", 224, _KERAS_URL + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626"),
    "InceptionV3": KerasWeights("inception_v3", 299, _KERAS_URL + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "bcbd6486424b2319ff4ef7d526e38f63"),
}
TORCH_MODELS = ("vgg16", "resnet50", "inception_v3")


class WeightsUnavailableError(RuntimeError):
    """The pretrained weights could be neither found locally nor downloaded."""


def _unavailable(model: str, url: str, filename: str, cache: Path, reason) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"Could not load the pretrained ImageNet weights of {model}: downloading {url} failed ({reason}).\n"
        "Two ways out:\n"
        f"  1. Connect this machine to the internet and run again; the file is then kept in {cache} and not downloaded again.\n"
        f"  2. Download {url} by hand on a machine that can (browser or curl), copy it here, and either pass its path "
        f"(WEIGHTS_FILES in the notebook's parameters cell, weights_file= in code) or put it, named {filename}, in a "
        f"folder and set the environment variable {WEIGHTS_DIR_ENV} to that folder.\n"
        "(Quick mode, CATSDOGS_QUICK=1, needs no download: it starts from random weights.)"
    )


def local_weights_file(filename: str, weights_file: str | Path | None = None) -> Path | None:
    """The weights file given by the caller, else <CATSDOGS_WEIGHTS_DIR>/<filename> if it exists, else None."""
    if weights_file:
        path = Path(weights_file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Weights file {path} does not exist: check the path, or leave it empty to download {filename}.")
        return path
    folder = os.environ.get(WEIGHTS_DIR_ENV)
    if folder and (Path(folder).expanduser() / filename).is_file():
        return Path(folder).expanduser() / filename
    return None


# ---------------------------------------------------------------- Keras


def keras_preprocess_input(name: str):
    """The model's own preprocess_input (VGG16, ResNet50: caffe-style BGR minus the ImageNet mean; InceptionV3: [-1, 1])."""
    import keras

    return getattr(keras.applications, KERAS_WEIGHTS[name].module).preprocess_input


def keras_weights_path(name: str, weights_file: str | Path | None = None) -> Path:
    """A local file holding the model's ImageNet weights: the given one, CATSDOGS_WEIGHTS_DIR's, or Keras' download cache."""
    import keras

    spec = KERAS_WEIGHTS[name]
    local = local_weights_file(spec.filename, weights_file)
    if local:
        return local
    cache = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser() / "models"  # where get_file keeps it
    try:  # the same call, file name and hash keras.applications makes for weights="imagenet"
        return Path(keras.utils.get_file(spec.filename, spec.url, cache_subdir="models", file_hash=spec.md5))
    except Exception as error:  # get_file wraps URLError / HTTPError in a bare Exception
        if isinstance(error, ValueError):  # a corrupt or partial file: its own message says so
            raise
        raise _unavailable(name, spec.url, spec.filename, cache, error) from error


def keras_base(name: str, weights: str | None = "imagenet", weights_file: str | Path | None = None, input_size: int | None = None):
    """keras.applications.<name>(include_top=False): the convolutional base, without the ImageNet classifier.

    weights: "imagenet" (download once, or weights_file / CATSDOGS_WEIGHTS_DIR) or None (random).
    """
    import keras

    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}; pass a local file as weights_file=.")
    size = input_size or KERAS_WEIGHTS[name].input_size
    source = str(keras_weights_path(name, weights_file)) if (weights or weights_file) else None
    return getattr(keras.applications, name)(include_top=False, weights=source, input_shape=(size, size, 3))


# ---------------------------------------------------------------- PyTorch / torchvision


def torch_weights(name: str):
    """The torchvision weights enum's DEFAULT entry (its .transforms() is the model's preprocessing)."""
    import torchvision

    if name not in TORCH_MODELS:
        raise ValueError(f"name must be one of {TORCH_MODELS}, got {name!r}")
    return torchvision.models.get_model_weights(name).DEFAULT


def torch_transforms(name: str, crop_size: int | None = None):
    """weights.transforms(): resize, centre crop, [0, 1], ImageNet mean/std; crop_size shrinks it (quick mode)."""
    weights = torch_weights(name)
    default = weights.transforms()
    if crop_size is None:
        return default
    resize = round(crop_size * default.resize_size[0] / default.crop_size[0])  # keep the model's crop margin
    return weights.transforms(crop_size=crop_size, resize_size=resize)


def torch_model(name: str, weights: str | None = "DEFAULT", weights_file: str | Path | None = None, progress: bool = True):
    """torchvision.models.<name> with its 1000-class ImageNet head, ImageNet weights loaded (or random: weights=None).

    The state dict comes from weights_file, CATSDOGS_WEIGHTS_DIR, or torchvision's download cache.
    """
    import torch
    import torchvision

    if weights not in ("DEFAULT", None):
        raise ValueError(f"weights must be 'DEFAULT' or None, got {weights!r}; pass a local file as weights_file=.")
    enum = torch_weights(name)
    pretrained = bool(weights or weights_file)
    kwargs = {}
    if name == "inception_v3":
        # as torchvision builds it for its weights: converted from Google's model, which expects [-1, 1] inputs
        kwargs = {"aux_logits": True, "transform_input": pretrained, "init_weights": not pretrained}
    model = torchvision.models.get_model(name, weights=None, **kwargs)
    if not pretrained:
        return model
    filename = enum.url.rsplit("/", 1)[1]
    local = local_weights_file(filename, weights_file)
    if local:
        state_dict = torch.load(local, map_location="cpu", weights_only=True)
    else:
        try:
            state_dict = enum.get_state_dict(progress=progress, check_hash=True)
        except urllib.error.URLError as error:  # also HTTPError; no network, blocked, or not found
            cache = Path(torch.hub.get_dir()) / "checkpoints"
            raise _unavailable(name, enum.url, filename, cache, error) from error
    model.load_state_dict(state_dict)
    return model
