"""helpers.plots: every figure draws, and save_fig puts it where it belongs."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plots, setup  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("quick, folder", [(False, "data/figures"), (True, "data/images-quick")])
def test_save_fig_folder_depends_on_quick_mode(project_dirs, monkeypatch, quick, folder):
    monkeypatch.setattr(setup, "QUICK", quick)
    fig = plots.plot_costs([1.0, 0.5, 0.25])
    path = plots.save_fig("01_numpy_logistic_regression.ipynb", "costs", fig)
    assert path == project_dirs / folder / "01_numpy_logistic_regression" / "costs.png"
    assert path.read_bytes().startswith(b"\x89PNG")


def test_a_real_run_never_writes_images(project_dirs, monkeypatch):
    """A learner's run leaves the committed figures alone; run.json lists what this run saved."""
    monkeypatch.setattr(setup, "QUICK", False)
    monkeypatch.setattr(plots, "_listed_this_process", set())
    stale = project_dirs / "data" / "figures" / "03_numpy_cnn" / "run.json"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"process": 1, "figures": {"old.png": "2026-01-01"}}')
    (stale.parent / "old.png").write_bytes(b"x")
    plots.save_fig("03_numpy_cnn", "history", plots.plot_costs([1.0, 0.5]))
    plots.save_fig("03_numpy_cnn", "grid", plots.plot_costs([1.0, 0.5]), photos=True)
    plots.save_fig("03_numpy_cnn", "batch_cost", plots.plot_costs([2.0, 1.0]))
    assert not (project_dirs / "images").exists()
    assert [p.name for p in plots.run_figures("03_numpy_cnn", project_dirs / "data")] == ["history.png", "batch_cost.png"]
    assert plots.run_figures("01_numpy_logistic_regression", project_dirs / "data") == []


def test_save_fig_saves_the_current_figure(project_dirs, monkeypatch):
    monkeypatch.setattr(setup, "QUICK", False)
    plt.figure()
    plt.plot([0, 1])
    assert plots.save_fig("00_get_the_data", "line").is_file()


def _titles(fig):
    return [(axis.get_title(), axis.title.get_color()) for axis in fig.axes if axis.get_title()]


def test_show_images_titles_true_and_predicted_wrong_in_red():
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    fig = plots.show_images(images, [0, 1, 1], predictions=[0, 0, 1], n=3)
    assert _titles(fig) == [("true cat\npred cat", "black"), ("true dog\npred cat", "red"), ("true dog\npred dog", "black")]


def test_show_images_accepts_classic_labels_and_channels_first_floats():
    images = np.random.default_rng(0).normal(size=(2, 3, 8, 8)).astype(np.float32)  # PyTorch CHW, normalised
    labels = np.array([[1, 0]])  # the classic (1, m) labels
    fig = plots.show_images(images, labels[0], classes=np.array([b"non-cat", b"cat"]), n=2)
    assert [t for t, _ in _titles(fig)] == ["cat", "non-cat"]
    shown = fig.axes[0].get_images()[0].get_array()
    assert shown.shape == (8, 8, 3) and 0 <= shown.min() and shown.max() <= 1


def test_plot_costs_one_list_or_several_curves():
    fig = plots.plot_costs({"lr=0.01": [3, 2, 1], "lr=0.001": [3, 2.5, 2]}, every=100)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["lr=0.01", "lr=0.001"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [0, 100, 200])


def test_plot_history_from_dict_or_keras_like_history():
    history = {"loss": [0.7, 0.5], "val_loss": [0.72, 0.6], "accuracy": [0.5, 0.7], "val_accuracy": [0.5, 0.65]}
    fig = plots.plot_history(history)
    assert [axis.get_title() for axis in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].get_lines()) == 2

    class KerasHistory:  # what model.fit returns: the dict is its .history
        pass

    keras_like = KerasHistory()
    keras_like.history = {"loss": [0.7, 0.5, 0.4]}
    fig = plots.plot_history(keras_like)
    assert [axis.get_title() for axis in fig.axes] == ["loss"]


