"""The fault matrix of issue 28: every fault and bad input ends in one `error:` line with the
promised exit status, a workdir belongs to one config, and faults that a run survives (num_steps
extension, --restart, SIGINT in test_loop_and_checkpoints) end with the numbers of an
uninterrupted run."""

import errno
import json
import logging
import os
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from genjax import identity, logs, registry, workdir_lock
from genjax.checkpoint import Checkpointer
from genjax.configs import domain as domain_config
from genjax.configs import gan as gan_config
from genjax.configs import vae as vae_config
from genjax.data import images
from genjax.errors import DiskFull, UserError
from genjax.workdir import Workdir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "JAX_PLATFORMS": "cpu"}
VAE, GAN, DOMAIN = (registry.EXPERIMENTS[name] for name in ("vae", "gan", "domain"))
# Seconds an offline TFDS load may take to fail (it used to retry for minutes).
OFFLINE_FAILURE_S = 10


def _vae(**overrides):
  config = vae_config.get_config()
  config.update(overrides)
  return config


# ---- a workdir belongs to one config ----

def test_fingerprint_keeps_what_changes_the_numbers():
  fields = identity.fingerprint(_vae(), VAE)
  assert {"learning_rate", "num_steps", "seed", "betas"} <= set(fields)
  assert not (set(identity.NOT_IN_FINGERPRINT) | set(VAE.not_in_fingerprint)) & set(fields)
  assert identity.fingerprint(_vae(log_every=7, make_plots=False), VAE) == fields


def test_a_changed_learning_rate_stops_with_one_line(tmp_path):
  identity.check_workdir(tmp_path, _vae(), VAE)
  identity.check_workdir(tmp_path, _vae(log_every=3), VAE)  # not in the fingerprint: fine
  with pytest.raises(UserError) as error:
    identity.check_workdir(tmp_path, _vae(learning_rate=0.01), VAE)
  message = str(error.value)
  assert "\n" not in message
  assert "learning_rate=0.001 there, 0.01 now" in message
  assert "--workdir" in message and "--restart" in message
  assert identity.matches(tmp_path, _vae(), VAE)
  assert not identity.matches(tmp_path, _vae(learning_rate=0.01), VAE)


def test_restart_moves_the_old_run_aside_never_deletes(tmp_path):
  workdir = tmp_path / "run"
  identity.check_workdir(workdir, _vae(), VAE)
  (workdir / "results.json").write_text("{}")
  identity.check_workdir(workdir, _vae(learning_rate=0.01), VAE, restart=True)
  assert (tmp_path / "run.old-1" / "results.json").exists()
  assert not (workdir / "results.json").exists()
  assert identity.matches(workdir, _vae(learning_rate=0.01), VAE)
  identity.check_workdir(workdir, _vae(), VAE, restart=True)
  assert (tmp_path / "run.old-2").is_dir()


def _fake_checkpoint(workdir, name, step):
  os.makedirs(os.path.join(workdir, "checkpoints", name, str(step)))


def test_num_steps_may_grow_but_not_shrink_below_what_was_trained(tmp_path):
  identity.check_workdir(tmp_path, _vae(num_steps=200), VAE)
  _fake_checkpoint(tmp_path, "vae_beta1", 200)
  (tmp_path / "results.json").write_text('{"num_steps": 200}')
  with pytest.raises(UserError, match=r"num_steps=200 there, 100 now, and it has trained 200"):
    identity.check_workdir(tmp_path, _vae(num_steps=100), VAE)
  identity.check_workdir(tmp_path, _vae(num_steps=400), VAE)
  # The 200-step results are kept under another name: results.json never belongs to another run.
  assert not (tmp_path / "results.json").exists()
  assert json.loads((tmp_path / "results.json.old-1").read_text()) == {"num_steps": 200}
  assert identity.matches(tmp_path, _vae(num_steps=400), VAE)
  assert not identity.matches(tmp_path, _vae(num_steps=200), VAE)


def test_num_steps_is_fixed_when_the_learning_rate_decays_over_it(tmp_path):
  config = gan_config.get_config("quick")
  config.decay_fraction = 0.5
  identity.check_workdir(tmp_path, config, GAN)
  config.num_steps *= 2
  with pytest.raises(UserError, match="its learning rate decays over num_steps"):
    identity.check_workdir(tmp_path, config, GAN)


