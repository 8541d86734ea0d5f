"""Download the photos once, check them, and unpack them safely.

Three sources (`helpers.data.get_dataset` picks one; CATSDOGS_SOURCE chooses):
* "filtered": Google's cats_and_dogs_filtered.zip (`download_filtered`, 68 MB), the
  3,000 photos of the TensorFlow tutorials: train/ 1,000 cats + 1,000 dogs,
  validation/ 500 + 500. Small enough for a first run.
* "petimages": Microsoft's PetImages zip (`download_petimages`, 787 MB, about 25,000 photos).
* "kaggle": the Kaggle "Dogs vs. Cats" competition (`download_kaggle`), which needs a
  Kaggle account, an API token and the competition's rules accepted.

The two zips go through the same steps. pooch streams into a temporary file and moves
it into place only when the transfer finished, so an interrupted download never leaves
a file that is later trusted. Neither zip has a published checksum, so the first good
download is checked for what can be checked (every entry's CRC, the expected number of
photos in each folder), its sha256 is recorded next to it, and every later use is
verified against that record (or against a hash you pin with `sha256=` or
CATSDOGS_<SOURCE>_SHA256). Every URL can be replaced by an environment variable
(CATSDOGS_FILTERED_URL, CATSDOGS_PETIMAGES_URL), for a mirror behind a firewall.

Extraction refuses entries that would land outside the target folder (zip-slip:
absolute paths, `..`) and symbolic links, and unpacks into a temporary folder that is
renamed only when complete.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from dataclasses import dataclass

from helpers import setup

PETIMAGES_URL = "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip"
FILTERED_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
SHA256_ENV = "CATSDOGS_PETIMAGES_SHA256"
KAGGLE_COMPETITION = "dogs-vs-cats"
_COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class ZipSource:
    """One downloadable zip of photos and what a good copy of it holds."""

    name: str  # "petimages": also the folder it is unpacked into, data/<name>/
    url: str
    url_env: str  # environment variable that replaces the URL (a mirror)
    sha256_env: str  # environment variable that pins the zip's sha256
    expected_counts: tuple  # ((folder prefix inside the zip, number of files), ...)
    photos_under: str  # the folder, inside the unpacked zip, that get_dataset reads
    description: str

    def resolved_url(self, url: str | None = None) -> str:
        return url or os.environ.get(self.url_env, "").strip() or self.url


PETIMAGES = ZipSource(
    "petimages", PETIMAGES_URL, "CATSDOGS_PETIMAGES_URL", SHA256_ENV,
    (("PetImages/Cat/", 12_500), ("PetImages/Dog/", 12_500)), "", "the PetImages zip",
)
FILTERED = ZipSource(
    "filtered", FILTERED_URL, "CATSDOGS_FILTERED_URL", "CATSDOGS_FILTERED_SHA256",
    (("cats_and_dogs_filtered/train/cats/", 1_000), ("cats_and_dogs_filtered/train/dogs/", 1_000),
     ("cats_and_dogs_filtered/validation/cats/", 500), ("cats_and_dogs_filtered/validation/dogs/", 500)),
    "cats_and_dogs_filtered", "Google's cats_and_dogs_filtered zip",
)
ZIP_SOURCES = {source.name: source for source in (FILTERED, PETIMAGES)}

REMEDIES = """To use photos without this download, any one of:
  * set CATSDOGS_IMAGES=<folder> to a folder of labelled photos you already have
    (Cat/ and Dog/ folders, train/ validation/ test/ split folders, or Kaggle's train/cat.N.jpg);
  * download {url}
    by hand (a browser works) and put it at {zip_path}; the next run checks and uses it;
  * point the download at a mirror you can reach: CATSDOGS_FILTERED_URL or CATSDOGS_PETIMAGES_URL;
  * pick another source: CATSDOGS_SOURCE=filtered (68 MB), petimages (787 MB) or kaggle
    (helpers.download.download_kaggle(), needs a Kaggle API token);
  * or run in quick mode (CATSDOGS_QUICK=1), which makes small synthetic photos."""


class DownloadError(RuntimeError):
    """A download or a downloaded file failed; the message says what to do."""


class UnsafeArchiveError(DownloadError):
    """A zip entry would be written outside the target folder, or is a link."""


class NoNetworkError(DownloadError):
    """The server cannot be reached: retrying will not help."""


class HashMismatchError(DownloadError):
    """The file is not the one the pinned or recorded sha256 names."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unsafe_reason(name: str) -> str | None:
    """Why a zip entry name may not be extracted, or None when it is safe."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "a '..' that climbs out of the folder"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def safe_extract(zip_path: str | Path, destination: str | Path, members_under: str = "", progress: bool = True) -> Path:
    """Extract a zip into destination, refusing zip-slip entries and symbolic links.

    Every entry is checked before anything is written, so a refused archive leaves
    nothing behind. `members_under` extracts only the entries below that prefix.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    target_root = destination.resolve()
    with zipfile.ZipFile(zip_path) as archive:
        members = [info for info in archive.infolist() if info.filename.startswith(members_under)]
        for info in members:
            reason = "a symbolic link" if _is_symlink(info) else _unsafe_reason(info.filename)
            if reason is None and not (target_root / info.filename).resolve().is_relative_to(target_root):
                reason = "a path outside the target folder"
            if reason:
                raise UnsafeArchiveError(
                    f"Refusing to extract {zip_path}: entry {info.filename!r} is {reason}. "
                    "A trustworthy photo archive never contains such entries; download it again from the official source."
                )
        destination.mkdir(parents=True, exist_ok=True)
        for info in tqdm(members, desc=f"Extracting {Path(zip_path).name}", unit="file", disable=not progress, mininterval=1):
            archive.extract(info, destination)
    return destination


def check_zip(zip_path: str | Path) -> list[str]:
    """The file names in a zip that opens and whose every entry matches its CRC; else DownloadError."""
    zip_path = Path(zip_path)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            broken = archive.testzip()  # reads and CRC-checks every entry
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:  # zlib: damaged compressed data
        raise DownloadError(f"{zip_path} is not a readable zip file ({error}); it is probably an incomplete download.") from error
    if broken is not None:
        raise DownloadError(f"{zip_path} is damaged: the CRC of {broken!r} does not match; the download is corrupt.")
    return names


def check_zip_counts(zip_path: str | Path, expected_counts, tolerance: float = 0.0, description: str = "the expected zip") -> dict:
    """Check a zip without trusting it: it opens, every CRC matches, and each folder prefix
    in `expected_counts` ((prefix, n), ...) holds n files (± tolerance · n, at least ±1 when
    tolerance > 0). Returns {prefix: files found}; raises DownloadError saying what is wrong.
    """
    names = check_zip(zip_path)
    counts = {prefix: sum(name.startswith(prefix) for name in names) for prefix, _ in expected_counts}
    wrong = []
    for prefix, expected in expected_counts:
        allowed = max(1, round(expected * tolerance)) if tolerance > 0 else 0
        if abs(counts[prefix] - expected) > allowed:
            wrong.append(f"{prefix}: expected {expected}" + (f" (±{allowed})" if allowed else "") + f", found {counts[prefix]}")
    if wrong:
        raise DownloadError(f"{zip_path} does not look like {description}: " + "; ".join(wrong) + ".")
    return counts


def check_petimages_zip(zip_path: str | Path, expected_per_class: int = 12_500, tolerance: float = 0.02) -> dict:
    """Check a PetImages zip: every CRC matches and PetImages/Cat and PetImages/Dog hold
    about `expected_per_class` files each. Returns the file count per class."""
    expected = ((f"PetImages/{folder}/", expected_per_class) for folder in ("Cat", "Dog"))
    counts = check_zip_counts(zip_path, tuple(expected), tolerance, "the PetImages zip")
    return {prefix.split("/")[1]: n for prefix, n in counts.items()}


def _discard(path: Path, why: str, downloaded_now: bool) -> str:
    """Remove a failed zip from where it would be trusted.

    A file this run downloaded is deleted. A file that was already there may be one you
    put there by hand, so it is renamed to <name>.rejected, never deleted.
    """
    if downloaded_now:
        path.unlink(missing_ok=True)
        return f"{why} The file was deleted: {path}"
    rejected = path.with_name(path.name + ".rejected")
    path.replace(rejected)
    return f"{why} The file was not deleted; it was renamed to {rejected} (delete it yourself once you have looked)."


def _fetch(url: str, zip_path: Path, known_hash: str | None, progress: bool, timeout: float, sha256_env: str = SHA256_ENV) -> None:
    """One clean download attempt through pooch (temporary file, moved into place when complete)."""
    import pooch
    import requests
    import urllib3

    downloader = pooch.HTTPDownloader(progressbar=progress, chunk_size=1 << 20, timeout=timeout)
    try:
        pooch.retrieve(url, known_hash=f"sha256:{known_hash}" if known_hash else None, fname=zip_path.name,
                       path=zip_path.parent, downloader=downloader)
    except ValueError as error:  # pooch: hash mismatch (its temporary file is already gone)
        raise HashMismatchError(
            f"The file downloaded from {url} does not match the sha256 {known_hash}; it was discarded, nothing was kept.\n"
            f"If you pinned that hash (sha256= or {sha256_env}), check it; if it is the recorded hash of your first "
            f"download, the file on the server changed: delete {zip_path}.sha256 to accept the new one."
        ) from error
    except requests.exceptions.ConnectionError as error:
        if isinstance(error.args[0] if error.args else None, urllib3.exceptions.ReadTimeoutError):
            raise DownloadError(f"Downloading {url} stalled for {timeout} s in mid-transfer.") from error  # worth retrying
        raise NoNetworkError(f"Cannot reach {url} ({type(error).__name__}).\n" + REMEDIES.format(url=url, zip_path=zip_path)) from error
    except requests.exceptions.RequestException as error:  # an interrupted transfer, HTTP errors, timeouts
        raise DownloadError(f"Downloading {url} failed: {error}") from error


def _verified_zip(zip_path: Path, expected: str | None, check, downloaded_now: bool) -> str:
    """sha256 of a zip that passed every check; a failing file is moved out of the way (DownloadError)."""
    digest = file_sha256(zip_path)
    if expected and digest != expected:
        raise HashMismatchError(_discard(zip_path, f"{zip_path.name} has sha256 {digest}, expected {expected}.", downloaded_now))
    if not expected:  # nothing to compare with: check what can be checked before trusting it
        try:
            check(zip_path)
        except DownloadError as error:
            raise DownloadError(_discard(zip_path, str(error), downloaded_now)) from error
    return digest


def download_zip_source(
    source: ZipSource,
    destination: str | Path | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    check=None,
    attempts: int = 2,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack one zip source; return the folder holding its photos.

    Files (destination defaults to data/):
      destination/downloads/<zip>          the download (kept, so a re-extraction needs no network)
      destination/downloads/<zip>.sha256   the sha256 of the first download that passed every check
      destination/<source.name>/           the zip, unpacked

    The URL is `url`, else the source's environment variable, else the official one.
    `sha256` (or the source's CATSDOGS_..._SHA256) pins the hash; otherwise the recorded
    one is used. `check(zip_path)` checks a zip with no hash to compare against (default:
    CRCs and the expected counts). A failed or interrupted transfer is fetched again from
    scratch, up to `attempts` times.
    """
    url = source.resolved_url(url)
    destination = Path(destination) if destination else setup.DATA_DIR
    zip_path = destination / "downloads" / Path(urlparse(url).path).name
    record_path = zip_path.with_name(zip_path.name + ".sha256")
    extracted = destination / source.name
    photos = extracted / source.photos_under if source.photos_under else extracted
    pinned = (sha256 or os.environ.get(source.sha256_env) or "").strip().lower() or None
    recorded = record_path.read_text().split()[0] if record_path.exists() else None
    expected = pinned or recorded
    marker = extracted / _COMPLETE_MARKER
    if expected and marker.exists() and marker.read_text().strip() == expected:
        return photos  # unpacked from a zip with exactly this hash

    if check is None:
        def check(path):
            return check_zip_counts(path, source.expected_counts, 0.0, source.description)
    digest, failures = None, []
    for _ in range(max(1, attempts)):
        fetched = not zip_path.exists()
        try:
            if fetched:
                _fetch(url, zip_path, expected, progress, timeout, source.sha256_env)
            digest = _verified_zip(zip_path, expected, check, downloaded_now=fetched)
            break
        except (NoNetworkError, HashMismatchError) as error:
            if isinstance(error, NoNetworkError) or fetched:
                raise  # fetching again brings neither the network nor a different file back
            failures.append(str(error))  # a stale local file: fetch a fresh copy
        except DownloadError as error:
            failures.append(str(error))
    if digest is None:
        raise DownloadError(f"Could not get a good copy of {url} in {attempts} attempts:\n- " + "\n- ".join(failures))
    if recorded != digest:  # the first good download, or a newly pinned hash it matched
        record_path.write_text(f"{digest}  {zip_path.name}\n")

    partial = destination / f"{source.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # our own unfinished extraction from an earlier run
    safe_extract(zip_path, partial, progress=progress)
    (partial / _COMPLETE_MARKER).write_text(digest + "\n")
    shutil.rmtree(extracted, ignore_errors=True)  # our own extraction of another (or unverified) zip
    partial.rename(extracted)
    return photos


def download_petimages(
    destination: str | Path | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    expected_per_class: int = 12_500,
    tolerance: float = 0.02,
    attempts: int = 2,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack Microsoft's PetImages zip; return data/petimages (holding PetImages/).

    About 12,500 files per class (± tolerance) are expected: the zip's file count is not
    published exactly. URL: `url`, else CATSDOGS_PETIMAGES_URL, else Microsoft's.
    See download_zip_source for the files written and the checks.
    """
    def check(path):
        return check_petimages_zip(path, expected_per_class, tolerance)

    return download_zip_source(PETIMAGES, destination, url=url, sha256=sha256, check=check,
                               attempts=attempts, timeout=timeout, progress=progress)


def download_filtered(
    destination: str | Path | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    attempts: int = 2,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack Google's cats_and_dogs_filtered.zip (68 MB, 3,000 photos);
    return data/filtered/cats_and_dogs_filtered (train/ and validation/, each with cats/ and dogs/).

    The counts must be exact: 1,000 + 1,000 in train/, 500 + 500 in validation/.
    URL: `url`, else CATSDOGS_FILTERED_URL, else Google's. Hash pin: sha256= or CATSDOGS_FILTERED_SHA256.
    """
    return download_zip_source(FILTERED, destination, url=url, sha256=sha256,
                               attempts=attempts, timeout=timeout, progress=progress)


def _kaggle_credentials_present() -> bool:
    if os.environ.get("KAGGLE_API_TOKEN") or (os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")):
        return True
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle").expanduser()
    return (config_dir / "kaggle.json").is_file() or (config_dir / "access_token").is_file()


KAGGLE_HELP = """No Kaggle API credentials found. To download from Kaggle:
  1. sign in at https://www.kaggle.com, open Settings -> API -> "Create New Token";
     save the downloaded kaggle.json as ~/.kaggle/kaggle.json (chmod 600), or set
     KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN) in the environment;
  2. accept the competition's rules at https://www.kaggle.com/c/dogs-vs-cats/rules.
Or skip Kaggle: helpers.download.download_petimages(), or CATSDOGS_IMAGES=<folder>."""


def _kaggle_api():
    if not _kaggle_credentials_present():
        raise DownloadError(KAGGLE_HELP)
    from kaggle.api.kaggle_api_extended import KaggleApi  # imported late: `import kaggle` signs in at import

    api = KaggleApi()
    api.authenticate()
    return api


def extract_kaggle_train(competition_zip: str | Path, destination: str | Path, progress: bool = True) -> Path:
    """From Kaggle's dogs-vs-cats.zip (which holds train.zip) make destination/train/cat.N.jpg."""
    destination = Path(destination)
    check_zip(competition_zip)
    inner = destination / "competition.partial"
    shutil.rmtree(inner, ignore_errors=True)
    safe_extract(competition_zip, inner, members_under="train.zip", progress=False)
    if not (inner / "train.zip").is_file():
        raise DownloadError(f"{competition_zip} holds no train.zip; is it the {KAGGLE_COMPETITION} competition's file?")
    shutil.rmtree(destination / "train", ignore_errors=True)  # our own earlier extraction
    safe_extract(inner / "train.zip", destination, members_under="train/", progress=progress)
    shutil.rmtree(inner)
    return destination


def download_kaggle(destination: str | Path | None = None, *, competition: str = KAGGLE_COMPETITION, progress: bool = True) -> Path:
    """Download the Kaggle competition's photos; return a folder with Kaggle's flat train/cat.N.jpg layout.

    Credentials come from ~/.kaggle/kaggle.json or KAGGLE_USERNAME / KAGGLE_KEY and are never printed.
    """
    destination = Path(destination) if destination else setup.DATA_DIR / "kaggle"
    if (destination / "train" / _COMPLETE_MARKER).exists():
        return destination
    api = _kaggle_api()
    downloads = destination / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    try:
        api.competition_download_files(competition, path=str(downloads), quiet=not progress)
    except Exception as error:  # the kaggle client raises many types; say what usually fixes it
        raise DownloadError(
            f"Kaggle refused or failed the download of {competition!r} ({type(error).__name__}). "
            f"Accept the rules at https://www.kaggle.com/c/{competition}/rules, check the network, then retry."
        ) from error
    extract_kaggle_train(downloads / f"{competition}.zip", destination, progress=progress)
    (destination / "train" / _COMPLETE_MARKER).touch()
    return destination
