"""Book-tool markup reduced to the text a reader sees (MyST and Sphinx roles and
directives, d2lbook tabs and labels, highlight brackets, HTML, Liquid, kramdown), with
cross-references read as their target's title; plain Markdown left exactly as it was."""

from __future__ import annotations

import pytest

from ingest.markup import (
    collect_labels,
    frameworks_imported,
    readable_label,
    reduce_code_cell,
    reduce_markup,
)

LABELS = {"sec_softmax": "Softmax Regression", "fig_gan": "The GAN training loop."}


@pytest.mark.parametrize(("text", "expected"), [
    # Sphinx-style roles, as d2lbook writes them
    ("As in :numref:`sec_softmax`, we normalise.", "As in Softmax Regression, we normalise."),
    ("See :numref:`sec_unknown-topic_2`.", "See unknown topic 2."),
    ("First shown by Legendre :cite:`Legendre.1805,Gauss.1809`, it", "First shown by Legendre, it"),
    ("It works :cite:`Vaswani.2017`.", "It works."),
    ("Defined in :eqref:`eq_loss`", "Defined in loss"),
    # MyST roles
    ("Read {ref}`the softmax section <sec_softmax>` first.", "Read the softmax section first."),
    ("see {numref}`fig_gan`", "see The GAN training loop."),
    ("a term {term}`logit` here, {math}`x^2` there", "a term logit here, x^2 there"),
    ("as argued {cite:p}`goodfellow2014`.", "as argued."),
    # label lines and targets
    ("# Softmax\n:label:`sec_softmax`\n\nText.", "# Softmax\n\nText."),
    ("![A GAN.](img/gan.svg)\n:label:`fig_gan`\n:width:`400px`", "![A GAN.](img/gan.svg)"),
    ("(sec-intro)=\n# Introduction", "# Introduction"),
    # d2l highlight brackets
    ("[**Before we begin**] by SGD, (**we need parameters.**)",
     "Before we begin by SGD, we need parameters."),
    ("[**a link**](https://example.org) stays", "[**a link**](https://example.org) stays"),
    # HTML, Liquid, kramdown
    ("<a name='intro'></a>\n\n## Intro", "## Intro"),
    ("<div class='fig'><img src='a.png' alt='A filter'><div class='figcaption'>Filters.</div></div>",
     "A filterFilters."),
    ("Text<br>more <!-- a note to self --> end", "Text\nmore  end"),
    ("{% include footer.html %}Body {{ site.title }}\n{: .note}", "Body"),
    ("Keep `List<int>` and `{role}` in code, and a < b > c in prose.",
     "Keep `List<int>` and `{role}` in code, and a < b > c in prose."),
    # MyST directives
    ("```{note}\n:class: dropdown\nGradients can vanish.\n```", "Gradients can vanish."),
    ("```{admonition} Why it matters\nBecause.\n```", "Why it matters\n\nBecause."),
    ("```{figure} img/gan.png\n:name: fig-gan\nThe GAN loop.\n```", "The GAN loop."),
    (":::{tip}\nUse a small learning rate.\n:::", "Use a small learning rate."),
    ("```{code-cell} python\nx = 1\n```", "```python\nx = 1\n```"),
    # fence info strings
    ("```{.python .input  n=2}\nimport torch\n```", "```python\nimport torch\n```"),
    # plain Markdown is left alone
    ("A **bold** claim with `x_{t-1}` and [a link](a.md), x1, x2, ..., xn.",
     "A **bold** claim with `x_{t-1}` and [a link](a.md), x1, x2, ..., xn."),
])
def test_markup_reads_as_its_text(text, expected):
    assert reduce_markup(text, LABELS) == expected


TABS = """Intro.

:begin_tab:`mxnet`
MXNet needs npx.set_np().
:end_tab:

:begin_tab:`pytorch`
PyTorch tracks gradients with requires_grad.
:end_tab:

```{.python .input}
%%tab mxnet
from mxnet import np
```

```{.python .input}
%%tab pytorch
import torch
```

```{.python .input}
%%tab all
x = 1
```

```{.python .input  n=1}
%load_ext d2lbook.tab
tab.interact_select(['mxnet', 'pytorch'])
```
"""


