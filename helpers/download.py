"""Download the photos once, check them, and unpack them safely.

Three sources (`helpers.data.get_dataset` picks one; CATSDOGS_SOURCE chooses):
* "filtered": Google's cats_and_dogs_filtered.zip (`download_filtered`, 68 MB), the
  3,000 photos of the TensorFlow tutorials: train/ 1,000 cats + 1,000 dogs,
  validation/ 500 + 500. Small enough for a first run.
* "petimages": Microsoft's PetImages zip (`download_petimages`, 787 MB, about 25,000 photos).
* "kaggle": the Kaggle "Dogs vs. Cats" competition (`download_kaggle`), which needs a
  Kaggle account, an API token and the competition's rules accepted.

The two zips go through the same steps. Each has an ordered list of URLs (the current
official address first, then older ones; docs/data.md says where each comes from), and
CATSDOGS_FILTERED_URL / CATSDOGS_PETIMAGES_URL replace that list with your own
(several URLs separated by spaces, tried in that order). A URL that fails (no
connection, an HTTP error, a cut or empty transfer, a zip that fails a check) is
reported in one line and the next one is tried; when every URL fails, one message lists
each URL with what went wrong, and the ways around it.

pooch streams each download into a temporary file; the copy is checked under a name
nobody trusts (<zip>.download) and moved into place only when it passed every check, so
an interrupted or bad download never leaves a file that a later run would use. Neither
zip has a published checksum, so the first good copy is checked for what can be checked
(every entry's CRC, the exact number of photos in each folder, no entry that would
escape the folder), its sha256 is recorded next to it, and every later copy, whichever
URL served it, must have that sha256 (or the one you pin with `sha256=` or
CATSDOGS_<SOURCE>_SHA256): a mirror serving another zip is refused.

Extraction refuses entries that would land outside the target folder (zip-slip:
absolute paths, `..`) and symbolic links, and unpacks into a temporary folder that is
renamed only when complete.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import sys
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from helpers import setup

# Ordered: the current official address first. Where each comes from and when it was last
# seen in use: docs/data.md, "Sources and their download addresses".
FILTERED_URLS = (
    "https://download.mlcc.google.com/mledu-datasets/cats_and_dogs_filtered.zip",  # TensorFlow's tutorials since 2025-11
    "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",  # TensorFlow's tutorials 2019-2025
)
PETIMAGES_URLS = (
    "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip",
)
SHA256_ENV = "CATSDOGS_PETIMAGES_SHA256"
KAGGLE_COMPETITION = "dogs-vs-cats"
_COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class ZipSource:
    """One downloadable zip of photos and what a good copy of it holds."""

    name: str  # "petimages": also the folder it is unpacked into, data/<name>/
    urls: tuple  # tried in this order
    url_env: str  # environment variable that replaces the URL list (mirrors, separated by spaces)
    sha256_env: str  # environment variable that pins the zip's sha256
    zip_name: str  # the file in data/downloads/, whichever URL served it
    expected_counts: tuple  # ((folder prefix inside the zip, number of files), ...)
    photos_under: str  # the folder, inside the unpacked zip, that get_dataset reads
    description: str

    def resolved_urls(self, urls=None) -> tuple:
        """`urls` (a list, or one string of URLs separated by spaces), else the environment
        variable's URLs, else the built-in list."""
        if urls:
            return tuple(urls.split()) if isinstance(urls, str) else tuple(urls)
        return tuple(os.environ.get(self.url_env, "").split()) or self.urls


PETIMAGES = ZipSource(
    "petimages", PETIMAGES_URLS, "CATSDOGS_PETIMAGES_URL", SHA256_ENV, "kagglecatsanddogs_5340.zip",
    (("PetImages/Cat/", 12_500), ("PetImages/Dog/", 12_500)), "", "the PetImages zip",
)
FILTERED = ZipSource(
    "filtered", FILTERED_URLS, "CATSDOGS_FILTERED_URL", "CATSDOGS_FILTERED_SHA256", "cats_and_dogs_filtered.zip",
    (("cats_and_dogs_filtered/train/cats/", 1_000), ("cats_and_dogs_filtered/train/dogs/", 1_000),
     ("cats_and_dogs_filtered/validation/cats/", 500), ("cats_and_dogs_filtered/validation/dogs/", 500)),
    "cats_and_dogs_filtered", "Google's cats_and_dogs_filtered zip",
)
ZIP_SOURCES = {source.name: source for source in (FILTERED, PETIMAGES)}

