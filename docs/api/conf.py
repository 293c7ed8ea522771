"""Sphinx configuration of the API reference: autodoc reads the docstrings, numpydoc their sections.

Build: ``sphinx-build -W -b html docs/api docs/api/_build`` (``pip install ".[docs]"``); the tests build it
with warnings as errors (tests/test_api_docs.py).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

project = "reservoir-motor"
author = "the reservoir-motor developers"
extensions = ["sphinx.ext.autodoc", "numpydoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the signatures stay readable; the docstrings say the types
numpydoc_show_class_members = False  # a class's members are listed where the page asks for them
numpydoc_class_members_toctree = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = "reservoir-motor API reference"
