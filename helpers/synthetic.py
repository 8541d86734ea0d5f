"""A small PetImages-style folder of real JPEG files, for quick mode and the tests.

The two classes are learnable on purpose, so quick mode shows learning, not noise:
a "cat" photo has a warm background and a round orange face with triangular ears; a
"dog" photo has a cool background and a brown box-shaped face with floppy ears. Colour
alone separates them for logistic regression; shape helps the CNNs. Each class also
gets noise, random sizes, positions and aspect ratios, like real photos.

`with_bad_files=True` plants one file of every kind the real PetImages zip is known to
contain and the cleaning step must catch (see helpers/cleaning.py for the reasons).
"""
from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# relative path -> the reason helpers.cleaning must report for it
PLANTED_BAD_FILES = {
    "Cat/10000.jpg": "zero-byte",
    "Cat/Thumbs.db": "not-an-image",
    "Dog/10001.jpg": "not-an-image",  # a text file with a .jpg name
    "Cat/10002.jpg": "wrong-format",  # BMP
    "Dog/10003.jpg": "wrong-format",  # PNG
    "Cat/10004.jpg": "wrong-format",  # GIF
    "Dog/10005.jpg": "truncated",
    "Cat/10006.jpg": "corrupt-jpeg",
    "Dog/10007.jpg": "cmyk",
    "Cat/10008.jpg": "grayscale",
}


@dataclass
class SyntheticPets:
    root: Path  # the folder holding PetImages/
    n_per_class: int
    planted: dict = field(default_factory=dict)
    zip_path: Path | None = None

    @property
    def images_dir(self) -> Path:
        return self.root / "PetImages"


