"""helpers.synthetic: a PetImages-like folder of real JPEGs, learnable, with every bad kind planted."""
from __future__ import annotations

import zipfile

import numpy as np
from PIL import Image

from helpers.caches import load_images
from helpers.synthetic import PLANTED_BAD_FILES, make_synthetic_pets


def test_layout_counts_and_planted_files(synthetic_pets):
    images = synthetic_pets.images_dir
    assert synthetic_pets.planted == PLANTED_BAD_FILES
    for folder in ("Cat", "Dog"):
        good = [p for p in images.glob(f"{folder}/*.jpg") if f"{folder}/{p.name}" not in PLANTED_BAD_FILES]
        assert sorted(int(p.stem) for p in good) == list(range(synthetic_pets.n_per_class))
        for path in good[:5]:
            with Image.open(path) as image:
                assert (image.format, image.mode) == ("JPEG", "RGB")
    for relative in PLANTED_BAD_FILES:
        assert (images / relative).is_file()
    assert (images / "Cat" / "10000.jpg").stat().st_size == 0


def test_zip_holds_the_same_files(synthetic_pets):
    with zipfile.ZipFile(synthetic_pets.zip_path) as archive:
        assert archive.testzip() is None
        names = {n for n in archive.namelist() if n.startswith("PetImages/")}
        on_disk = {p.relative_to(synthetic_pets.root).as_posix() for p in synthetic_pets.images_dir.rglob("*") if p.is_file()}
        assert names == on_disk
        assert archive.read("PetImages/Dog/3.jpg") == (synthetic_pets.images_dir / "Dog" / "3.jpg").read_bytes()


def test_same_seed_same_bytes_other_seed_other_photos(tmp_path):
    a = make_synthetic_pets(tmp_path / "a", n_per_class=3, seed=7, with_bad_files=False)
    b = make_synthetic_pets(tmp_path / "b", n_per_class=3, seed=7, with_bad_files=False)
    c = make_synthetic_pets(tmp_path / "c", n_per_class=3, seed=8, with_bad_files=False)
    photo = "Cat/2.jpg"
    assert (a.images_dir / photo).read_bytes() == (b.images_dir / photo).read_bytes()
    assert (a.images_dir / photo).read_bytes() != (c.images_dir / photo).read_bytes()
    assert sorted(p.name for p in a.images_dir.rglob("*")) == ["0.jpg", "0.jpg", "1.jpg", "1.jpg", "2.jpg", "2.jpg", "Cat", "Dog"]


def _pixels_and_labels(pets):
    paths = [pets.images_dir / folder / f"{i}.jpg" for folder in ("Cat", "Dog") for i in range(pets.n_per_class)]
    x = load_images(paths, size=16, progress=False).reshape(len(paths), -1) / 255.0
    return x, np.repeat([0, 1], pets.n_per_class)


def test_classes_are_learnable_by_logistic_regression(tmp_path):
    """Quick mode must show learning: plain logistic regression on 16x16 pixels beats chance clearly."""
    x_train, y_train = _pixels_and_labels(make_synthetic_pets(tmp_path / "train", n_per_class=60, seed=1, with_bad_files=False))
    x_test, y_test = _pixels_and_labels(make_synthetic_pets(tmp_path / "test", n_per_class=40, seed=2, with_bad_files=False))
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    w, b = np.zeros(x_train.shape[1]), 0.0
    for _ in range(300):
        p = 1 / (1 + np.exp(-(x_train @ w + b)))
        w -= 0.01 * x_train.T @ (p - y_train) / len(y_train)
        b -= 0.01 * float(np.mean(p - y_train))
    accuracy = np.mean(((x_test @ w + b) > 0) == y_test)
    assert accuracy >= 0.85, accuracy
