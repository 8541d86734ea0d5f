"""JupyterLab as a learner uses it: a real headless Chromium opens a notebook, runs every cell
from the Run menu in quick mode, waits for the kernel, and no cell may show an error.

Drives Debian's /usr/bin/chromium through Playwright (never `playwright install`); skipped
when it is missing (`apt-get install -y chromium`). The notebooks run as copies in a
temporary folder, so the committed files are never saved over. Screenshots go to
data/screenshots/ (git-ignored), so testing leaves the checkout clean; `make screenshots`
(CATSDOGS_SCREENSHOTS=images/browser) updates the committed ones.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, wherever CATSDOGS_ROOT puts data
NOTEBOOKS = CHECKOUT / "notebooks"
SCREENSHOTS = CHECKOUT / os.environ.get("CATSDOGS_SCREENSHOTS", "data/screenshots")
# The first NumPy notebook and one framework notebook (PyTorch, else Keras), whichever exist.
FRAMEWORK_NOTEBOOK = next((s for s in ("07_pytorch_cnn", "05_keras_cnn_cpu") if (NOTEBOOKS / f"{s}.ipynb").exists()), "07_pytorch_cnn")
RUN_TIMEOUT_S = 600
# Warnings that mean the learner's environment is incomplete, not that the lesson warns on purpose.
SETUP_WARNINGS = ("IProgress not found",)  # tqdm.auto without ipywidgets: text bars and a warning

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install -y chromium)"),
]
# Settings a fresh JupyterLab user would not notice, but that keep the page testable:
# every cell in the DOM (no windowing), no news/update toasts over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token, serving a temporary folder, kernels in quick mode."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    settings = root / ".settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    # CATSDOGS_ROOT: the kernels' data/ and results go to the temporary folder, not the learner's.
    env = {**os.environ, "CATSDOGS_QUICK": "1", "CATSDOGS_ROOT": str(root), "JUPYTER_CONFIG_DIR": str(root / ".config"),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime"), "JUPYTER_DATA_DIR": str(root / ".data")}
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={root / '.workspaces'}", "--LabApp.news_url=None", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{(root / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield {"root": root, "base": base, "token": token}
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def run_all_in_lab(lab, browser, notebook: Path, screenshot: Path | None, interact=None):
    """Open a copy of `notebook`, Run > Run All Cells, wait, save; return (saved notebook, page errors).

    `interact(page)`, if given, runs once every cell has run, before the screenshot (a learner using the notebook's app)."""
    copy = lab["root"] / "notebooks" / notebook.name
    shutil.copyfile(notebook, copy)
    for companion in notebook.parent.glob("*.py"):  # files a notebook imports from beside itself
        shutil.copyfile(companion, copy.parent / companion.name)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # A workspace of its own: JupyterLab would otherwise reopen the notebooks of earlier tests beside it.
        workspace = f"{notebook.stem}-{secrets.token_hex(4)}"
        page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/notebooks/{notebook.name}?token={lab['token']}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        # Run All before the kernel is connected opens a kernel dialog; wait as a person would.
        wait_until(lambda: kernel_state(lab, notebook.name) == "idle" and kernel_idle(page), 120, page, "the kernel to start")

        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        # Cells queue as [*]; the run is over when none is left and the kernel stays idle.
        page.wait_for_timeout(1000)
        finished = lambda: not busy_prompts(page) and kernel_state(lab, notebook.name) == "idle" and kernel_idle(page)
        wait_until(lambda: finished() and (page.wait_for_timeout(1000) or finished()), RUN_TIMEOUT_S, page, "Run All Cells to finish")

        if interact:
            interact(page)
        stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
        shown_errors = [text[-2000:] for text in stderr if looks_like_error(text) or any(w in text for w in SETUP_WARNINGS)]
        if screenshot:
            # Collapse the file browser (click its open tab) so the notebook gets the width.
            open_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
            if open_tab.count():
                open_tab.first.click()
            figures = page.locator(".jp-OutputArea-output img")
            if figures.count():  # the notebook's last figure, rather than its closing exercises
                figures.last.evaluate("img => img.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(500)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        # Save, then read the outputs from the file: the model, not the pixels, says which cells failed.
        before = copy.stat().st_mtime_ns
        page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Save Notebook$")).first.click()
        wait_until(lambda: copy.stat().st_mtime_ns != before, 60, page, "the notebook to be saved")
    finally:
        page.close()
        shut_down_kernel(lab, notebook.name)
    return nbformat.read(copy, as_version=4), shown_errors


def looks_like_error(text: str) -> bool:
    """A traceback or 'SomeError: ...' line; warnings and progress bars on stderr are fine."""
    return "Traceback (most recent call last)" in text or bool(re.search(r"^\w*(Error|Exception)\b", text, re.MULTILINE))


def busy_prompts(page) -> int:
    return page.evaluate("[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].filter(p => p.textContent.includes('*')).length")


def kernel_idle(page) -> bool:
    """The notebook toolbar's kernel indicator says idle."""
    return page.evaluate("document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset?.status") == "idle"


def kernel_state(lab, name: str) -> str | None:
    """The server's view: execution state of the kernel of the session for notebooks/<name>."""
    with urllib.request.urlopen(f"{lab['base']}/api/sessions?token={lab['token']}", timeout=10) as response:
        sessions = json.load(response)
    states = [s["kernel"]["execution_state"] for s in sessions if s.get("path", "").endswith(name) and s.get("kernel")]
    return states[0] if len(states) == 1 else None


def shut_down_kernel(lab, name: str):
    """Free the kernel's memory once its notebook is done (each test uses a notebook of its own)."""
    with urllib.request.urlopen(f"{lab['base']}/api/sessions?token={lab['token']}", timeout=10) as response:
        sessions = [s for s in json.load(response) if s.get("path", "").endswith(name)]
    for session in sessions:
        request = urllib.request.Request(f"{lab['base']}/api/sessions/{session['id']}?token={lab['token']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def wait_until(condition, seconds: float, page, what: str):
    deadline = time.monotonic() + seconds
    while not condition():
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            pytest.fail(f"waiting for {what}, JupyterLab shows a dialog: {dialog.first.inner_text()[:300]!r}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        page.wait_for_timeout(500)


def errors_in(nb) -> list[str]:
    return [f"cell {i + 1}: {o.ename}: {o.evalue}" for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize("stem", ["01_numpy_logistic_regression", FRAMEWORK_NOTEBOOK])
def test_notebook_runs_in_jupyterlab_without_errors(lab, browser, stem):
    notebook = NOTEBOOKS / f"{stem}.ipynb"
    if not notebook.exists():
        pytest.skip(f"{notebook.name} is not written yet")
    start = time.monotonic()
    saved, shown_errors = run_all_in_lab(lab, browser, notebook, SCREENSHOTS / f"{stem}.png")
    print(f"{stem}: run through the UI in {time.monotonic() - start:.0f} s")
    assert not errors_in(saved), f"{stem}: errors in cells: {errors_in(saved)}"
    assert not shown_errors, f"{stem}: the page shows errors: {shown_errors}"
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), f"{stem}: not every cell ran"


def test_an_error_in_a_cell_is_caught(lab, browser, tmp_path):
    """The check above can fail: a notebook whose second cell raises is reported."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}})
    nb.cells = [nbformat.v4.new_code_cell("import os\nQUICK = os.environ.get('CATSDOGS_QUICK')\nprint(QUICK)"),
                nbformat.v4.new_code_cell("raise ValueError('planted')"), nbformat.v4.new_code_cell("print('after')")]
    path = tmp_path / "99_planted_error.ipynb"
    nbformat.write(nb, path)
    saved, shown_errors = run_all_in_lab(lab, browser, path, screenshot=None)
    assert errors_in(saved) == ["cell 2: ValueError: planted"]
    assert any("ValueError" in text for text in shown_errors)
    assert saved.cells[0].outputs[0].text == "1\n"  # the server's CATSDOGS_QUICK=1 reached the kernel
    assert not saved.cells[2].execution_count      # Run All stops at the error


APP_NOTEBOOK = "09_transfer_learning_pytorch"


def upload(page, path: Path):
    """Click the app's upload button and choose `path` in the file chooser, as a learner does."""
    with page.expect_file_chooser() as chooser:
        page.locator(".widget-upload").last.click()
    chooser.value.set_files(str(path))


def test_the_transfer_learning_app_answers_an_uploaded_photo_and_a_text_file(lab, browser, tmp_path):
    """Notebook 09's "Try it" app in quick mode: a photo gets an answer and a picture; a text file named .jpg one line."""
    import matplotlib.cbook

    notebook = NOTEBOOKS / f"{APP_NOTEBOOK}.ipynb"
    photo = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    text_file = tmp_path / "notes.jpg"
    text_file.write_text("a shopping list, not a photo\n")
    seen = {}

    def use_the_app(page):
        answers = page.locator(".catsdogs-answer")
        upload(page, photo)
        wait_until(lambda: answers.count() == 1 and answers.first.locator("img").count() == 1, 120, page, "the photo's answer")
        seen["photo"] = answers.first.inner_text()
        seen["picture"] = answers.first.locator("img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
        upload(page, text_file)
        wait_until(lambda: answers.count() == 2, 60, page, "the text file's answer")
        seen["text file"] = answers.first.inner_text()  # newest first
        seen["text file pictures"] = answers.first.locator("img").count()
        seen["app"] = page.locator(".jp-OutputArea-output", has=page.locator(".widget-upload")).last.inner_text()

    saved, shown_errors = run_all_in_lab(lab, browser, notebook, SCREENSHOTS / "09_transfer_learning_pytorch_app.png", interact=use_the_app)
    assert not errors_in(saved), errors_in(saved)
    assert not shown_errors, shown_errors
    print(seen)
    assert seen["photo"].startswith("grace_hopper.jpg: ") and re.search(r": (a cat|a dog|an? .+, not a cat or a dog)", seen["photo"]), seen["photo"]
    assert seen["picture"][0] > 300 and seen["picture"][1] > 100  # the figure: photo, Grad-CAM, bars
    assert seen["text file"].startswith("notes.jpg: ") and "is not an image" in seen["text file"], seen["text file"]
    assert seen["text file pictures"] == 0 and "\n" not in seen["text file"].strip()
    assert "Traceback" not in seen["app"], seen["app"]
