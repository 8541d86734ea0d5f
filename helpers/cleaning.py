"""Find every file the frameworks cannot read as a 3-channel image, and say why.

Nothing in the source folder is ever deleted or modified. The result is a manifest
(one row per source file with its reason and action), a report (counts per reason) and
a split tree of links to the usable photos plus converted copies, which
`image_dataset_from_directory` and torchvision's `ImageFolder` read without a crash.

| reason        | what it is                                            | action  |
|---------------|-------------------------------------------------------|---------|
| ok            | an RGB JPEG that decodes completely                   | use     |
| zero-byte     | an empty file (PetImages: Cat/666.jpg, Dog/11702.jpg)  | skip    |
| not-an-image  | Thumbs.db, text or HTML saved with a .jpg name         | skip    |
| truncated     | a JPEG that ends before its image data does           | skip    |
| corrupt-jpeg  | a JPEG whose header or compressed data is broken      | skip    |
| too-large     | more than MAX_PIXELS (89.5 megapixels): unsafe to decode | skip    |
| wrong-format  | a BMP, PNG or GIF (or other format) behind a .jpg name | convert |
| cmyk          | a CMYK JPEG (print colour; some decoders refuse it)   | convert |
| grayscale     | a one-channel JPEG                                    | convert |

Broken files are skipped because what they show is unknown; files that decode fully in
another format or colour space are converted to RGB JPEG copies, since the photo is fine.
A file with more pixels than MAX_PIXELS is not decoded at all: PIL refuses such files as
possible "decompression bombs", and a framework that decodes it at full size (as
`image_dataset_from_directory` and `ImageFolder` do) needs hundreds of megabytes for one photo.
JPEGs that libjpeg only warns about ("Corrupt JPEG data: N extraneous bytes before
marker 0xd9") decode to a complete picture and are kept: the warning is harmless.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from helpers.parallel import parallel_map

ACTIONS = {
    "ok": "use",
    "zero-byte": "skip",
    "not-an-image": "skip",
    "truncated": "skip",
    "corrupt-jpeg": "skip",
    "too-large": "skip",
    "wrong-format": "convert",
    "cmyk": "convert",
    "grayscale": "convert",
}
_JPEG_SOI = b"\xff\xd8\xff"
# MPO (a camera's multi-picture JPEG) opens in PIL as its own format, but its first
# picture is a plain JPEG that every framework decodes: it is a JPEG here too.
JPEG_FORMATS = {"JPEG", "MPO"}
# PIL's own decompression-bomb limit (Image.MAX_IMAGE_PIXELS by default): 89,478,485 pixels,
# 268 MB as decoded RGB. Real photos stay far below (a 12-megapixel phone photo is 36 MB).
MAX_PIXELS = 89_478_485


def _open_headers(data: bytes) -> Image.Image:
    """Image.open without PIL's bomb check (it only reads the header; the size is checked here)."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(io.BytesIO(data))
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def inspect_image(path: str | Path) -> dict:
    """Decode one file and return its reason, action, sha1, format, mode and size.

    JPEGs decode in draft mode (libjpeg's DCT scaling to 1/8 size, or less reduction for
    photos under 256 pixels): every byte of the compressed data is still read, so damage
    is found, at a fraction of the cost.
    """
    path = Path(path)
    data = path.read_bytes()
    info = {"sha1": hashlib.sha1(data).hexdigest(), "bytes": len(data), "format": "", "mode": "", "width": 0, "height": 0, "detail": "", "phash": ""}
    if not data:
        return {**info, "reason": "zero-byte", "action": ACTIONS["zero-byte"]}
    try:
        image = _open_headers(data)
    except UnidentifiedImageError:
        reason = "corrupt-jpeg" if data.startswith(_JPEG_SOI) else "not-an-image"
        return {**info, "reason": reason, "action": ACTIONS[reason], "detail": "no decoder recognises the header"}
    except Exception as error:  # PIL raises several types for damaged headers
        reason = "corrupt-jpeg" if data.startswith(_JPEG_SOI) else "not-an-image"
        return {**info, "reason": reason, "action": ACTIONS[reason], "detail": f"{type(error).__name__}: {error}"}
    info.update(format=image.format or "", mode=image.mode, width=image.width, height=image.height)
    if image.width * image.height > MAX_PIXELS:
        detail = f"{image.width} x {image.height} = {image.width * image.height / 1e6:.0f} megapixels, more than the limit of {MAX_PIXELS:,} pixels"
        return {**info, "reason": "too-large", "action": ACTIONS["too-large"], "detail": detail}
    is_jpeg = image.format in JPEG_FORMATS
    try:
        if is_jpeg:
            # 1/8 scale, but never below the 32x32 the perceptual hash starts from
            image.draft("RGB", (max(32, image.width // 8), max(32, image.height // 8)))
        image.load()
    except Exception as error:
        reason = "truncated" if is_jpeg and "truncated" in str(error) else "corrupt-jpeg" if is_jpeg else "not-an-image"
        return {**info, "reason": reason, "action": ACTIONS[reason], "detail": f"{type(error).__name__}: {error}"}
    info["phash"] = perceptual_hash(image)
    if not is_jpeg:
        reason = "wrong-format"
    elif info["mode"] == "CMYK":
        reason = "cmyk"
    elif info["mode"] in ("L", "LA", "1", "I", "I;16"):
        reason = "grayscale"
    elif info["mode"] == "RGB":
        reason = "ok"
    else:  # e.g. YCCK or a JPEG with an unusual colour space: convert to be safe
        reason = "cmyk" if "K" in info["mode"] else "wrong-format"
    return {**info, "reason": reason, "action": ACTIONS[reason]}


def perceptual_hash(image: Image.Image) -> str:
    """64-bit perceptual hash (imagehash.phash) as 16 hex digits; see helpers/splits.py for its use.

    The picture is already decoded (JPEGs at 1/8 size): phash shrinks it to 32x32 anyway.
    """
    import imagehash

    return str(imagehash.phash(image))


def _inspect_row(path: str) -> dict:
    return {"source": path, **inspect_image(path)}


def scan_files(paths: list, processes: int | None = None, progress: bool = True) -> list[dict]:
    """inspect_image over many files, in several processes (see helpers/parallel.py)."""
    paths = [str(p) for p in paths]
    return list(parallel_map(_inspect_row, paths, processes=processes, chunksize=64, desc="Checking photos", unit="file", progress=progress))


def convert_to_rgb_jpeg(source: str | Path, destination: str | Path, quality: int = 95) -> None:
    """Write an RGB JPEG copy of any decodable image (first frame of a GIF, alpha dropped)."""
    with Image.open(source) as image:
        image.seek(0)
        image.convert("RGB").save(destination, "JPEG", quality=quality)
