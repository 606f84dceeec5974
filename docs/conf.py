"""Sphinx configuration of the emmix documentation.

The build must work offline (CI has no network): no intersphinx, no remote
images, and the gallery runs its examples locally with matplotlib's Agg
backend.
"""

import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import emmix  # noqa: E402
from emmix.cli import build_parser  # noqa: E402

project = "emmix"
author = "The emmix developers"
copyright = "The emmix developers"
release = emmix.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "**/sg_execution_times.rst"]
html_theme = "alabaster"
html_theme_options = {"description": "EM estimators with the scikit-learn API"}
html_static_path = []

# Offline: no intersphinx mapping, so nothing is fetched at build time.
intersphinx_mapping = {}

autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # the numpydoc sections already give the types

# numpydoc: the class template lists the methods, so numpydoc's own member
# tables would duplicate them (and warn about inherited scikit-learn members).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": [str(HERE.parent / "examples")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {},  # no links to remote documentation
    "plot_gallery": "True",
    "write_computation_times": False,
    "matplotlib_animations": False,
    # Examples print what matters; the repr of a returned Axes is noise.
    "capture_repr": (),
}


def _write_cli_help(app):
    """Write ``emmix --help`` and each command's help for the CLI page.

    Generated at build time, so the page can never disagree with the command.
    """
    out = HERE / "generated"
    out.mkdir(exist_ok=True)
    parser = build_parser()
    os.environ["COLUMNS"] = "80"  # argparse wraps at the terminal width
    texts = {"emmix": parser.format_help()}
    subparsers = next(
        a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"
    )
    for name, sub in subparsers.choices.items():
        texts[f"emmix-{name}"] = sub.format_help()
    for name, text in texts.items():
        path = out / f"{name}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


# "of shape (n_features_in_,)": a word ending in "_" is a link target in
# reStructuredText, so literal-quote fitted-attribute names used as shapes.
_SHAPE_ATTRIBUTE = re.compile(r"(?<![`\w])([a-z][a-z_]*[a-z]_)(?=[,)])")


def _quote_shape_attributes(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "(" in line:
            lines[i] = _SHAPE_ATTRIBUTE.sub(r"``\1``", line)


def setup(app):
    app.connect("builder-inited", _write_cli_help)
    app.connect("autodoc-process-docstring", _quote_shape_attributes)
