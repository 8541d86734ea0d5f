"""tools/render_run.py: a measured run as a page, without the photos, widgets and markers."""
from __future__ import annotations

import base64
import sys

import nbformat

from helpers import setup

sys.path.insert(0, str(setup.PROJECT_ROOT / "tools"))
import render_run  # noqa: E402

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def executed_notebook():
    nav = nbformat.v4.new_markdown_cell(render_run.NAV_MARKER + "\n[prev](00.ipynb)")
    intro = nbformat.v4.new_markdown_cell("# 03 · A CNN\n\nTest accuracy <!--rec:03_numpy_cnn/filtered|test_accuracy|.3f-->0.713<!--/rec-->.")
    chart = nbformat.v4.new_code_cell("plot_history(history)", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                                     "text/plain": "HBox(children=...)"}),
    ])
    photos = nbformat.v4.new_code_cell('show_images(x, y)\nsave_fig(NOTEBOOK, "grid", photos=True)', outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})])
    table = nbformat.v4.new_code_cell("report_table(dataset)", outputs=[nbformat.v4.new_output("execute_result", data={
        "text/html": "<div>\n<style scoped>\n.dataframe tbody tr th {vertical-align: top;}\n</style>\n<table><tr><td>3,000</td></tr></table></div>",
        "text/plain": "3,000"})])
    log = nbformat.v4.new_code_cell("train()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="".join(f"\x1b[32mepoch {i}\x1b[0m\n" for i in range(200)))])
    return nbformat.v4.new_notebook(cells=[nav, intro, chart, photos, table, log])


def test_a_page_keeps_charts_and_numbers_and_leaves_out_photos_widgets_markers(tmp_path):
    executed = tmp_path / "03_numpy_cnn.ipynb"
    nbformat.write(executed_notebook(), executed)
    page = render_run.render(executed, "03_numpy_cnn/filtered", out_dir=tmp_path / "runs", commit="abc1234", made="2026-12-07")
    text = page.read_text()
    assert "record [`03_numpy_cnn/filtered`]" in text and "`abc1234`" in text and "Page made 2026-12-07" in text
    assert "Test accuracy 0.713." in text and "<!--rec:" not in text       # the value, not the marker
    assert "[prev](00.ipynb)" not in text                                  # the nav cell's links would break here
    assert text.count("](03_numpy_cnn_files/") == 1                        # the chart, not the photo grid
    assert len(list((tmp_path / "runs" / "03_numpy_cnn_files").iterdir())) == 1
    assert render_run.PHOTOS_LEFT_OUT in text
    assert "HBox" not in text and "\x1b[" not in text
    assert "<td>3,000</td>" in text and "vertical-align" not in text  # tables stay, their style block goes
    assert "epoch 0" in text and "epoch 199" in text and "epoch 100\n" not in text and "lines left out" in text


def test_a_missing_executed_notebook_says_how_to_make_one(tmp_path, capsys):
    assert render_run.main([str(tmp_path / "nope.ipynb"), "--record", "03_numpy_cnn/filtered"]) == 2
    assert "tools/run_series.py" in capsys.readouterr().err
