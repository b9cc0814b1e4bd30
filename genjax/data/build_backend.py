"""In-tree build backend: setuptools, plus fetching the pinned data wheels.

pyproject.toml names this module ([build-system] backend-path = genjax/data, so it is imported
as the top-level `build_backend` and none of genjax's imports run), so the set-up command
`pip install -r requirements.txt`, which builds `-e .`, also downloads, verifies and caches
every wheel pinned in genjax/data/pins/*.json: no extra set-up command. Only the two hooks that
build something fetch; pip calls the metadata hooks also when it merely resolves requirements.
pip shows a build's output only with -v or when the build fails (a hash mismatch does).
"""

import importlib.util
import os

from setuptools import build_meta as _setuptools

FETCH_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fetch.py")

get_requires_for_build_wheel = _setuptools.get_requires_for_build_wheel
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
prepare_metadata_for_build_wheel = _setuptools.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable
build_sdist = _setuptools.build_sdist


def _fetch_all() -> None:
  # Loaded by path, not `import genjax.data.fetch`: the build environment has no jax, and the
  # fetch module must not depend on what genjax/__init__.py may import one day.
  spec = importlib.util.spec_from_file_location("genjax_data_fetch", FETCH_PY)
  fetch = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(fetch)
  fetch.fetch_all()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
  _fetch_all()
  return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
  _fetch_all()
  return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