def test_a_course_keeps_its_frameworks_variants_and_drops_the_others():
    kept = reduce_markup(TABS, {}, frameworks=["pytorch"])
    assert kept == ("Intro.\n\nPyTorch tracks gradients with requires_grad.\n\n"
                    "```python\nimport torch\n```\n```python\nx = 1\n```")
    every = reduce_markup(TABS, {})
    assert "MXNet needs" in every and "from mxnet import np" in every and "%%tab" not in every
    assert ":begin_tab:" not in every and "load_ext" not in every


def test_code_cells_lose_their_tab_magic_or_are_dropped():
    assert reduce_code_cell("%%tab pytorch\nimport torch", ["pytorch"]) == "import torch"
    assert reduce_code_cell("%%tab jax\nimport jax", ["pytorch"]) is None
    assert reduce_code_cell("%load_ext d2lbook.tab\ntab.interact_select(['jax'])") is None
    assert reduce_code_cell("import torch") == "import torch"


def test_labels_come_from_headings_figures_and_myst_targets():
    text = ("# Softmax Regression\n:label:`sec_softmax`\n\n![The [**GAN**] loop.](a.svg)\n"
            ":label:`fig_gan`\n\n(sec-intro)=\n## Introduction\n")
    assert collect_labels(text) == {"sec_softmax": "Softmax Regression",
                                    "fig_gan": "The GAN loop.", "sec-intro": "Introduction"}
    assert readable_label("subsec_oo-design-models") == "oo design models"


TAB_SET = """Fit a line.

::::{tab-set}
:::{tab-item} PyTorch
:sync: pt
Call `loss.backward()`.

```python
import torch
```
:::
:::{tab-item} TensorFlow
Use a `GradientTape`.

```python
import tensorflow as tf
```
:::
::::

```python
import numpy as np
```
"""


def test_myst_tabs_of_other_frameworks_go_and_the_tab_set_reads_as_text():
    kept = reduce_markup(TAB_SET, {}, frameworks=["pytorch"])
    assert "loss.backward()" in kept and "import torch" in kept and "import numpy" in kept
    assert "GradientTape" not in kept and "tensorflow" not in kept
    assert ":::" not in kept and ":sync:" not in kept and "PyTorch" not in kept
    every = reduce_markup(TAB_SET, {})
    assert "GradientTape" in every and "loss.backward()" in every and ":::" not in every


def test_unmarked_code_is_recognised_by_the_framework_it_imports():
    keep = ["pytorch"]
    assert reduce_code_cell("import tensorflow as tf\ntf.constant(1)", keep) is None
    assert reduce_code_cell("from jax import numpy as jnp", keep) is None
    assert reduce_code_cell("import torch\nimport tensorflow as tf", keep) is not None  # both
    assert reduce_code_cell("import numpy as np", keep) == "import numpy as np"  # none named
    assert reduce_code_cell("import tensorflow as tf") is not None  # the course keeps all
    assert frameworks_imported("import torch.nn as nn\nfrom keras import layers") == {
        "pytorch", "tensorflow"}


def test_a_reference_reads_as_a_title_another_file_defines_even_when_only_it_changed(
        tmp_path, ingestor, catalog):
    from ingest.store import CourseIndex

    course = tmp_path / "book"
    course.mkdir()
    (course / "a.md").write_text("# Softmax Regression\n:label:`sec_softmax`\n\nNormalise.\n")
    (course / "b.md").write_text("# Losses\n\nAs in :numref:`sec_softmax`, we normalise.\n")
    ingestor.ingest(course, "book")
    (course / "b.md").write_text("# Losses\n\nAs :numref:`sec_softmax` showed, we normalise.\n")
    report = ingestor.ingest(course, "book")
    assert report.changed == ["b.md"] and report.unchanged == ["a.md"]
    texts = [c.text for c in CourseIndex.open(catalog.require("book")).chunks]
    assert any("As Softmax Regression showed" in t for t in texts), texts