REMEDIES = """To use photos without this download, any one of:
  * set CATSDOGS_IMAGES=<folder> to a folder of labelled photos you already have
    (Cat/ and Dog/ folders, train/ validation/ test/ split folders, or Kaggle's train/cat.N.jpg);
  * download the zip by hand from one of the URLs above (a browser works) and put it at
    {zip_path}; the next run checks and uses it;
  * point the download at a mirror you can reach: {url_env}="<url> [<url> ...]" (tried in order);
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


class _RetryableError(DownloadError):
    """A transfer that broke off (cut, stalled, unreadable): the same URL is worth another try."""


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


def check_entries_safe(zip_path: str | Path, destination: str | Path = ".", members_under: str = "") -> list:
    """The zip's entries below `members_under`; UnsafeArchiveError if one is a link or would
    land outside `destination` (zip-slip)."""
    target_root = Path(destination).resolve()
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
    return members


def safe_extract(zip_path: str | Path, destination: str | Path, members_under: str = "", progress: bool = True) -> Path:
    """Extract a zip into destination, refusing zip-slip entries and symbolic links.

    Every entry is checked before anything is written, so a refused archive leaves
    nothing behind. `members_under` extracts only the entries below that prefix.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    members = check_entries_safe(zip_path, destination, members_under)
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
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
        raise _RetryableError(f"{zip_path.name} is not a readable zip file ({error}); it is probably an incomplete download.") from error
    if broken is not None:
        raise _RetryableError(f"{zip_path.name} is damaged: the CRC of {broken!r} does not match; the download is corrupt.")
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
        raise DownloadError(f"{Path(zip_path).name} does not look like {description}: " + "; ".join(wrong) + ".")
    return counts


def check_petimages_zip(zip_path: str | Path, expected_per_class: int = 12_500, tolerance: float = 0.02) -> dict:
    """Check a PetImages zip: every CRC matches and PetImages/Cat and PetImages/Dog hold
    about `expected_per_class` files each. Returns the file count per class."""
    expected = ((f"PetImages/{folder}/", expected_per_class) for folder in ("Cat", "Dog"))
    counts = check_zip_counts(zip_path, tuple(expected), tolerance, "the PetImages zip")
    return {prefix.split("/")[1]: n for prefix, n in counts.items()}


def _say(line: str) -> None:
    """One line of the download's log (stderr: it shows in a notebook and in a terminal)."""
    print(line, file=sys.stderr, flush=True)


@contextmanager
def _quiet_pooch():
    """pooch logs every download and the hash of unpinned files; this module says what matters itself."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _fetch(url: str, target: Path, progress: bool, timeout: float) -> None:
    """One download attempt through pooch into `target` (pooch streams into a temporary
    file and moves it there only when the transfer finished). Raises DownloadError."""
    import pooch
    import requests
    import urllib3

    target.unlink(missing_ok=True)  # pooch would take an existing file for the download
    downloader = pooch.HTTPDownloader(progressbar=progress, chunk_size=1 << 20, timeout=timeout)
    try:
        with _quiet_pooch():
            pooch.retrieve(url, known_hash=None, fname=target.name, path=target.parent, downloader=downloader)
    except requests.exceptions.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        kind = _RetryableError if status is not None and status >= 500 else DownloadError
        raise kind(f"the server answered HTTP {status} ({error.response.reason if error.response is not None else error})") from error
    except requests.exceptions.ConnectionError as error:
        if isinstance(error.args[0] if error.args else None, urllib3.exceptions.ReadTimeoutError):
            raise _RetryableError(f"the transfer stalled for {timeout} s in mid-transfer") from error
        if "RemoteDisconnected" in str(error) or "Connection aborted" in str(error):  # an empty reply
            raise _RetryableError("the server closed the connection without an answer") from error
        raise NoNetworkError(f"cannot connect ({_connection_reason(error)})") from error
    except requests.exceptions.RequestException as error:  # an interrupted transfer, timeouts
        raise _RetryableError(f"the transfer failed ({type(error).__name__}: {_first_line(error)})") from error
    if target.exists() and target.stat().st_size == 0:
        raise _RetryableError("the server sent an empty file")


def _connection_reason(error: BaseException) -> str:
    """'Connection refused', 'Name or service not known', ... out of requests' long message."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    return found.group(1).strip() if found else _first_line(error)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _pin_help(source: ZipSource, record_path: Path, digest: str) -> str:
    return (f"If you trust this copy, pin its hash ({source.sha256_env}={digest}) or delete {record_path} "
            "(the next good download is recorded afresh); otherwise use another URL.")


