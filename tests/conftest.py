"""Test configuration: on CI, hypothesis draws the same examples every run (derandomize), so
a build never fails on an example nobody has seen locally; locally it keeps exploring."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
