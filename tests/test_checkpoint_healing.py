"""Checkpoints that heal: a damaged newest checkpoint is moved aside and the run resumes from the
newest readable one, ending bitwise-equal (CPU) to an uninterrupted run."""

import logging
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from genjax.checkpoint import Checkpointer, UnreadableCheckpoint
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A tiny MLP trained by loop.Trainer; argv: workdir num_steps [step at which to die abruptly].
TRAIN_SCRIPT = textwrap.dedent('''
    import os
    import sys

    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from ml_collections import ConfigDict

    from genjax import parallel
    from genjax.errors import UserError
    from genjax.loop import Trainer

    workdir, num_steps = sys.argv[1], int(sys.argv[2])
    die_at = int(sys.argv[3]) if len(sys.argv) > 3 else None
    dp = parallel.data_parallel("none")
    tx = optax.sgd(0.05, momentum=0.9)
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {"w1": jax.random.normal(k1, (8, 32)) * 0.3,
              "w2": jax.random.normal(k2, (32, 1)) * 0.3}
    state = {"step": jnp.zeros((), jnp.int32), "params": params, "opt": tx.init(params)}


    def step(state, batch, key):
      def loss_fn(p):
        y = jnp.tanh(batch["x"] @ p["w1"]) @ p["w2"]
        return jnp.mean((y[:, 0] - batch["y"]) ** 2), {}

      (loss, _), grads = dp.value_and_grad(loss_fn)(state["params"])
      updates, opt = tx.update(grads, state["opt"], state["params"])
      return ({"step": state["step"] + 1, "opt": opt,
               "params": optax.apply_updates(state["params"], updates)}, {"loss": loss})


    def get_batch(s):
      if s == die_at:
        os._exit(9)  # an abrupt death, like SIGKILL: no clean-up runs
      rng = np.random.default_rng(s)
      x = rng.normal(size=(16, 8)).astype(np.float32)
      return {"x": x, "y": np.sin(x.sum(1)).astype(np.float32)}


    try:
      config = ConfigDict({"log_every": 10, "checkpoint_every": 10, "keep_checkpoints": 3})
      with Trainer("train", state, dp.compile(step), devices=dp, get_batch=get_batch,
                   key=jax.random.key(1), workdir=workdir, config=config,
                   num_steps=num_steps) as trainer:
        trainer.train_to(num_steps)
        final = trainer.host_state()
    except UserError as e:
      print(e, file=sys.stderr)
      sys.exit(2)
    np.savez(os.path.join(workdir, "final.npz"),
             **{k: np.asarray(v) for k, v in final["params"].items()})
''')
NUM_STEPS, DIE_AT = 60, 45  # dies after checkpoints 20, 30, 40