def _draw_pet(rng: np.random.Generator, is_dog: bool, sides: tuple[int, int] = (96, 260)) -> Image.Image:
    width, height = int(rng.integers(*sides)), int(rng.integers(*sides))
    base = np.array([90, 120, 170]) if is_dog else np.array([190, 140, 90])
    background = base + rng.normal(0, 25, size=3)
    pixels = background + rng.normal(0, 18, size=(height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    size = min(width, height) * rng.uniform(0.35, 0.6)
    cx = width * rng.uniform(0.35, 0.65)
    cy = height * rng.uniform(0.4, 0.65)
    if is_dog:
        face = tuple(int(v) for v in np.clip(np.array([110, 75, 45]) + rng.normal(0, 15, 3), 0, 255))
        draw.rounded_rectangle([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2], radius=size / 5, fill=face)
        for side in (-1, 1):  # floppy ears hang down the sides
            ear_x = cx + side * size / 2
            draw.ellipse([ear_x - size / 6, cy - size / 2, ear_x + size / 6, cy + size / 4], fill=(70, 45, 25))
    else:
        face = tuple(int(v) for v in np.clip(np.array([235, 150, 60]) + rng.normal(0, 15, 3), 0, 255))
        for side in (-1, 1):  # pointed ears stand up
            ear_x = cx + side * size / 3
            draw.polygon([(ear_x - size / 6, cy - size / 4), (ear_x + size / 6, cy - size / 4), (ear_x, cy - size * 0.75)], fill=face)
        draw.ellipse([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2], fill=face)
    for side in (-1, 1):  # eyes
        ex, ey = cx + side * size / 5, cy - size / 10
        draw.ellipse([ex - size / 14, ey - size / 14, ex + size / 14, ey + size / 14], fill=(20, 20, 20))
    return image


def _jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **kwargs)
    return buffer.getvalue()


def _plant_bad_files(images_dir: Path, rng: np.random.Generator) -> dict:
    sample = _draw_pet(rng, is_dog=False).resize((120, 100))
    as_format = {}
    for fmt in ("BMP", "PNG", "GIF"):
        buffer = io.BytesIO()
        sample.save(buffer, fmt)
        as_format[fmt] = buffer.getvalue()
    good_jpeg = _jpeg_bytes(sample)
    scan_start = good_jpeg.index(b"\xff\xda")
    # A stray frame marker inside the compressed scan: the header is fine, the pixel
    # data is not ("broken data stream"), as in PetImages' damaged photos.
    corrupt = bytearray(good_jpeg)
    corrupt[scan_start + 200 : scan_start + 204] = b"\xff\xc0\x00\x11"
    contents = {
        "Cat/10000.jpg": b"",
        "Cat/Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rng.integers(0, 256, 500, dtype=np.uint8)),
        "Dog/10001.jpg": b"<html><body>404 Not Found</body></html>\n",
        "Cat/10002.jpg": as_format["BMP"],
        "Dog/10003.jpg": as_format["PNG"],
        "Cat/10004.jpg": as_format["GIF"],
        "Dog/10005.jpg": good_jpeg[: scan_start + (len(good_jpeg) - scan_start) // 2],
        "Cat/10006.jpg": bytes(corrupt),
        "Dog/10007.jpg": _jpeg_bytes(sample.convert("CMYK")),
        "Cat/10008.jpg": _jpeg_bytes(sample.convert("L")),
    }
    assert contents.keys() == PLANTED_BAD_FILES.keys()
    for relative, data in contents.items():
        (images_dir / relative).write_bytes(data)
    return dict(PLANTED_BAD_FILES)


def make_synthetic_pets(
    root: str | Path,
    n_per_class: int = 120,
    seed: int = 0,
    with_bad_files: bool = True,
    make_zip: bool = False,
) -> SyntheticPets:
    """Write root/PetImages/{Cat,Dog}/N.jpg (N = 0..n_per_class-1), like Microsoft's zip.

    make_zip also writes root/kagglecatsanddogs_synthetic.zip with the same layout as
    kagglecatsanddogs_5340.zip (PetImages/... plus a readme), for the download tests.
    """
    root = Path(root)
    images_dir = root / "PetImages"
    if images_dir.exists():
        shutil.rmtree(images_dir)  # only ever our own synthetic output
    rng = np.random.default_rng(seed)
    for folder, is_dog in (("Cat", False), ("Dog", True)):
        (images_dir / folder).mkdir(parents=True)
        for index in range(n_per_class):
            (images_dir / folder / f"{index}.jpg").write_bytes(_jpeg_bytes(_draw_pet(rng, is_dog)))
    planted = _plant_bad_files(images_dir, rng) if with_bad_files else {}
    result = SyntheticPets(root=root, n_per_class=n_per_class, planted=planted)
    if make_zip:
        result.zip_path = root / "kagglecatsanddogs_synthetic.zip"
        with zipfile.ZipFile(result.zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("readme[1].txt", "Synthetic stand-in for kagglecatsanddogs_5340.zip\n")
            for path in sorted(images_dir.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
    return result


# The layout of Google's cats_and_dogs_filtered.zip: folder -> (file name prefix, first id, photos)
FILTERED_LAYOUT = {
    "train/cats": ("cat", 0, 1000),
    "train/dogs": ("dog", 0, 1000),
    "validation/cats": ("cat", 2000, 500),
    "validation/dogs": ("dog", 2000, 500),
}


def make_synthetic_filtered(root: str | Path, seed: int = 0, sides: tuple[int, int] = (32, 64), layout: dict | None = None) -> Path:
    """Write root/cats_and_dogs_filtered.zip laid out like Google's (3,000 small synthetic photos,
    cats_and_dogs_filtered/{train,validation}/{cats,dogs}/cat.N.jpg, plus its vectorize.py); return the zip.

    `layout` replaces FILTERED_LAYOUT (a test can drop a class folder to make a bad zip).
    Photos are drawn small (`sides`) so that the 3,000 take seconds, not minutes.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    zip_path = root / "cats_and_dogs_filtered.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:  # JPEGs do not compress further
        archive.writestr("cats_and_dogs_filtered/vectorize.py", "# a script shipped in the real zip; not a photo\n")
        for folder, (prefix, first, count) in (FILTERED_LAYOUT if layout is None else layout).items():
            for number in range(first, first + count):
                photo = _jpeg_bytes(_draw_pet(rng, is_dog=prefix == "dog", sides=sides))
                archive.writestr(f"cats_and_dogs_filtered/{folder}/{prefix}.{number}.jpg", photo)
    return zip_path
