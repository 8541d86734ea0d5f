"""helpers.cleaning (through helpers.data.clean_folder): every bad kind found, nothing changed."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from photo_files import sha256_of_tree, write_photo
from PIL import Image

from helpers.cleaning import ACTIONS, convert_to_rgb_jpeg, inspect_image, scan_files
from helpers.data import clean_folder
from helpers.synthetic import PLANTED_BAD_FILES


@pytest.fixture
def cleaned(project_dirs, synthetic_pets):
    before = sha256_of_tree(synthetic_pets.root)
    dataset = clean_folder(synthetic_pets.root, "pets", progress=False)
    return dataset, before


def test_every_planted_bad_file_is_reported_with_its_reason_and_action(cleaned, synthetic_pets):
    dataset, _ = cleaned
    rows = dataset.manifest.set_index("relative")
    for relative, reason in synthetic_pets.planted.items():
        row = rows.loc[f"PetImages/{relative}"]
        assert (relative, row["reason"], row["action"]) == (relative, reason, ACTIONS[reason])
        assert (row["tree_path"] == "") == (ACTIONS[reason] == "skip")
    good = rows.drop(index=[f"PetImages/{r}" for r in synthetic_pets.planted])
    assert set(good["reason"]) == {"ok"} and len(good) == 2 * synthetic_pets.n_per_class
    assert set(PLANTED_BAD_FILES.values()) == set(ACTIONS) - {"ok"}  # the synthetic set plants every kind


def test_report_counts_every_reason(cleaned, synthetic_pets):
    report = cleaned[0].report
    for reason, action in ACTIONS.items():
        expected = 2 * synthetic_pets.n_per_class if reason == "ok" else list(synthetic_pets.planted.values()).count(reason)
        assert report["reasons"][reason] == {"count": expected, "action": action}
    assert report["skipped"] == 6 and report["converted"] == 5
    assert report["usable"] == report["files"] - report["skipped"] == sum(s["total"] for s in report["splits"].values())


def test_source_folder_is_never_changed(cleaned, synthetic_pets):
    _, before = cleaned
    assert sha256_of_tree(synthetic_pets.root) == before  # same files, same bytes: nothing added, changed or deleted


def test_converted_copies_decode_as_rgb_and_links_point_at_originals(cleaned, synthetic_pets):
    dataset, _ = cleaned
    manifest = dataset.manifest
    for row in manifest[manifest["action"] != "skip"].itertuples():
        tree_file = dataset.folder / row.tree_path
        with Image.open(tree_file) as image:
            image.load()
            assert (image.format, image.mode) == ("JPEG", "RGB")
            if row.action == "convert":
                assert (image.width, image.height) == (row.width, row.height)
        if row.action == "use":
            assert tree_file.resolve() == (synthetic_pets.root / row.relative).resolve()


def test_jpeg_with_harmless_extra_bytes_is_kept(tmp_path):
    """libjpeg only warns about "extraneous bytes before marker 0xd9": the picture is complete."""
    data = write_photo(tmp_path / "good.jpg").read_bytes()
    (tmp_path / "extra.jpg").write_bytes(data[:-2] + b"\x00" * 16 + b"\xff\xd9")
    assert inspect_image(tmp_path / "extra.jpg")["reason"] == "ok"


@pytest.mark.parametrize("mode, reason", [("RGBA", "wrong-format"), ("P", "wrong-format"), ("LA", "wrong-format")])
def test_png_with_alpha_or_palette_is_converted(tmp_path, mode, reason):
    Image.new(mode, (20, 10)).save(tmp_path / "x.jpg", "PNG")
    assert inspect_image(tmp_path / "x.jpg")["reason"] == reason
    convert_to_rgb_jpeg(tmp_path / "x.jpg", tmp_path / "y.jpg")
    with Image.open(tmp_path / "y.jpg") as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (20, 10))


def test_inspect_reports_size_format_and_hash(tmp_path):
    path = write_photo(tmp_path / "a.jpg", size=(40, 30))
    info = inspect_image(path)
    assert (info["width"], info["height"], info["format"], info["mode"]) == (40, 30, "JPEG", "RGB")
    assert info["sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()


def test_several_processes_give_the_same_answers(synthetic_pets):
    paths = sorted(p for p in synthetic_pets.images_dir.rglob("*") if p.is_file()) * 6  # >= 500: the pool is used
    assert len(paths) >= 500
    assert scan_files(paths, processes=2, progress=False) == scan_files(paths, processes=1, progress=False)


def test_script_without_main_guard_falls_back_to_one_process_instead_of_hanging(tmp_path):
    """Spawned workers import the calling script; without `if __name__ == "__main__":` they
    cannot start. multiprocessing.Pool then hangs; parallel_map warns and carries on."""
    script = tmp_path / "no_guard.py"
    script.write_text("from helpers.parallel import parallel_map\nprint(sum(parallel_map(abs, range(-600, 0), processes=2, progress=False)))\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1] == "180300"
    assert "__main__" in result.stderr and "one process" in result.stderr


def test_multi_picture_jpeg_from_a_camera_is_a_usable_jpeg(tmp_path):
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    first.save(tmp_path / "camera.jpg", "MPO", save_all=True, append_images=[second])
    info = inspect_image(tmp_path / "camera.jpg")
    assert (info["format"], info["reason"], info["action"]) == ("MPO", "ok", "use")


def test_photo_with_more_pixels_than_the_limit_is_too_large_not_corrupt(tmp_path, monkeypatch):
    """A 200-megapixel file is refused by its header's size, before anything is decoded."""
    from helpers import cleaning
    from helpers.synthetic import _with_jpeg_size

    small = write_photo(tmp_path / "small.jpg", size=(40, 30)).read_bytes()
    (tmp_path / "huge.jpg").write_bytes(_with_jpeg_size(small, 16_000, 12_500))
    info = inspect_image(tmp_path / "huge.jpg")
    assert (info["reason"], info["action"], info["width"], info["height"]) == ("too-large", "skip", 16_000, 12_500)
    assert "200 megapixels" in info["detail"] and "89,478,485" in info["detail"]

    monkeypatch.setattr(cleaning, "MAX_PIXELS", 40 * 30)  # the limit itself decides, not PIL's own
    assert inspect_image(tmp_path / "small.jpg")["reason"] == "ok"
    (tmp_path / "wider.jpg").write_bytes(_with_jpeg_size(small, 41, 30))
    assert inspect_image(tmp_path / "wider.jpg")["reason"] == "too-large"
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # PIL's own check is restored for everyone else
