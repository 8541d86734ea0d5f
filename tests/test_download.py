"""helpers.download against a local HTTP server serving the synthetic PetImages zip."""
from __future__ import annotations

import hashlib
import io
import shutil
import socket
import stat
import zipfile
from pathlib import Path

import pytest
from local_server import serve

from helpers import download
from helpers.download import (
    DownloadError,
    HashMismatchError,
    NoNetworkError,
    UnsafeArchiveError,
    download_petimages,
    file_sha256,
    safe_extract,
)
from helpers.layout import find_labelled_files

# the synthetic zip holds 40 photos + planted bad files per class (46 cats, 44 dogs)
CHECKS = dict(expected_per_class=45, tolerance=0.1, progress=False)
ZIP = download.PETIMAGES.zip_name  # the file in downloads/, whichever URL served it


@pytest.fixture(autouse=True)
def no_pinned_hash(monkeypatch):
    monkeypatch.delenv(download.SHA256_ENV, raising=False)  # a user's own pin or mirror must not leak into these tests
    monkeypatch.delenv(download.PETIMAGES.url_env, raising=False)


@pytest.fixture
def server(synthetic_pets):
    """A local server; routes map a path to f(nth request) -> (bytes, 'full' | 'cut' | 'no-length' | 'stall')."""
    good = synthetic_pets.zip_path.read_bytes()
    with serve({
        "/pets.zip": lambda n: (good, "full"),
        "/cut.zip": lambda n: (good, "cut"),  # Content-Length sent, connection closed halfway
        "/cut-once.zip": lambda n: (good, "cut" if n == 1 else "full"),
        "/no-length-cut.zip": lambda n: (good, "no-length"),  # the client cannot tell it is short
        "/stall-once.zip": lambda n: (good, "stall" if n == 1 else "full"),
    }) as handler:
        handler.good = good
        yield handler


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_good_download_records_sha256_and_unpacks(server, tmp_path, synthetic_pets):
    folder = download_petimages(tmp_path, url=server.base + "/pets.zip", **CHECKS)

    zip_path = tmp_path / "downloads" / ZIP
    assert folder == tmp_path / "petimages"
    assert file_sha256(zip_path) == file_sha256(synthetic_pets.zip_path)
    assert (tmp_path / "downloads" / f"{ZIP}.sha256").read_text().split()[0] == file_sha256(zip_path)
    names = {f.relative for f in find_labelled_files(folder)}
    assert "PetImages/Cat/0.jpg" in names and "PetImages/Dog/39.jpg" in names
    assert (folder / "PetImages" / "Cat" / "0.jpg").read_bytes() == (synthetic_pets.images_dir / "Cat" / "0.jpg").read_bytes()


def test_reuse_needs_no_server_and_is_verified_against_the_record(server, tmp_path):
    url = server.base + "/pets.zip"
    download_petimages(tmp_path, url=url, **CHECKS)
    assert download_petimages(tmp_path, url=url, **CHECKS) == tmp_path / "petimages"
    assert server.requests == ["/pets.zip"]  # reused, not fetched again

    # the zip changes on disk after its hash was recorded: it is not trusted but fetched afresh
    zip_path = tmp_path / "downloads" / ZIP
    zip_path.write_bytes(zip_path.read_bytes()[:-10] + b"tampered!!")
    (tmp_path / "petimages" / ".complete").unlink()
    download_petimages(tmp_path, url=url, **CHECKS)
    assert server.requests == ["/pets.zip", "/pets.zip"]
    assert zip_path.read_bytes() == server.good


