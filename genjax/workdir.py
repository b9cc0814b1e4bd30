"""A run's workdir, open for writing: `with Workdir.open(path, config, experiment) as wd:`.

On entry it takes the workdir's lock (one writer: genjax/workdir_lock.py), checks that the
workdir holds no run of another config and records this one (genjax/identity.py; --restart may
move an old run aside), and writes config.json; `wd.writer` logs metrics; `wd.write_results`
writes results.json whole or not at all (in a shared workdir: this run's entry beside the
others'). On any exit, an exception included, the writer is closed and the lock released.
Process 0 alone writes; on the others every method is a no-op.
"""

import contextlib
import dataclasses
import json
import os

from genjax import identity, logs, workdir_lock
from genjax.errors import UserError
from genjax.registry import ENTRIES, Experiment


@dataclasses.dataclass
class Workdir:
  path: str
  config: object
  experiment: Experiment
  writer: logs.MetricsWriter
  written: bool = False  # results.json written by this run

  @classmethod
  @contextlib.contextmanager
  def open(cls, path: str, config, experiment: Experiment, restart: bool | None = None,
           tensorboard: bool = False):
    """`restart` None: the --restart flag when flags are parsed, else False."""
    path, lock = str(path), None
    main = logs.is_main_process()
    try:
      if main:
        restart = identity.restart_requested() if restart is None else restart
        with logs.writing(path):
          if os.path.exists(path) and not os.path.isdir(path):
            raise UserError(f"--workdir {path} is a file, not a folder; use another --workdir")
          logs.make_folder(path)
          # The lock first: a second process must not even read the workdir as its own.
          lock = workdir_lock.acquire_lock(path)
        with logs.writing(os.path.join(path, "config.json")):
          identity.check_workdir(path, config, experiment, restart)  # may move an old run aside
          with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(logs.config_to_dict(config), f, indent=2, sort_keys=True)
      writer = logs.MetricsWriter(path, tensorboard=tensorboard, config=config)
      workdir = cls(path, config, experiment, writer)
      try:
        yield workdir
      finally:
        writer.close()
      if workdir.written:  # the run ended well: say where its results are
        print(f"results: {os.path.abspath(path)} (results.json, results.md, figures)",
              flush=True)
    finally:
      if lock is not None:
        workdir_lock.release_lock(lock)

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  def write_results(self, results: dict) -> None:
    """Writes results.json atomically; in a shared workdir, as this run's entry beside the
    entries of the other runs there (the lock is held: nobody else writes it meanwhile)."""
    if not logs.is_main_process():
      return
    path = self.file(identity.RESULTS_FILE)
    entry = self.experiment.entry(self.config)
    if entry is not None:
      everything = {ENTRIES: {}}
      if os.path.exists(path):
        with open(path) as f:
          everything = json.load(f)
      everything[ENTRIES][entry] = results
      results = everything
    with logs.writing(path):
      identity.write_json(path, results)
    self.written = True
