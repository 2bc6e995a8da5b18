"""Sphinx configuration of the Kinto documentation (``sphinx-build docs docs/_build``)."""

import importlib.metadata

project = "Kinto"
author = "Kinto developers"
copyright = "Kinto developers"

try:
    release = importlib.metadata.version("kinto")
except importlib.metadata.PackageNotFoundError:
    release = "unknown"
version = ".".join(release.split(".")[:2])

extensions: list[str] = []
root_doc = "index"
exclude_patterns = ["_build"]
highlight_language = "none"
html_theme = "alabaster"
html_static_path: list[str] = []