def test_server_file_changed_since_the_recorded_hash_is_refused(server, tmp_path):
    download_petimages(tmp_path, url=server.base + "/pets.zip", **CHECKS)
    record = tmp_path / "downloads" / f"{ZIP}.sha256"
    record.write_text("0" * 64 + "  pets.zip\n")  # as if the first download had been another file
    (tmp_path / "petimages" / ".complete").unlink()

    with pytest.raises(HashMismatchError, match=f"(?s)arrived, 0{{64}} was expected.*delete .*{ZIP}.sha256"):
        download_petimages(tmp_path, url=server.base + "/pets.zip", **CHECKS)
    # the old local copy is kept aside (it might be one placed by hand), the fresh one was not kept
    assert _leftovers(tmp_path / "downloads") == [f"{ZIP}.rejected", f"{ZIP}.sha256"]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_wrong_pinned_hash_is_a_clear_error_and_keeps_no_file(server, tmp_path, monkeypatch, how):
    wrong = "ab" * 32
    kwargs = dict(CHECKS)
    if how == "argument":
        kwargs["sha256"] = wrong
    else:
        monkeypatch.setenv(download.SHA256_ENV, wrong)

    with pytest.raises(HashMismatchError, match=f"{wrong} was expected \\(pinned.*nothing was kept"):
        download_petimages(tmp_path, url=server.base + "/pets.zip", **kwargs)
    assert _leftovers(tmp_path / "downloads") == []
    assert not (tmp_path / "petimages").exists()
    assert server.requests == ["/pets.zip"]  # a wrong pin is not retried


def test_right_pinned_hash_is_accepted(server, tmp_path):
    right = hashlib.sha256(server.good).hexdigest()
    folder = download_petimages(tmp_path, url=server.base + "/pets.zip", sha256=right.upper(), **CHECKS)
    assert (folder / ".complete").read_text().strip() == right
    assert (tmp_path / "downloads" / f"{ZIP}.sha256").read_text().split()[0] == right  # later runs check against it


def test_interrupted_transfer_is_fetched_again_cleanly(server, tmp_path):
    folder = download_petimages(tmp_path, url=server.base + "/cut-once.zip", **CHECKS)
    assert server.requests == ["/cut-once.zip", "/cut-once.zip"]
    assert (tmp_path / "downloads" / ZIP).read_bytes() == server.good
    assert (folder / ".complete").exists()


def test_transfer_that_stalls_is_fetched_again(server, tmp_path):
    download_petimages(tmp_path, url=server.base + "/stall-once.zip", timeout=0.5, **CHECKS)
    assert server.requests == ["/stall-once.zip", "/stall-once.zip"]
    assert (tmp_path / "downloads" / ZIP).read_bytes() == server.good


def test_transfer_that_always_breaks_leaves_no_partial_file(server, tmp_path):
    with pytest.raises(DownloadError, match="cut.zip \\(2 attempts\\)"):
        download_petimages(tmp_path, url=server.base + "/cut.zip", **CHECKS)
    assert _leftovers(tmp_path / "downloads") == []  # neither the zip nor pooch's temporary file
    assert not (tmp_path / "petimages").exists()


def test_short_file_without_content_length_is_caught_by_the_zip_check(server, tmp_path):
    with pytest.raises(DownloadError, match="not a readable zip"):
        download_petimages(tmp_path, url=server.base + "/no-length-cut.zip", **CHECKS)
    assert _leftovers(tmp_path / "downloads") == []


def test_unreachable_server_names_the_remedies(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NoNetworkError) as raised:
        download_petimages(tmp_path, url=f"http://127.0.0.1:{port}/pets.zip", **CHECKS)
    message = str(raised.value)
    assert "CATSDOGS_IMAGES" in message and "download_kaggle" in message
    assert str(tmp_path / "downloads" / ZIP) in message  # where to put a zip downloaded by hand
    assert f"127.0.0.1:{port}/pets.zip: cannot connect (Connection refused)" in message
    assert _leftovers(tmp_path / "downloads") == []


def test_zip_put_there_by_hand_is_checked_and_used(tmp_path, synthetic_pets):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / ZIP).write_bytes(synthetic_pets.zip_path.read_bytes())
    folder = download_petimages(tmp_path, url="http://127.0.0.1:9/pets.zip", **CHECKS)  # never contacted
    assert (folder / "PetImages" / "Dog").is_dir()
    assert (downloads / f"{ZIP}.sha256").exists()


