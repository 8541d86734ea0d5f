"""The "filtered" download source (Google's cats_and_dogs_filtered.zip) served from a local
HTTP server through CATSDOGS_FILTERED_URL, and how CATSDOGS_SOURCE picks a source."""
from __future__ import annotations

import hashlib
import socket

import pytest
from local_server import serve

from helpers import data, download
from helpers.data import get_dataset
from helpers.download import DownloadError, HashMismatchError, download_filtered
from helpers.synthetic import FILTERED_LAYOUT, make_synthetic_filtered

ZIP_NAME = "cats_and_dogs_filtered.zip"


@pytest.fixture(scope="session")
def filtered_zip(tmp_path_factory) -> bytes:
    """3,000 small synthetic photos in the real zip's layout."""
    return make_synthetic_filtered(tmp_path_factory.mktemp("filtered")).read_bytes()


@pytest.fixture(scope="session")
def zip_without_a_class(tmp_path_factory) -> bytes:
    layout = {folder: spec for folder, spec in FILTERED_LAYOUT.items() if folder != "validation/dogs"}
    return make_synthetic_filtered(tmp_path_factory.mktemp("filtered-no-dogs"), layout=layout).read_bytes()


@pytest.fixture
def environment(monkeypatch):
    """No setting of the person running the tests leaks in."""
    for name in ("CATSDOGS_IMAGES", "CATSDOGS_SOURCE", "CATSDOGS_FILTERED_URL", "CATSDOGS_FILTERED_SHA256", "CATSDOGS_PETIMAGES_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def server(filtered_zip, zip_without_a_class):
    with serve({
        f"/good/{ZIP_NAME}": lambda n: (filtered_zip, "full"),
        f"/cut-once/{ZIP_NAME}": lambda n: (filtered_zip, "cut" if n == 1 else "full"),
        f"/no-dogs/{ZIP_NAME}": lambda n: (zip_without_a_class, "full"),
    }) as handler:
        yield handler


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_catsdogs_source_filtered_gives_the_3000_photos_of_the_served_zip(server, project_dirs, environment, filtered_zip):
    environment.setenv("CATSDOGS_SOURCE", "filtered")
    environment.setenv("CATSDOGS_FILTERED_URL", f"{server.base}/good/{ZIP_NAME}")
    dataset = get_dataset(quick=False, progress=False)  # default_source is petimages: the variable wins

    assert server.requests == [f"/good/{ZIP_NAME}"]
    assert dataset.name == "filtered"
    assert (dataset.report["files"], dataset.report["usable"], dataset.report["skipped"]) == (3000, 3000, 0)
    assert dataset.report["splits"]["train"] == {"total": 2000, "cat": 1000, "dog": 1000}  # train/ used as given
    counts = dataset.counts()
    assert counts["n_val"] + counts["n_test"] == 1000 and min(counts["n_val"], counts["n_test"]) > 400  # validation/ halved
    record = project_dirs / "data" / "downloads" / f"{ZIP_NAME}.sha256"
    assert record.read_text().split()[0] == hashlib.sha256(filtered_zip).hexdigest()

    assert get_dataset(quick=False, progress=False).report == dataset.report  # reused, verified, not fetched again
    assert server.requests == [f"/good/{ZIP_NAME}"]


def test_default_source_is_used_when_catsdogs_source_is_unset(server, project_dirs, environment):
    environment.setenv("CATSDOGS_FILTERED_URL", f"{server.base}/good/{ZIP_NAME}")
    environment.setattr(download, "download_petimages", lambda: pytest.fail("default_source='filtered' was ignored"))
    assert get_dataset(quick=False, progress=False, default_source="filtered").report["usable"] == 3000


def test_catsdogs_source_overrides_the_notebooks_default(project_dirs, environment, synthetic_pets):
    environment.setenv("CATSDOGS_SOURCE", "PetImages")  # any case
    environment.setattr(download, "download_petimages", lambda: synthetic_pets.root)
    environment.setattr(download, "download_filtered", lambda: pytest.fail("CATSDOGS_SOURCE was ignored"))
    assert get_dataset(quick=False, progress=False, default_source="filtered").name == "petimages"


def test_catsdogs_images_wins_over_catsdogs_source(project_dirs, environment, synthetic_pets):
    environment.setenv("CATSDOGS_SOURCE", "filtered")
    environment.setenv("CATSDOGS_IMAGES", str(synthetic_pets.root))
    environment.setattr(download, "download_filtered", lambda: pytest.fail("CATSDOGS_IMAGES must win"))
    assert get_dataset(quick=False, progress=False).source == synthetic_pets.root.resolve()


def test_quick_mode_keeps_its_synthetic_photos_whatever_the_source(project_dirs, environment):
    environment.setenv("CATSDOGS_SOURCE", "filtered")
    environment.setattr(data.synthetic_source, "__defaults__", (6,))
    environment.setattr(download, "download_filtered", lambda: pytest.fail("quick mode downloads nothing"))
    assert get_dataset(quick=True, progress=False).name == "synthetic"


@pytest.mark.parametrize("where", ["environment", "argument"])
def test_unknown_source_name_says_which_names_exist(project_dirs, environment, where):
    if where == "environment":
        environment.setenv("CATSDOGS_SOURCE", "filterd")
        kwargs = {}
    else:
        kwargs = {"default_source": "imagenet"}
    with pytest.raises(ValueError, match="use one of filtered, petimages, kaggle") as raised:
        get_dataset(quick=True, progress=False, **kwargs)
    assert ("CATSDOGS_SOURCE" in str(raised.value)) == (where == "environment")


def test_wrong_pinned_hash_is_a_clear_error_and_keeps_nothing(server, tmp_path, environment):
    wrong = "cd" * 32
    environment.setenv("CATSDOGS_FILTERED_SHA256", wrong)
    with pytest.raises(HashMismatchError, match=f"(?s){wrong} was expected \\(pinned with sha256= or CATSDOGS_FILTERED_SHA256\\).*nothing was kept"):
        download_filtered(tmp_path, url=f"{server.base}/good/{ZIP_NAME}", progress=False)
    assert _leftovers(tmp_path / "downloads") == []
    assert not (tmp_path / "filtered").exists()


def test_right_pinned_hash_is_accepted(server, tmp_path, environment, filtered_zip):
    right = hashlib.sha256(filtered_zip).hexdigest()
    folder = download_filtered(tmp_path, url=f"{server.base}/good/{ZIP_NAME}", sha256=right, progress=False)
    assert folder == tmp_path / "filtered" / "cats_and_dogs_filtered"
    assert sorted(p.name for p in folder.iterdir()) == ["train", "validation", "vectorize.py"]


def test_interrupted_transfer_is_fetched_again_cleanly(server, tmp_path, environment, filtered_zip):
    environment.setenv("CATSDOGS_FILTERED_URL", f"{server.base}/cut-once/{ZIP_NAME}")
    folder = download_filtered(tmp_path, progress=False)
    assert server.requests == [f"/cut-once/{ZIP_NAME}"] * 2
    assert (tmp_path / "downloads" / ZIP_NAME).read_bytes() == filtered_zip
    assert len(list((folder / "validation" / "dogs").glob("dog.*.jpg"))) == 500


def test_zip_with_a_missing_class_is_refused_and_not_kept(server, tmp_path, environment):
    with pytest.raises(DownloadError, match="validation/dogs/: expected 500, found 0"):
        download_filtered(tmp_path, url=f"{server.base}/no-dogs/{ZIP_NAME}", attempts=1, progress=False)
    assert _leftovers(tmp_path / "downloads") == []  # downloaded by this run, so deleted
    assert not (tmp_path / "filtered").exists()


def test_every_download_url_list_can_be_replaced_by_an_environment_variable(environment):
    for source in download.ZIP_SOURCES.values():
        assert source.resolved_urls() == source.urls
        environment.setenv(source.url_env, "http://mirror.example/x.zip https://other.example/y.zip")
        assert source.resolved_urls() == ("http://mirror.example/x.zip", "https://other.example/y.zip")
        assert source.resolved_urls("http://given/y.zip") == ("http://given/y.zip",)  # an explicit url= wins
    assert {s.url_env for s in download.ZIP_SOURCES.values()} == {"CATSDOGS_FILTERED_URL", "CATSDOGS_PETIMAGES_URL"}


def test_with_the_first_urls_dead_a_later_url_gives_the_3000_photos(server, project_dirs, environment):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{probe.getsockname()[1]}/{ZIP_NAME}"
    environment.setenv("CATSDOGS_SOURCE", "filtered")
    environment.setenv("CATSDOGS_FILTERED_URL", f"{refused} {server.base}/moved/{ZIP_NAME} {server.base}/good/{ZIP_NAME}")
    dataset = get_dataset(quick=False, progress=False)
    assert (dataset.report["files"], dataset.report["usable"]) == (3000, 3000)
    assert server.requests == [f"/moved/{ZIP_NAME}", f"/good/{ZIP_NAME}"]


def test_with_every_url_dead_get_dataset_stops_with_one_message_naming_each(server, project_dirs, environment):
    urls = [f"{server.base}/moved/{ZIP_NAME}", f"{server.base}/no-dogs/{ZIP_NAME}"]
    environment.setenv("CATSDOGS_SOURCE", "filtered")
    environment.setenv("CATSDOGS_FILTERED_URL", " ".join(urls))
    with pytest.raises(DownloadError) as raised:
        get_dataset(quick=False, progress=False)
    message = str(raised.value)
    assert f"{urls[0]}: the server answered HTTP 404" in message
    assert f"{urls[1]}: {ZIP_NAME}.download does not look like Google's cats_and_dogs_filtered zip" in message
    assert "CATSDOGS_IMAGES=<folder>" in message
    assert not (project_dirs / "data").exists() or not any(p.is_file() for p in (project_dirs / "data").rglob("*"))