def _check_copy(path: Path, expected: str | None, pinned: bool, check, source: ZipSource, record_path: Path) -> str:
    """The sha256 of a copy that passed every check, else DownloadError (the copy is left where it is).

    With a pinned or recorded hash, the copy must have exactly that hash; without one (the
    first download on this machine) it must pass `check` (CRCs, counts). Either way no entry
    may be a link or escape the folder.
    """
    digest = file_sha256(path)
    if expected and digest != expected:
        where = (f"pinned with sha256= or {source.sha256_env}" if pinned
                 else f"recorded at this machine's first download, in {record_path}")
        raise HashMismatchError(
            f"another zip than expected: sha256 {digest} arrived, {expected} was expected ({where}). "
            + _pin_help(source, record_path, digest))
    if not expected:
        check(path)
    try:
        check_entries_safe(path, path.parent / "unpacked")
    except zipfile.BadZipFile as error:  # only when a pinned hash let an unreadable file through
        raise DownloadError(f"{path.name} is not a readable zip file ({error})") from error
    return digest


def _discard(path: Path, downloaded_now: bool) -> str:
    """Remove a failed zip from where it would be trusted; say what happened to it.

    A file this run downloaded is deleted. A file that was already there may be one you
    put there by hand, so it is renamed to <name>.rejected, never deleted.
    """
    if not path.exists():
        return ""
    if downloaded_now:
        path.unlink()
        return "The copy was deleted; nothing was kept."
    rejected = path.with_name(path.name + ".rejected")
    path.replace(rejected)
    return f"The file was not deleted; it was renamed to {rejected} (delete it yourself once you have looked)."


def _remove_if_empty(*folders: Path) -> None:
    for folder in folders:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            pass


