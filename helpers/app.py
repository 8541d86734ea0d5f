"""The "Try it" app of notebook 09: upload photos, see each answer. Widget plumbing only.

The decision (cat, dog or neither, with its Grad-CAM map) is taught in notebook 09 and
passed in as `decide`: a function from a photo's bytes to an answer dict (see
lessons.transfer_pytorch.cat_dog_or_neither). This module lays the answers out: the photo,
where the model looked, p(cat) and p(dog) as bars. Works in JupyterLab and Colab (ipywidgets).
"""
from __future__ import annotations

import html
import io

ANSWER_CLASS = "catsdogs-answer"  # CSS class of each answer's box (the browser test finds answers by it)


def answer_figure(answer: dict, name: str = ""):
    """A matplotlib Figure (no pyplot: nothing is displayed twice): photo | Grad-CAM over what the model saw | bars."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3), layout="constrained")
    photo_axis, cam_axis, bar_axis = fig.subplots(1, 3, width_ratios=[1, 1, 1.1])
    photo_axis.imshow(answer["photo"])
    photo_axis.set_title(name or "your photo", fontsize=9)
    cam_axis.imshow(answer["picture"])
    cam_axis.imshow(answer["heatmap"], cmap="jet", alpha=0.45)
    cam_axis.set_title("where the cat-vs-dog model looked", fontsize=9)
    for axis in (photo_axis, cam_axis):
        axis.axis("off")
    neither = answer["answer"] == "neither"
    bars = bar_axis.barh(["p(cat)", "p(dog)"], [answer["p_cat"], answer["p_dog"]], color="lightgray" if neither else ["tab:orange", "tab:blue"])
    bar_axis.bar_label(bars, fmt="%.3f", padding=3, fontsize=9)
    bar_axis.set_xlim(0, 1.2)
    bar_axis.set_xticks([0, 0.5, 1])
    bar_axis.invert_yaxis()
    bar_axis.set_title("what it would have guessed" if neither else "the cat-vs-dog model", fontsize=9)
    for side in ("top", "right"):
        bar_axis.spines[side].set_visible(False)
    return fig


def figure_png(fig, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)  # a pyplot-free Figure saves through the Agg canvas it gets
    return buffer.getvalue()


def answer_box(decide, name: str, content: bytes):
    """One uploaded file's answer: a line of text, and the figure when there is one. Never raises."""
    import ipywidgets as widgets

    try:
        answer = decide(content)
    except Exception as error:  # the app shows one line, never a traceback
        answer = {"answer": "error", "text": f"no answer for this file ({type(error).__name__}: {error})"}
    line = widgets.HTML(f"<b>{html.escape(name)}</b>: {html.escape(answer['text'])}")
    children = [line]
    if "heatmap" in answer:
        children.append(widgets.Image(value=figure_png(answer_figure(answer, name)), format="png"))
    box = widgets.VBox(children)
    box.add_class(ANSWER_CLASS)
    return box


def photo_app(decide, title: str = "Upload photos (JPEG, PNG, ...): cat, dog or neither?"):
    """An upload button and, newest first, one answer per uploaded file."""
    import ipywidgets as widgets

    upload = widgets.FileUpload(accept="image/*", multiple=True, description="Upload photos")
    answers = widgets.VBox()

    def on_upload(change):
        files = change["new"]
        if not files:  # the reset below
            return
        boxes = [answer_box(decide, file["name"], bytes(file["content"])) for file in files]
        answers.children = tuple(boxes) + answers.children
        upload.value = ()  # so that the same file can be uploaded again

    upload.observe(on_upload, names="value")
    return widgets.VBox([widgets.HTML(html.escape(title)), upload, answers])