def _zip_bytes(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                archive.writestr(entry, "target")
            else:
                archive.writestr(entry, "content")
    return buffer.getvalue()


def _symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("bad_entry, reason", [
    ("../escape.txt", "'..'"),
    ("PetImages/Cat/../../../escape.txt", "'..'"),
    ("/tmp/absolute.txt", "absolute path"),
    ("C:\\windows\\escape.txt", "absolute path"),
    (_symlink_entry("PetImages/Cat/link.jpg"), "symbolic link"),
])
def test_safe_extract_refuses_escaping_entries_and_links(tmp_path, bad_entry, reason):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip_bytes(["PetImages/Cat/1.jpg", bad_entry]))
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=reason):
        safe_extract(archive, target, progress=False)
    assert not target.exists()  # checked before anything was written
    assert not (tmp_path / "escape.txt").exists()


def test_download_with_zip_slip_entry_is_refused(server, tmp_path, synthetic_pets):
    evil = io.BytesIO(server.good)
    with zipfile.ZipFile(evil, "a") as archive:
        archive.writestr("../../escape.txt", "gotcha")
    server.routes["/evil.zip"] = lambda n: (evil.getvalue(), "full")
    with pytest.raises(UnsafeArchiveError, match="escape.txt"):
        download_petimages(tmp_path / "data", url=server.base + "/evil.zip", **CHECKS)
    assert not list(tmp_path.rglob("escape.txt"))
    assert not (tmp_path / "data" / "petimages").exists()


def test_crc_damage_is_refused_and_a_file_already_there_kept_aside(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for folder in ("Cat", "Dog"):
            for index in range(45):
                archive.writestr(f"PetImages/{folder}/{index}.jpg", f"photo {folder} {index} " * 20)
    data = bytearray(buffer.getvalue())
    position = data.index(b"photo Cat 3 ")
    data[position] ^= 0xFF  # one flipped byte inside a stored entry: only the CRC shows it
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / ZIP).write_bytes(bytes(data))

    with pytest.raises(DownloadError, match="CRC"):
        download_petimages(tmp_path, url="http://127.0.0.1:9/pets.zip", attempts=1, **CHECKS)
    # not downloaded by this run (maybe put there by hand): renamed, never deleted, never trusted
    assert _leftovers(downloads) == [f"{ZIP}.rejected"]
    assert (downloads / f"{ZIP}.rejected").read_bytes() == bytes(data)


def test_zip_that_is_not_petimages_is_refused(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / ZIP).write_bytes(_zip_bytes(["photos/a.jpg", "photos/b.jpg"]))
    with pytest.raises(DownloadError, match="does not look like the PetImages zip"):
        download_petimages(tmp_path, url="http://127.0.0.1:9/pets.zip", attempts=1, **CHECKS)
    assert _leftovers(downloads) == [f"{ZIP}.rejected"]


# --- several URLs per source (a moved or dead address) ------------------------------------

def _dead_url() -> str:
    """A URL on a port nobody listens on: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/pets.zip"


def _altered(good: bytes, how: str) -> bytes:
    """The good zip with one photo replaced by another photo, or one photo missing."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as original, zipfile.ZipFile(out, "w") as altered:
        for info in original.infolist():
            if info.filename == "PetImages/Cat/3.jpg":
                if how == "missing":
                    continue
                altered.writestr(info, original.read("PetImages/Cat/4.jpg"))  # a real photo, another one
            else:
                altered.writestr(info, original.read(info))
    return out.getvalue()