def test_confusion_matrix_counts_and_plot():
    counts = plots.confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(counts, [[1, 1], [1, 2]])
    fig = plots.plot_confusion_matrix(np.array([[0, 0, 1, 1, 1]]), np.array([[0, 1, 1, 1, 0]]))
    assert sorted(text.get_text() for text in fig.axes[0].texts) == ["1", "1", "1", "2"]


def test_plot_mislabeled_shows_only_the_wrong_ones(capsys):
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    fig = plots.plot_mislabeled(images, [0, 1, 0, 1], [0, 0, 1, 1])
    assert [t for t, _ in _titles(fig)] == ["true dog\npred cat", "true cat\npred dog"]
    assert plots.plot_mislabeled(images, [0, 1, 0, 1], [0, 1, 0, 1]) is None
    assert "No mislabeled images" in capsys.readouterr().out


def test_show_top_losses_titles_the_true_class_and_the_wrong_ones_probability():
    pictures = np.zeros((2, 4, 4, 3))
    fig = plots.show_top_losses(pictures, [0, 1], np.array([[0.1, 0.9], [0.7, 0.3]]))
    assert [a.get_title() for a in fig.axes] == ["true cat\np(dog) = 0.90", "true dog\np(cat) = 0.70"]


def test_show_prediction_titles_each_class_probability(tmp_path):
    from PIL import Image

    path = tmp_path / "pet.png"
    Image.new("RGB", (8, 6), "red").save(path)
    fig = plots.show_prediction(path, {"cat": 0.25, "dog": 0.75})
    assert fig.axes[0].get_title() == "cat 25.0%, dog 75.0%"
    assert fig.axes[0].images[0].get_array().shape == (6, 8, 3)


def test_plot_lr_range_test_marks_the_suggestion_on_a_log_axis():
    fig = plots.plot_lr_range_test([1e-5, 1e-3, 1e-1], [0.7, 0.5, 2.0], suggested=1e-4)
    axis = fig.axes[0]
    assert axis.get_xscale() == "log" and axis.get_legend().get_texts()[0].get_text() == "suggested 1.0e-04"


def test_plot_schedules_draws_each_schedule_over_every_step():
    fig = plots.plot_schedules({"flat": lambda s, n: 1.0, "down": lambda s, n: 1 - s / n}, steps=10)
    lines = fig.axes[0].get_lines()
    assert [len(line.get_xdata()) for line in lines] == [11, 11] and lines[1].get_ydata()[-1] == 0.0


def test_plot_recipe_steps_starts_the_axis_at_chance_and_marks_the_test_accuracy():
    table = plots.recipe_steps_table([{"step": "first", "epochs": 6, "image_size": 96, "model_parameters": 9, "seconds": 1.0,
                                       "val_accuracy": 0.75, "extra": 1},
                                      {"step": "final", "epochs": 60, "image_size": 96, "model_parameters": 9, "seconds": 9.0,
                                       "val_accuracy": 0.9, "test_accuracy": 0.85}])
    assert list(table.columns) == plots.RECIPE_COLUMNS and table["test_accuracy"].isna().tolist() == [True, False]
    fig = plots.plot_recipe_steps(table, test_accuracy=0.85)
    axis = fig.axes[0]
    assert axis.get_xlim() == (0.5, 1.0)
    assert [t.get_text() for t in axis.get_yticklabels()] == ["first (6 ep, 96 px)", "final (60 ep, 96 px)"]
    assert axis.collections[0].get_offsets().tolist() == [[0.85, 1.0]]


def test_unnormalise_undoes_normalize_and_clips_to_0_1():
    picture = np.random.default_rng(0).random((4, 5, 3))
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    normalised = ((picture - mean) / std).transpose(2, 0, 1)
    assert np.allclose(plots.unnormalise(normalised, mean, std), picture)
    assert plots.unnormalise(np.full((3, 1, 1), 100.0), mean, std).max() == 1.0