def test_a_workdir_from_before_identity_json_is_checked_against_its_config_json(tmp_path):
  (tmp_path / "config.json").write_text(json.dumps(logs.config_to_dict(_vae())))
  assert identity.matches(tmp_path, _vae(), VAE)
  with pytest.raises(UserError, match="learning_rate"):
    identity.check_workdir(tmp_path, _vae(learning_rate=0.01), VAE)


def _domain(study, **overrides):
  config = domain_config.get_config("quick")
  config.study = study
  config.update(overrides)
  return config


def test_domain_studies_share_a_workdir_each_with_its_own_record(tmp_path):
  identity.check_workdir(tmp_path, _domain("diversity"), DOMAIN)
  identity.check_workdir(tmp_path, _domain("fewshot"), DOMAIN)
  assert identity.matches(tmp_path, _domain("diversity"), DOMAIN)
  assert identity.matches(tmp_path, _domain("fewshot"), DOMAIN)
  assert not identity.matches(tmp_path, _domain("continual"), DOMAIN)  # never ran here
  both = {"studies": {"diversity": {"rows": [1]}, "fewshot": {"fewshot": {"0": 2}}}}
  (tmp_path / "results.json").write_text(json.dumps(both))
  (tmp_path / "losses_fewshot.npz").write_bytes(b"fewshot losses")
  with pytest.raises(UserError, match="holds fewshot results of another config .fewshot_steps"):
    identity.check_workdir(tmp_path, _domain("fewshot", fewshot_steps=7), DOMAIN)
  identity.check_workdir(tmp_path, _domain("fewshot", fewshot_steps=7), DOMAIN, restart=True)
  # Only this study's results are taken out; the file as it was is kept beside it.
  assert json.loads((tmp_path / "results.json").read_text()) == {
      "studies": {"diversity": {"rows": [1]}}}
  assert json.loads((tmp_path / "results.json.old-1").read_text()) == both
  assert (tmp_path / "losses_fewshot.npz.old-1").read_bytes() == b"fewshot losses"
  assert not (tmp_path / "losses_fewshot.npz").exists()
  assert identity.finished(tmp_path, _domain("diversity"), DOMAIN)
  assert not identity.finished(tmp_path, _domain("fewshot", fewshot_steps=7), DOMAIN)
  assert identity.matches(tmp_path, _domain("diversity"), DOMAIN)
  assert identity.matches(tmp_path, _domain("fewshot", fewshot_steps=7), DOMAIN)
  with pytest.raises(UserError, match="holds a run of another config .learning_rate"):
    identity.check_workdir(tmp_path, _domain("diversity", learning_rate=0.01), DOMAIN)


def test_a_run_is_finished_once_results_json_holds_its_results(tmp_path):
  vae_dir = tmp_path / "vae"
  identity.check_workdir(vae_dir, _vae(), VAE)
  assert not identity.finished(vae_dir, _vae(), VAE)  # started: recorded, no results yet
  (vae_dir / "results.json").write_text("{}")
  assert identity.finished(vae_dir, _vae(), VAE)
  assert not identity.finished(vae_dir, _vae(learning_rate=0.01), VAE)
  # Domain studies share a workdir and its results.json: each is finished once its entry is in.
  identity.check_workdir(tmp_path, _domain("architecture"), DOMAIN)
  with Workdir.open(tmp_path, _domain("diversity"), DOMAIN, restart=False) as wd:
    assert not identity.finished(tmp_path, _domain("diversity"), DOMAIN)  # no results.json yet
    wd.write_results({"rows": [1]})
  assert identity.finished(tmp_path, _domain("diversity"), DOMAIN)
  assert not identity.finished(tmp_path, _domain("architecture"), DOMAIN)  # started, not finished
  assert not identity.finished(tmp_path, _domain("diversity", learning_rate=0.01), DOMAIN)
  assert not identity.finished(tmp_path, _domain("continual"), DOMAIN)  # never ran here
  with Workdir.open(tmp_path, _domain("architecture"), DOMAIN, restart=False) as wd:
    wd.write_results({"rows": [2]})
  assert identity.finished(tmp_path, _domain("architecture"), DOMAIN)
  assert json.loads((tmp_path / "results.json").read_text()) == {
      "studies": {"diversity": {"rows": [1]}, "architecture": {"rows": [2]}}}
  assert not (tmp_path / "results.json.tmp").exists()  # written whole, then renamed