def test_dead_urls_are_reported_and_the_next_url_is_used(server, tmp_path, capsys):
    refused, missing, good = _dead_url(), server.base + "/moved.zip", server.base + "/pets.zip"
    folder = download_petimages(tmp_path, url=[refused, missing, good], **CHECKS)

    assert (folder / "PetImages" / "Cat" / "0.jpg").is_file()
    assert (tmp_path / "downloads" / ZIP).read_bytes() == server.good
    assert server.requests == ["/moved.zip", "/pets.zip"]
    log = capsys.readouterr().err.splitlines()
    assert f"Failed: {refused}: cannot connect (Connection refused); trying the next URL." in log
    assert f"Failed: {missing}: the server answered HTTP 404 (Not Found); trying the next URL." in log
    assert not any(line.startswith("Failed:") and good in line for line in log)
    assert _leftovers(tmp_path / "downloads") == [ZIP, f"{ZIP}.sha256"]  # no .download, no pooch temporary file


@pytest.mark.parametrize("how", ["one photo replaced", "missing"])
def test_a_mirror_serving_another_zip_than_the_recorded_one_is_refused(server, tmp_path, capsys, how):
    download_petimages(tmp_path, url=server.base + "/pets.zip", **CHECKS)  # the first download records the hash
    recorded = (tmp_path / "downloads" / f"{ZIP}.sha256").read_text().split()[0]
    (tmp_path / "downloads" / ZIP).unlink()  # space freed; the next run downloads again
    shutil.rmtree(tmp_path / "petimages")
    altered = _altered(server.good, how)
    server.routes["/mirror.zip"] = lambda n: (altered, "full")
    capsys.readouterr()

    folder = download_petimages(tmp_path, url=[server.base + "/mirror.zip", server.base + "/pets.zip"], **CHECKS)
    assert server.requests[-2:] == ["/mirror.zip", "/pets.zip"]  # refused, then the next URL
    assert (tmp_path / "downloads" / ZIP).read_bytes() == server.good
    assert (folder / "PetImages" / "Cat" / "3.jpg").read_bytes() == zipfile.ZipFile(io.BytesIO(server.good)).read("PetImages/Cat/3.jpg")
    arrived = hashlib.sha256(altered).hexdigest()
    failed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Failed:")]
    assert len(failed) == 1 and "/mirror.zip" in failed[0]
    assert f"sha256 {arrived} arrived, {recorded} was expected" in failed[0]

    # the mirror alone: refused with both hashes and the ways to pin or reset; nothing kept
    (tmp_path / "downloads" / ZIP).unlink()
    shutil.rmtree(tmp_path / "petimages")
    with pytest.raises(HashMismatchError) as raised:
        download_petimages(tmp_path, url=server.base + "/mirror.zip", **CHECKS)
    message = str(raised.value)
    assert f"sha256 {arrived} arrived, {recorded} was expected (recorded at this machine's first download" in message
    assert f"CATSDOGS_PETIMAGES_SHA256={arrived}" in message and f"delete {tmp_path / 'downloads' / ZIP}.sha256" in message
    assert _leftovers(tmp_path / "downloads") == [f"{ZIP}.sha256"]
    assert not (tmp_path / "petimages").exists()


def test_when_every_url_fails_one_message_lists_them_all_and_nothing_is_left(server, tmp_path):
    destination = tmp_path / "data"
    urls = [_dead_url(), server.base + "/moved.zip", server.base + "/cut.zip", server.base + "/no-length-cut.zip"]
    with pytest.raises(DownloadError) as raised:
        download_petimages(destination, url=" ".join(urls), **CHECKS)  # one string, separated by spaces
    message = str(raised.value)
    assert "from any of 4 URL(s)" in message
    assert f"{urls[0]}: cannot connect (Connection refused)" in message
    assert f"{urls[1]}: the server answered HTTP 404" in message
    assert f"{urls[2]} (2 attempts): the transfer failed" in message
    assert f"{urls[3]} (2 attempts): {ZIP}.download is not a readable zip file" in message
    assert "CATSDOGS_IMAGES" in message and "CATSDOGS_PETIMAGES_URL" in message and str(destination / "downloads" / ZIP) in message
    assert not destination.exists()  # nothing left behind: no zip, no partial file, no empty folder


