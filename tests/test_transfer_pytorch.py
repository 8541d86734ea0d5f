"""helpers.weights for notebook 09 (torchvision): local weights files, each model's own transforms, the offline error."""
from __future__ import annotations

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
    message = offline_error_message('weights.torch_model("resnet50")', tmp_path, {"TORCH_HOME": str(tmp_path / "torch")})
    url = weights.torch_weights("resnet50").url
    assert "Connect this machine to the internet" in message
    assert url in message and url.rsplit("/", 1)[1] in message
    assert weights.WEIGHTS_DIR_ENV in message and "WEIGHTS_FILES" in message
    assert not list((tmp_path / "torch").rglob("*.pth"))  # no partial download left behind


def test_notebook_fine_tuning_trains_only_the_top_block_and_keeps_batch_norm_statistics(torch):
    from notebook_code import load_definitions

    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(WEIGHTS=None, WEIGHTS_FILES={}, DROPOUT=0.2, FINE_TUNE_LEARNING_RATE=1e-2, device=torch.device("cpu"))
    torch.manual_seed(0)
    backbone, n_features = nb["make_backbone"]("resnet50")
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


def test_the_comparison_chart_draws_every_panel_and_names_missing_columns():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    from helpers.comparison import PANELS, plot_comparison, style_table

    columns = sorted({c for cs, *_ in PANELS for c in cs})
    table = pd.DataFrame({c: [0.9, 0.95] for c in columns}, index=["resnet50", "vgg16"])
    table["parameters"] = [23.5e6, 14.7e6]
    fig = plot_comparison(table, "test")
    assert [axis.get_ylabel() for axis in fig.axes] == [ylabel for _, _, ylabel, _ in PANELS]
    assert max(bar.get_height() for bar in fig.axes[1].patches) == pytest.approx(23.5)  # in millions
    assert "23,500,000" in style_table(table).to_html()
    with pytest.raises(ValueError, match="inference ms/image"):
        plot_comparison(table.drop(columns="inference ms/image"), "test")


def test_the_notebooks_backbone_comes_from_the_file_in_weights_files(tmp_path, torch):
    from notebook_code import load_definitions

    saved = _random_state_dict("resnet50", seed=5)
    torch.save(saved, tmp_path / "resnet50-by-hand.pth")
    nb = load_definitions("09_transfer_learning_pytorch")
    nb.update(WEIGHTS="DEFAULT", WEIGHTS_FILES={"resnet50": str(tmp_path / "resnet50-by-hand.pth")})

    backbone, _ = nb["make_backbone"]("resnet50")

    kept = {key: tensor for key, tensor in saved.items() if not key.startswith("fc.")}  # the ImageNet classifier is dropped
    _assert_same_tensors(kept, backbone.state_dict())