def _train(script, workdir, *args, check=True):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
  return subprocess.run([sys.executable, script, str(workdir), *map(str, args)], env=env,
                        capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """(script, final params of an uninterrupted run, workdir of a run that died at step 45)."""
  root = tmp_path_factory.mktemp("healing")
  script = root / "train_tiny.py"
  script.write_text(TRAIN_SCRIPT)
  _train(script, root / "straight", NUM_STEPS)
  died = _train(script, root / "died", NUM_STEPS, DIE_AT, check=False)
  assert died.returncode == 9, died.stderr[-2000:]
  return script, dict(np.load(root / "straight" / "final.npz")), root / "died"


def _data_files(step_dir):
  return [os.path.join(r, f) for r, _, files in os.walk(step_dir) for f in files
          if os.path.basename(r) == "d"]


def _truncate(step_dir):
  for path in _data_files(step_dir):
    os.truncate(path, os.path.getsize(path) // 2)


def _random_bytes(step_dir):
  rng = np.random.default_rng(0)
  for path in _data_files(step_dir):
    data = bytearray(open(path, "rb").read())
    third = len(data) // 3
    data[third:2 * third] = rng.bytes(third)
    with open(path, "wb") as f:
      f.write(bytes(data))


def _remove_item_folder(step_dir):
  shutil.rmtree(os.path.join(step_dir, "default"))


@pytest.mark.slow  # two fresh processes (one shared by the module): 10 to 30 s on a busy laptop
@pytest.mark.parametrize("corrupt", [_truncate, _random_bytes, _remove_item_folder])
def test_damaged_newest_checkpoint_heals_to_the_uninterrupted_params(tmp_path, runs, corrupt):
  script, straight, died = runs
  workdir = tmp_path / "run"
  shutil.copytree(died, workdir)
  folder = workdir / "checkpoints" / "train"
  corrupt(folder / "40")
  resumed = _train(script, workdir, NUM_STEPS)
  warnings = [line for line in resumed.stderr.splitlines() if "moved it to" in line]
  assert len(warnings) == 1 and f"{folder / '40'}" in warnings[0], resumed.stderr[-2000:]
  assert "resuming from step 30" in warnings[0]
  assert "<bound method" not in resumed.stderr  # the reason is orbax's message, not a repr
  assert os.path.isdir(f"{folder}.corrupt/40")  # kept, not deleted
  final = dict(np.load(workdir / "final.npz"))
  for name in straight:
    np.testing.assert_array_equal(final[name], straight[name])  # bitwise on CPU
  # orbax's max_to_keep clean-up ran on 50 and 60 and never touched the damaged copy.
  assert sorted(int(d) for d in os.listdir(folder) if d.isdigit()) == [40, 50, 60]
  assert os.path.isdir(f"{folder}.corrupt/40")


@pytest.mark.slow
def test_nothing_readable_stops_with_one_line_and_moves_nothing(tmp_path, runs):
  script, _, died = runs
  workdir = tmp_path / "run"
  shutil.copytree(died, workdir)
  folder = workdir / "checkpoints" / "train"
  for step in (20, 30, 40):
    _remove_item_folder(folder / str(step))
  resumed = _train(script, workdir, NUM_STEPS, check=False)
  assert resumed.returncode == 2
  assert resumed.stderr.strip().splitlines()[-1].startswith(f"checkpoint {folder / '40'} is "
                                                            "unreadable")
  assert "no older checkpoint" in resumed.stderr
  assert sorted(os.listdir(folder)) == ["20", "30", "40"]
  assert not os.path.exists(f"{folder}.corrupt")


# ---- in process: which damage is caught, and what is not damage ----

def _state(value=1.0):
  rng = np.random.default_rng(0)
  return {"w": (rng.normal(size=(256, 256)) * value).astype(np.float32),
          "b": np.full((256,), value, np.float32), "step": np.asarray(0, np.int32)}


def _saved(tmp_path, steps=(10, 20, 30)):
  checkpointer = Checkpointer(str(tmp_path / "ck"), max_to_keep=3)
  for step in steps:
    checkpointer.save(step, _state(step), metadata={"seconds_since_eval": float(step)})
  checkpointer.close()
  return str(tmp_path / "ck")


def test_a_flipped_byte_is_caught_by_the_checksum(tmp_path):
  folder = _saved(tmp_path)
  biggest = max(_data_files(os.path.join(folder, "30")), key=os.path.getsize)
  data = bytearray(open(biggest, "rb").read())
  data[len(data) // 2] ^= 0x01  # orbax and tensorstore restore this without an error
  with open(biggest, "wb") as f:
    f.write(bytes(data))
  checkpointer = Checkpointer(folder)
  with pytest.raises(UnreadableCheckpoint, match=r"30 is corrupted \(its arrays do not match"):
    checkpointer.restore(30, _state())
  step, state = checkpointer.restore_latest(_state())
  assert step == 20
  np.testing.assert_array_equal(state["w"], _state(20)["w"])
  assert checkpointer.metadata(20) == {"seconds_since_eval": 20.0}
  assert checkpointer.all_steps() == [10, 20]


def test_a_deleted_metadata_file_is_damage_not_a_config_change(tmp_path, caplog):
  folder = _saved(tmp_path)
  os.remove(os.path.join(folder, "30", "default", "_METADATA"))
  checkpointer = Checkpointer(folder)
  with caplog.at_level(logging.WARNING):
    step, _ = checkpointer.restore_latest(_state())
  assert step == 20
  moved = [r.getMessage() for r in caplog.records if "moved it to" in r.getMessage()]
  assert len(moved) == 1 and f"{folder}/30 is unreadable" in moved[0]
  # The step number is free again, and max_to_keep never reaches into <name>.corrupt.
  for step in (30, 40, 50, 60):
    checkpointer.save(step, _state(step))
  assert checkpointer.all_steps() == [40, 50, 60]
  assert os.listdir(f"{folder}.corrupt") == ["30"]


def test_a_second_damaged_copy_of_a_step_gets_its_own_name(tmp_path):
  folder = _saved(tmp_path)
  os.makedirs(f"{folder}.corrupt/30")
  shutil.rmtree(os.path.join(folder, "30", "default"))
  assert Checkpointer(folder).restore_latest(_state())[0] == 20
  assert sorted(os.listdir(f"{folder}.corrupt")) == ["30", "30-1"]


def test_another_configs_checkpoint_is_an_error_and_stays(tmp_path):
  folder = _saved(tmp_path)
  other = {"w": np.zeros((128, 256), np.float32), "b": np.zeros((256,), np.float32),
           "step": np.asarray(0, np.int32)}
  with pytest.raises(UserError, match=r"30 does not match this model: w has shape") as error:
    Checkpointer(folder).restore_latest(other)
  assert not isinstance(error.value, UnreadableCheckpoint)
  assert sorted(os.listdir(folder)) == ["10", "20", "30"]
  assert not os.path.exists(f"{folder}.corrupt")


def test_no_checkpoint_restores_nothing(tmp_path):
  assert Checkpointer(str(tmp_path / "empty")).restore_latest(_state()) is None


def test_leftover_temporary_folders_are_gone_when_the_checkpointer_is_made(tmp_path):
  """orbax cleans them in a background thread; a Checkpointer waits for it, so it never deletes
  a temporary folder that a later save (its own or a live writer's) creates."""
  folder = tmp_path / "ck"
  Checkpointer(str(folder)).save(10, _state())
  leftover = folder / "20.orbax-checkpoint-tmp"
  leftover.mkdir()
  (leftover / "partial").write_text("a save killed mid-write")
  checkpointer = Checkpointer(str(folder))
  assert not leftover.exists()  # already gone, not pending
  assert checkpointer._manager._cleanup_tmp_directory_future is None
  assert checkpointer.all_steps() == [10]