def test_the_environment_variable_takes_several_urls_in_order(server, tmp_path, monkeypatch):
    monkeypatch.setenv(download.PETIMAGES.url_env, f"  {server.base}/moved.zip   {server.base}/pets.zip ")
    assert download.PETIMAGES.resolved_urls() == (f"{server.base}/moved.zip", f"{server.base}/pets.zip")
    assert download.PETIMAGES.resolved_urls("http://given/y.zip") == ("http://given/y.zip",)  # url= wins
    download_petimages(tmp_path, **CHECKS)
    assert server.requests == ["/moved.zip", "/pets.zip"]


def test_built_in_url_lists_put_the_current_official_address_first():
    assert download.FILTERED.urls == (
        "https://download.mlcc.google.com/mledu-datasets/cats_and_dogs_filtered.zip",
        "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
    )
    assert download.PETIMAGES.urls[0].startswith("https://download.microsoft.com/")
    for source in download.ZIP_SOURCES.values():
        assert all(url.rsplit("/", 1)[1] == source.zip_name for url in source.urls)


# --- Kaggle -----------------------------------------------------------------------------

@pytest.fixture
def no_kaggle_credentials(tmp_path, monkeypatch):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "empty-kaggle-config"))


def test_kaggle_without_credentials_says_how_to_get_them(no_kaggle_credentials, tmp_path):
    with pytest.raises(DownloadError, match="kaggle.json") as raised:
        download.download_kaggle(tmp_path / "kaggle")
    assert "Create New Token" in str(raised.value) and "rules" in str(raised.value)


def test_kaggle_credentials_from_the_environment_are_never_shown(no_kaggle_credentials, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "s3cret-key-value")

    class RefusingApi:
        def competition_download_files(self, competition, path, quiet):
            raise PermissionError("403 Forbidden")

    monkeypatch.setattr(download, "_kaggle_api", lambda: RefusingApi())
    with pytest.raises(DownloadError, match="Accept the rules") as raised:
        download.download_kaggle(tmp_path / "kaggle")
    shown = str(raised.value) + capsys.readouterr().out
    assert "s3cret-key-value" not in shown
    assert download._kaggle_credentials_present()


def test_kaggle_competition_zip_becomes_the_flat_train_layout(no_kaggle_credentials, tmp_path, monkeypatch):
    train = io.BytesIO()
    with zipfile.ZipFile(train, "w") as archive:
        for index in range(3):
            archive.writestr(f"train/cat.{index}.jpg", "cat")
            archive.writestr(f"train/dog.{index}.jpg", "dog")

    class FakeApi:
        def competition_download_files(self, competition, path, quiet):
            with zipfile.ZipFile(Path(path) / f"{competition}.zip", "w") as outer:
                outer.writestr("train.zip", train.getvalue())
                outer.writestr("test1.zip", b"not needed")
                outer.writestr("sampleSubmission.csv", "id,label\n")

    monkeypatch.setattr(download, "_kaggle_api", lambda: FakeApi())
    folder = download.download_kaggle(tmp_path / "kaggle", progress=False)
    files = find_labelled_files(folder)
    assert sorted(f.relative for f in files) == sorted(f"train/{c}.{i}.jpg" for c in ("cat", "dog") for i in range(3))
    assert [f.label for f in files if f.relative.startswith("train/dog")] == [1, 1, 1]
    assert not (folder / "competition.partial").exists()
    monkeypatch.setattr(download, "_kaggle_api", lambda: pytest.fail("a finished download is reused"))
    assert download.download_kaggle(tmp_path / "kaggle") == folder


def test_damaged_kaggle_download_is_a_clear_error(no_kaggle_credentials, tmp_path, monkeypatch):
    class TruncatingApi:
        def competition_download_files(self, competition, path, quiet):
            (Path(path) / f"{competition}.zip").write_bytes(b"PK\x03\x04 cut short")

    monkeypatch.setattr(download, "_kaggle_api", lambda: TruncatingApi())
    with pytest.raises(DownloadError, match="not a readable zip"):
        download.download_kaggle(tmp_path / "kaggle", progress=False)
    assert not (tmp_path / "kaggle" / "train").exists()