# ---- one writer per workdir ----

def _hold_lock(workdir, seconds=60):
  """Another process that takes the workdir's lock and keeps it; returns once it holds it."""
  holder = subprocess.Popen(
      [sys.executable, "-c", "import sys, time; from genjax import workdir_lock; "
       "workdir_lock.acquire_lock(sys.argv[1]); print('held', flush=True); "
       f"time.sleep({seconds})", str(workdir)], stdout=subprocess.PIPE, text=True, env=ENV)
  assert holder.stdout.readline().strip() == "held"
  return holder


def test_a_live_holder_stops_a_second_writer(tmp_path):
  holder = _hold_lock(tmp_path)
  try:
    with pytest.raises(UserError, match=f"in use by process {holder.pid} on {os.uname().nodename}"):
      Workdir.open(str(tmp_path), _vae(), VAE, restart=False).__enter__()
  finally:
    holder.kill()
    holder.wait()


def test_a_killed_holders_lock_is_taken_over_with_a_warning(tmp_path, caplog):
  holder = _hold_lock(tmp_path)
  holder.kill()  # SIGKILL: no atexit, no cleanup; the kernel releases its lock
  holder.wait()
  assert json.loads((tmp_path / workdir_lock.LOCK_FILE).read_text())["pid"] == holder.pid
  with caplog.at_level(logging.WARNING), Workdir.open(str(tmp_path), _vae(), VAE, restart=False):
    assert any(f"from process {holder.pid}" in r.getMessage() and "no longer running" in
               r.getMessage() for r in caplog.records)
    assert json.loads((tmp_path / workdir_lock.LOCK_FILE).read_text())["pid"] == os.getpid()
  assert (tmp_path / workdir_lock.LOCK_FILE).read_text() == ""  # released: nobody to name


def test_a_lock_file_naming_another_host_is_taken_when_nobody_holds_it(tmp_path):
  # A cluster job killed on node A, requeued on node B: the file still names A, but A's lock
  # died with A's process, so B takes the workdir (a PID file would have refused it).
  (tmp_path / workdir_lock.LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "node-a"}))
  with Workdir.open(str(tmp_path), _vae(), VAE, restart=False) as wd:
    wd.write_results({"x": 1})
  assert identity.finished(tmp_path, _vae(), VAE)


def test_the_lock_is_released_when_the_run_raises_inside_the_workdir(tmp_path, capsys):
  with pytest.raises(RuntimeError, match="a bug in training"):
    with Workdir.open(str(tmp_path), _vae(), VAE, restart=False) as wd:
      assert workdir_lock.held_by_this_process(str(tmp_path / workdir_lock.LOCK_FILE))
      wd.writer.write(1, {"loss": 1.0})
      raise RuntimeError("a bug in training")
  assert not workdir_lock.held_by_this_process(str(tmp_path / workdir_lock.LOCK_FILE))
  assert not (tmp_path / "results.json").exists()  # nothing written for a run that failed
  assert "results:" not in capsys.readouterr().out
  # The same process (a notebook that caught the error) can open it again.
  with Workdir.open(str(tmp_path), _vae(), VAE, restart=False) as wd:
    wd.write_results({"x": 1})
  assert identity.finished(tmp_path, _vae(), VAE)
  assert capsys.readouterr().out == f"results: {tmp_path} (results.json, results.md, figures)\n"


# ---- files that cannot be written ----

def test_a_workdir_that_is_a_file_is_one_line(tmp_path):
  path = tmp_path / "file"
  path.write_text("x")
  with pytest.raises(UserError, match="is a file, not a folder"):
    Workdir.open(str(path), _vae(), VAE, restart=False).__enter__()


def test_a_read_only_workdir_is_one_line(tmp_path, monkeypatch):
  # Simulated: the tests may run as root, whom file modes do not stop.
  def read_only(path, *args, **kwargs):
    raise OSError(errno.EROFS, "Read-only file system", str(path))

  monkeypatch.setattr(os, "makedirs", read_only)
  with pytest.raises(UserError, match=r"cannot write .*ro: Read-only file system"):
    Workdir.open(str(tmp_path / "ro"), _vae(), VAE, restart=False).__enter__()