def download_zip_source(
    source: ZipSource,
    destination: str | Path | None = None,
    *,
    url=None,
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

    URLs, tried in order: `url` (one URL, several separated by spaces, or a list), else the
    source's environment variable (the same), else the built-in list. `sha256` (or the
    source's CATSDOGS_..._SHA256) pins the hash; otherwise the recorded one is used.
    `check(zip_path)` checks a zip with no hash to compare against (default: CRCs and the
    expected counts). A transfer that broke off is fetched again from scratch, up to
    `attempts` times per URL; any other failure moves on to the next URL at once.
    """
    urls = source.resolved_urls(url)
    destination = Path(destination) if destination else setup.DATA_DIR
    downloads = destination / "downloads"
    zip_path = downloads / source.zip_name
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
    digest, failures = None, []  # failures: (where, error)
    if zip_path.exists():  # an earlier download, or a copy put there by hand
        try:
            digest = _check_copy(zip_path, expected, bool(pinned), check, source, record_path)
        except DownloadError as error:
            failures.append((f"the file already at {zip_path}", error, _discard(zip_path, downloaded_now=False)))
            _say(f"Not using {zip_path}: {_first_line(error)} {failures[-1][2]}".rstrip())

    made = [folder for folder in (destination, downloads) if not folder.exists()]
    incoming = zip_path.with_name(zip_path.name + ".download")  # never trusted under this name
    for number, candidate in enumerate(urls if digest is None else (), start=1):
        _say(f"Downloading {source.zip_name} from {candidate}" + (f" (URL {number} of {len(urls)})" if len(urls) > 1 else ""))
        for attempt in range(1, max(1, attempts) + 1):
            try:
                _fetch(candidate, incoming, progress, timeout)
                digest = _check_copy(incoming, expected, bool(pinned), check, source, record_path)
                incoming.replace(zip_path)
                break
            except DownloadError as error:
                kept = _discard(incoming, downloaded_now=True)
                if isinstance(error, _RetryableError) and attempt < attempts:
                    _say(f"  attempt {attempt} failed: {_first_line(error)}; trying again from scratch.")
                    continue
                tried = f" ({attempt} attempts)" if attempt > 1 else ""
                failures.append((candidate + tried, error, kept))
                following = "trying the next URL." if number < len(urls) else "no URL left."
                _say(f"Failed: {candidate}: {_first_line(error)}{tried}; {following}")
                break
        if digest is not None:
            break

    if digest is None:
        _remove_if_empty(*reversed(made))
        raise _all_failed(source, urls, failures, zip_path)
    if recorded != digest:  # the first good download, or a newly pinned hash it matched
        record_path.write_text(f"{digest}  {zip_path.name}\n")
        _say(f"sha256 {digest} recorded in {record_path}: every later copy must match it.")

    partial = destination / f"{source.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # our own unfinished extraction from an earlier run
    safe_extract(zip_path, partial, progress=progress)
    (partial / _COMPLETE_MARKER).write_text(digest + "\n")
    shutil.rmtree(extracted, ignore_errors=True)  # our own extraction of another (or unverified) zip
    partial.rename(extracted)
    return photos


def _all_failed(source: ZipSource, urls, failures, zip_path: Path) -> DownloadError:
    """One error that lists every URL (and a local file) with what went wrong, then the remedies.

    Its class is that of the failures when they all agree (NoNetworkError when no URL could be
    reached, HashMismatchError when every copy was another zip), else DownloadError.
    """
    lines = [f"Could not get a good copy of {source.description} ({source.zip_name}) from any of {len(urls)} URL(s):"]
    for where, error, kept in failures:
        lines.append(f"  - {where}: {error}" + (f" {kept}" if kept else ""))
    kinds = {type(error) for _, error, _ in failures}
    kind = kinds.pop() if len(kinds) == 1 else DownloadError
    if kind not in (NoNetworkError, HashMismatchError, UnsafeArchiveError):
        kind = DownloadError
    lines.append(f"Nothing from these URLs was kept in {zip_path.parent}.")
    lines.append(REMEDIES.format(zip_path=zip_path, url_env=source.url_env))
    return kind("\n".join(lines))


def download_petimages(
    destination: str | Path | None = None,
    *,
    url=None,
    sha256: str | None = None,
    expected_per_class: int = 12_500,
    tolerance: float = 0.02,
    attempts: int = 2,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack Microsoft's PetImages zip; return data/petimages (holding PetImages/).

    About 12,500 files per class (± tolerance) are expected: the zip's file count is not
    published exactly. URLs: `url` (one, several separated by spaces, or a list), else
    CATSDOGS_PETIMAGES_URL, else PETIMAGES_URLS. See download_zip_source for the files
    written and the checks.
    """
    def check(path):
        return check_petimages_zip(path, expected_per_class, tolerance)

    return download_zip_source(PETIMAGES, destination, url=url, sha256=sha256, check=check,
                               attempts=attempts, timeout=timeout, progress=progress)


def download_filtered(
    destination: str | Path | None = None,
    *,
    url=None,
    sha256: str | None = None,
    attempts: int = 2,
    timeout: float = 60,
    progress: bool = True,
) -> Path:
    """Download, verify and unpack Google's cats_and_dogs_filtered.zip (68 MB, 3,000 photos);
    return data/filtered/cats_and_dogs_filtered (train/ and validation/, each with cats/ and dogs/).

    The counts must be exact: 1,000 + 1,000 in train/, 500 + 500 in validation/.
    URLs: `url` (one, several separated by spaces, or a list), else CATSDOGS_FILTERED_URL,
    else FILTERED_URLS. Hash pin: sha256= or CATSDOGS_FILTERED_SHA256.
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
