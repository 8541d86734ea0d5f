"""requirements.txt and environment.yml describe one environment, and this one matches it."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement


ROOT = Path(__file__).resolve().parent.parent


def requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def pins(specs) -> dict[str, str]:
    """{'numpy': '~=2.3', ...} with names normalised as pip does."""
    result = {}
    for spec in specs:
        requirement = Requirement(spec.split("#")[0].strip())
        name = requirement.name.lower().replace("_", "-")
        assert name not in result, f"{name} listed twice"
        result[name] = str(requirement.specifier)
    return result


def conda_environment() -> tuple[list[str], list[str]]:
    """(conda specs without python and pip, pip specs) from environment.yml."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for item in environment["dependencies"]:
        if isinstance(item, dict):
            pip += item["pip"]
        elif item.split("=")[0] not in ("python", "pip"):
            conda.append(item)
    return conda, pip


def test_every_requirement_is_pinned_compatibly_and_says_who_needs_it():
    lines = requirement_lines()
    assert lines
    for line in lines:
        spec, _, comment = line.partition("#")
        assert "~=" in spec and len(Requirement(spec.strip()).specifier) == 1, f"pin with ~= only: {line!r}"
        assert comment.strip(), f"say which notebook needs it: {line!r}"


def test_environment_yml_lists_the_same_packages_and_pins():
    conda, pip = conda_environment()
    assert pins(conda + pip) == pins(requirement_lines())
    assert not set(pins(conda)) & set(pins(pip)), "a package is in both the conda and the pip list"


def test_environment_yml_has_python_and_pip():
    dependencies = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    plain = [d for d in dependencies if isinstance(d, str)]
    assert "pip" in plain
    assert any(d.startswith("python=3.") for d in plain)


def test_this_environment_satisfies_requirements():
    unmet = []
    for name, specifier in pins(requirement_lines()).items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            unmet.append(f"{name} not installed")
            continue
        if not Requirement(f"{name}{specifier}").specifier.contains(version):
            unmet.append(f"{name} {version} does not satisfy {specifier}")
    if unmet:
        pytest.fail("run `make install`: " + "; ".join(unmet))


def test_make_check_clean_fails_when_the_tests_changed_a_tracked_file(tmp_path):
    """The last step of `make test`: the checkout is as the tests found it."""
    import shutil
    import subprocess

    if not shutil.which("make") or not shutil.which("git"):
        pytest.skip("needs make and git")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    run = lambda *command: subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    run("git", "init", "-q")
    (tmp_path / ".gitignore").write_text("/data/\n")
    (tmp_path / "figure.png").write_text("committed")
    run("git", "add", "-A")
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    (tmp_path / "data" / "ci").mkdir(parents=True)
    (tmp_path / "data" / "ci" / "git-status-before.txt").write_text("")
    (tmp_path / "data" / "screenshot.png").write_text("under data/: fine")
    clean = run("make", "--no-print-directory", "check-clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (tmp_path / "figure.png").write_text("overwritten by a test")
    dirty = run("make", "--no-print-directory", "check-clean")
    assert dirty.returncode != 0 and "M figure.png" in dirty.stdout


@pytest.mark.slow
def test_the_pip_installed_helpers_carry_the_records(tmp_path):
    """Colab installs the helpers with pip, without the repository: records/ must travel in the wheel
    (as helpers/records_data/), or notebook 10 would have nothing to fall back on."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"
    for name in ("helpers", "lessons"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    (source / "records" / "07_pytorch_cnn").mkdir(parents=True)
    (source / "records" / "07_pytorch_cnn" / "filtered.json").write_text('{"test_accuracy": 0.85}')
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
                            "-w", str(tmp_path / "wheel")], capture_output=True, text=True, cwd=tmp_path)
    if built.returncode != 0 and "No module named" in built.stderr:
        pytest.skip(f"cannot build a wheel here: {built.stderr[-200:]}")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("catsdogs_helpers-*.whl"))
    assert "helpers/records_data/07_pytorch_cnn/filtered.json" in zipfile.ZipFile(wheel).namelist()


def test_browser_screenshots_go_to_data_unless_make_screenshots_asks_for_images(monkeypatch):
    """`make test` must not rewrite the committed images/browser/*.png; `make screenshots` does, on purpose."""
    import importlib.util

    def screenshots_dir():
        spec = importlib.util.spec_from_file_location("browser_test_module", ROOT / "tests" / "test_browser.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.SCREENSHOTS

    monkeypatch.delenv("CATSDOGS_SCREENSHOTS", raising=False)
    assert screenshots_dir() == ROOT / "data" / "screenshots"
    make = (ROOT / "Makefile").read_text()
    setting = next(line for line in make.splitlines() if "CATSDOGS_SCREENSHOTS=" in line).split("CATSDOGS_SCREENSHOTS=")[1].split()[0]
    monkeypatch.setenv("CATSDOGS_SCREENSHOTS", setting)
    assert screenshots_dir() == ROOT / "images" / "browser"