def test_a_workdir_below_a_file_is_one_line(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(UserError, match=r"cannot make the folder .*file/run: .*a file stands"):
    Workdir.open(str(tmp_path / "file" / "run"), _vae(), VAE, restart=False).__enter__()
  with pytest.raises(UserError, match="a file stands where it needs a folder"):
    logs.make_folder(str(tmp_path / "file"))  # the folder itself a file (EEXIST)
  logs.make_folder(str(tmp_path / "new" / "deeper"))  # an ordinary path: made, no error
  logs.make_folder(str(tmp_path / "new" / "deeper"))  # and again: it exists, still no error
  assert (tmp_path / "new" / "deeper").is_dir()


@pytest.mark.parametrize("code, text", [
    (errno.ENOENT, "no folder can be made there"),  # what /proc answers to a new folder
    (errno.EROFS, "cannot write"),  # the read-only line of logs.writing
])
def test_a_place_that_takes_no_folder_is_one_line(tmp_path, monkeypatch, code, text):
  def refuse(path, *args, **kwargs):
    raise OSError(code, os.strerror(code), str(path))

  monkeypatch.setattr(os, "makedirs", refuse)
  with pytest.raises(UserError, match=text):
    logs.make_folder(str(tmp_path / "run"))


def test_an_unexpected_folder_error_is_not_hidden(tmp_path, monkeypatch):
  def broken(path, *args, **kwargs):  # not the user's path: a bug or the machine, kept loud
    raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))

  monkeypatch.setattr(os, "makedirs", broken)
  with pytest.raises(OSError) as error:  # a UserError (not an OSError) would fail this
    logs.make_folder(str(tmp_path / "run"))
  assert error.value.errno == errno.EIO


def test_a_full_disk_names_the_checkpoint_and_keeps_the_last_one(tmp_path, monkeypatch):
  state = {"w": np.arange(4, dtype=np.float32)}
  checkpointer = Checkpointer(str(tmp_path / "ck"))
  checkpointer.save(10, state)
  manager = checkpointer._manager

  def full(*args, **kwargs):
    # What orbax lets through from tensorstore when a write fails for space: a wrapped OSError.
    try:
      raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "ck" / "20"))
    except OSError as e:
      raise ValueError("DATA_LOSS: write failed") from e

  monkeypatch.setattr(manager, "save", full)
  with pytest.raises(DiskFull) as error:
    checkpointer.save(20, {"w": state["w"] + 1})
  assert f"could not write checkpoint {tmp_path / 'ck' / '20'}" in str(error.value)
  assert "last complete checkpoint (step 10)" in str(error.value)
  assert error.value.exit_code == 1
  monkeypatch.undo()
  assert Checkpointer(str(tmp_path / "ck")).restore_latest(state)[0] == 10


def test_a_full_disk_on_a_log_file_is_one_line(tmp_path):
  with pytest.raises(DiskFull, match="could not write .*metrics.jsonl: No space left"):
    with logs.writing(str(tmp_path / "metrics.jsonl")):
      raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "metrics.jsonl"))


# ---- TFDS without data and without network ----

def test_offline_tfds_fails_in_seconds(tmp_path, monkeypatch):
  monkeypatch.setattr(images, "can_reach", lambda *a, **k: False)  # no network in tests
  start = time.perf_counter()
  with pytest.raises(UserError, match="cannot be downloaded .*unreachable.*dataset=mnist5k"):
    images.load("mnist", "train", data_dir=str(tmp_path), download=True)
  assert time.perf_counter() - start < OFFLINE_FAILURE_S


def test_can_reach_is_false_for_a_closed_port():
  with __import__("socket").socket() as s:  # a port nothing listens on: bind, never listen
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    assert not images.can_reach(("127.0.0.1", port), timeout_s=2)


# ---- the command line: one line, exit 2 ----

def _script(name, *args, cwd=ROOT):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", name), *map(str, args)],
                        capture_output=True, text=True, env=ENV, timeout=300, cwd=cwd)


def _one_line(result, code, text):
  assert result.returncode == code, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and text in last, result.stderr[-3000:]


def test_a_flagfile_with_garbage_lines_is_one_line(tmp_path):
  flagfile = tmp_path / "bad.flags"
  flagfile.write_text("--config.num_steps=2\nthis is not a flag\n")
  _one_line(_script("vae.py", f"--flagfile={flagfile}", f"--workdir={tmp_path}"), 2,
            "unexpected arguments: this is not a flag")


