"""Download the photos once, check them, and unpack them safely.

Two sources:
* Microsoft's PetImages zip (`download_petimages`, the default): fetched with pooch,
  which streams into a temporary file and moves it into place only when the transfer
  finished, so an interrupted download never leaves a file that is later trusted.
  No published checksum of this zip is known, so the first good download is checked
  for what can be checked (every entry's CRC, about 12,500 photos per class), its
  sha256 is recorded next to it, and every later use is verified against that record
  (or against a hash you pin with `sha256=` or CATSDOGS_PETIMAGES_SHA256).
* The Kaggle "Dogs vs. Cats" competition (`download_kaggle`), which needs a Kaggle
  account, an API token and the competition's rules accepted.

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

from helpers import setup

PETIMAGES_URL = "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip"
SHA256_ENV = "CATSDOGS_PETIMAGES_SHA256"
KAGGLE_COMPETITION = "dogs-vs-cats"
_COMPLETE_MARKER = ".complete"

REMEDIES = """To use photos without this download, any one of:
  * set CATSDOGS_IMAGES=<folder> to a folder of labelled photos you already have
    (Cat/ and Dog/ folders, train/ validation/ test/ split folders, or Kaggle's train/cat.N.jpg);
  * download {url}
    by hand (a browser works) and put it at {zip_path}; the next run checks and uses it;
  * use the Kaggle competition instead: helpers.download.download_kaggle() (needs a Kaggle API token);
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


def check_petimages_zip(zip_path: str | Path, expected_per_class: int = 12_500, tolerance: float = 0.02) -> dict:
    """Check a PetImages zip without trusting it: it opens, every CRC matches, and
    PetImages/Cat and PetImages/Dog hold about `expected_per_class` files each.

    Returns the file count per class; raises DownloadError saying what is wrong.
    """
    names = check_zip(zip_path)
    counts = {folder: sum(name.startswith(f"PetImages/{folder}/") for name in names) for folder in ("Cat", "Dog")}
    allowed = max(1, round(expected_per_class * tolerance))
    wrong = {folder: n for folder, n in counts.items() if abs(n - expected_per_class) > allowed}
    if wrong:
        raise DownloadError(
            f"{zip_path} does not look like the PetImages zip: expected about {expected_per_class} files "
            f"(±{allowed}) in each of PetImages/Cat and PetImages/Dog, found {counts}."
        )
    return counts


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


def _fetch(url: str, zip_path: Path, known_hash: str | None, progress: bool, timeout: float) -> None:
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
            f"If you pinned that hash (sha256= or {SHA256_ENV}), check it; if it is the recorded hash of your first "
            f"download, the file on the server changed: delete {zip_path}.sha256 to accept the new one."
        ) from error
    except requests.exceptions.ConnectionError as error:
        if isinstance(error.args[0] if error.args else None, urllib3.exceptions.ReadTimeoutError):
            raise DownloadError(f"Downloading {url} stalled for {timeout} s in mid-transfer.") from error  # worth retrying
        raise NoNetworkError(f"Cannot reach {url} ({type(error).__name__}).\n" + REMEDIES.format(url=url, zip_path=zip_path)) from error
    except requests.exceptions.RequestException as error:  # an interrupted transfer, HTTP errors, timeouts
        raise DownloadError(f"Downloading {url} failed: {error}") from error


def _verified_zip(zip_path: Path, expected: str | None, checks: dict, downloaded_now: bool) -> str:
    """sha256 of a zip that passed every check; a failing file is moved out of the way (DownloadError)."""
    digest = file_sha256(zip_path)
    if expected and digest != expected:
        raise HashMismatchError(_discard(zip_path, f"{zip_path.name} has sha256 {digest}, expected {expected}.", downloaded_now))
    if not expected:  # nothing to compare with: check what can be checked before trusting it
        try:
            check_petimages_zip(zip_path, **checks)
        except DownloadError as error:
            raise DownloadError(_discard(zip_path, str(error), downloaded_now)) from error
    return digest


def download_petimages(
    destination: str | Path | None = None,
    *,
    url: str = PETIMAGES_URL,
    sha256: str | None = None,
    expected_per_class: int = 12_500,
    tolerance: float = 0.02,
    attempts: int = 2,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack Microsoft's PetImages zip; return the folder holding PetImages/.

    Files (destination defaults to data/):
      destination/downloads/<zip>          the download (kept, so a re-extraction needs no network)
      destination/downloads/<zip>.sha256   the sha256 of the first download that passed every check
      destination/petimages/PetImages/     the photos, unpacked; returned is destination/petimages

    `sha256` (or CATSDOGS_PETIMAGES_SHA256) pins the hash; otherwise the recorded one is used.
    A failed or interrupted transfer is fetched again from scratch, up to `attempts` times.
    """
    destination = Path(destination) if destination else setup.DATA_DIR
    zip_path = destination / "downloads" / Path(urlparse(url).path).name
    record_path = zip_path.with_name(zip_path.name + ".sha256")
    extracted = destination / "petimages"
    pinned = (sha256 or os.environ.get(SHA256_ENV) or "").strip().lower() or None
    recorded = record_path.read_text().split()[0] if record_path.exists() else None
    expected = pinned or recorded
    marker = extracted / _COMPLETE_MARKER
    if expected and marker.exists() and marker.read_text().strip() == expected:
        return extracted  # unpacked from a zip with exactly this hash

    checks = dict(expected_per_class=expected_per_class, tolerance=tolerance)
    digest, failures = None, []
    for _ in range(max(1, attempts)):
        fetched = not zip_path.exists()
        try:
            if fetched:
                _fetch(url, zip_path, expected, progress, timeout)
            digest = _verified_zip(zip_path, expected, checks, downloaded_now=fetched)
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

    partial = destination / "petimages.partial"
    shutil.rmtree(partial, ignore_errors=True)  # our own unfinished extraction from an earlier run
    safe_extract(zip_path, partial, progress=progress)
    (partial / _COMPLETE_MARKER).write_text(digest + "\n")
    shutil.rmtree(extracted, ignore_errors=True)  # our own extraction of another (or unverified) zip
    partial.rename(extracted)
    return extracted


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