@pytest.mark.parametrize("args,text", [
    (["--experiment=nope", "--print_only"], "--experiment='nope' is not an experiment"),
    (["--processes=-1"], "--processes=-1 must be at least 1 (or 0: automatic)"),
    (["--grid=betas=1"], "grid axes are config fields"),
])
def test_grid_bad_input_is_one_line(tmp_path, args, text):
  _one_line(_script("grid.py", *args, f"--workdir={tmp_path}"), 2, text)


TINY_VAE = ["--config.betas=1", "--config.train_autoencoder=False", "--config.iwae_samples=10",
            "--config.iwae_chunk=10", "--config.classifier_steps=2", "--config.num_generated=20",
            "--config.interpolation_pairs=2", "--config.make_plots=False",
            "--config.tensorboard=False", "--config.log_every=2", "--config.checkpoint_every=2",
            "--config.num_seeds=1"]


def _vae_run(workdir, *args):
  return _script("vae.py", *TINY_VAE, f"--workdir={workdir}", *args)


def _params(workdir, step):
  import orbax.checkpoint as ocp

  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  metadata = ocp.CheckpointManager(
      folder, item_handlers=ocp.StandardCheckpointHandler()).item_metadata(step)
  template = jax.tree.map(lambda m: np.zeros(m.shape, m.dtype), metadata)
  return jax.tree.leaves(Checkpointer(folder).restore(step, template))


def _results(workdir):
  return json.loads((workdir / "results.json").read_text())


def test_a_workdir_that_is_a_file_exits_2(tmp_path):
  path = tmp_path / "file"
  path.write_text("x")
  _one_line(_vae_run(path, "--config.num_steps=2"), 2, "is a file, not a folder")


def test_a_workdir_below_a_file_exits_2_in_every_entry_point(tmp_path):
  (tmp_path / "file").write_text("x")
  below = tmp_path / "file" / "run"
  text = f"cannot make the folder {below}"
  _one_line(_vae_run(below, "--config.num_steps=2"), 2, text)
  _one_line(_script("report.py", f"--workdir={below}",
                    "--runs=vae:experiments/flags/vae_digits.flags"), 2, text)
  _one_line(_script("grid.py", "--experiment=vae", "--grid=config.seed=0;1",
                    f"--workdir={below}"), 2, text)
  assert (tmp_path / "file").read_text() == "x" and len(list(tmp_path.iterdir())) == 1


def test_a_locked_workdir_exits_2(tmp_path):
  holder = _hold_lock(tmp_path, seconds=120)
  try:
    _one_line(_vae_run(tmp_path, "--config.num_steps=2"), 2, f"in use by process {holder.pid}")
  finally:
    holder.kill()
    holder.wait()


@pytest.mark.slow  # seven tiny VAE runs: about 60 s on a busy laptop
def test_rerun_rules_end_with_the_numbers_of_an_uninterrupted_run(tmp_path):
  straight, work = tmp_path / "straight", tmp_path / "work"
  assert _vae_run(straight, "--config.num_steps=4").returncode == 0
  # num_steps 2, then 4: resumes and trains on, to the straight 4-step run's numbers.
  assert _vae_run(work, "--config.num_steps=2").returncode == 0
  assert _vae_run(work, "--config.num_steps=4").returncode == 0
  for got, want in zip(_params(work, 4), _params(straight, 4), strict=True):
    np.testing.assert_array_equal(got, want)
  assert _results(work)["models"] == _results(straight)["models"]
  # Shrinking, or another learning rate: one line, exit 2, nothing written.
  _one_line(_vae_run(work, "--config.num_steps=2"), 2, "it has trained 4 steps")
  before = (work / "results.json").read_bytes()
  _one_line(_vae_run(work, "--config.num_steps=4", "--config.learning_rate=0.01"), 2,
            "learning_rate=0.001 there, 0.01 now")
  assert (work / "results.json").read_bytes() == before
  # --restart moves the old run aside and trains afresh.
  assert _vae_run(work, "--config.num_steps=4", "--config.learning_rate=0.01",
                  "--restart").returncode == 0
  assert (tmp_path / "work.old-1" / "results.json").read_bytes() == before
  fresh = tmp_path / "fresh"
  assert _vae_run(fresh, "--config.num_steps=4", "--config.learning_rate=0.01").returncode == 0
  assert _results(work)["models"] == _results(fresh)["models"]
  assert _results(work)["models"] != _results(straight)["models"]
