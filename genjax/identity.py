"""A workdir belongs to one config: its fingerprint is recorded, a rerun must match it.

`workdir/identity.json` holds the fingerprint of the config whose checkpoints and results the
workdir holds: every config field except those of `NOT_IN_FINGERPRINT`, which change how a run
is logged, saved or placed on devices but not its numbers. A rerun whose fingerprint differs
stops with one line (`check_workdir`); the two ways on are a new --workdir, or --restart, which
moves the old run to `<workdir>.old-N` (never deletes it).

`num_steps` is the one field a rerun may change: a longer run resumes from the checkpoints and
trains on, as an uninterrupted run of the new length would (batches and keys depend on the step
alone). It may not drop below the steps already trained, nor change at all when the
learning-rate schedule depends on it (the registry entry's `extendable` says). When it changes,
a results.json of the old length is moved to results.num_steps-<old>.json, so that
results.json, when present, always comes from the recorded config.

Runs of an experiment whose registry entry has `shared` (the domain studies: one pretrained
model serves them all) share one workdir. There the workdir's identity is the shared fields
alone, and each run's full fingerprint is recorded under its entry's name: a run rerun with
other fields stops, and --restart takes only that entry out (its part of results.json, which
holds every entry as {"studies": {entry: results}}, and its entry files; the old results.json is
kept as results.json.old-N). So an entry, when present, always comes from its recorded config
(`finished`). Every experiment-specific fact comes from its `registry.Experiment`.

One process writes a workdir at a time: see genjax/workdir_lock.py.
"""

import hashlib
import json
import os
from collections.abc import Mapping

from absl import flags, logging

from genjax import workdir_aside
from genjax.errors import UserError
from genjax.registry import ENTRIES, Experiment, SharedWorkdir

IDENTITY_FILE = "identity.json"
RESULTS_FILE = "results.json"
NUM_STEPS = "num_steps"

# Fields of every experiment that do not change a run's numbers, with the reason (a rerun may
# change them freely); each registry entry adds its own. steps_per_call is not among them:
# scanned steps equal lone steps only to the last ulps, and GAN training amplifies those into
# other per-seed numbers.
NOT_IN_FINGERPRINT = {
    "log_every": "how often metrics are logged, not what is trained",
    "tensorboard": "whether logged scalars also go to TensorBoard",
    "make_plots": "whether PNG figures are drawn from the results",
    "checkpoint_every": "when checkpoints are saved; a resume from any of them is exact",
    "keep_checkpoints": "how many checkpoints are kept on disk",
    "parallel": "how seeds or batches are placed on devices, not what is computed",
    "num_devices": "how many devices share the work, not what is computed",
}


def _as_dict(config) -> dict:
  if hasattr(config, "to_json_best_effort"):
    return json.loads(config.to_json_best_effort())
  return json.loads(json.dumps(dict(config), default=str))


def fingerprint(config, experiment: Experiment) -> dict:
  """The fields of `config` (a ConfigDict or its JSON dict) that change a run's numbers."""
  skip = NOT_IN_FINGERPRINT.keys() | experiment.not_in_fingerprint.keys()
  return {k: v for k, v in sorted(_as_dict(config).items()) if k not in skip}


def digest(config, experiment: Experiment, shared_only: bool = False) -> str:
  """A short hash of `fingerprint` (or, with shared_only, of the fields a shared workdir's runs
  agree on): a training named with it is a new training whenever one of them changes."""
  fields = fingerprint(config, experiment)
  if shared_only:
    fields = {k: fields[k] for k in experiment.shared.fields}
  return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _workdir_fingerprint(fields: Mapping, experiment: Experiment) -> dict:
  if experiment.shared is not None:
    return {k: fields.get(k) for k in experiment.shared.fields}
  return dict(fields)


def shared_differences(config, other, experiment: Experiment) -> str:
  """Where two configs of one shared workdir disagree on the fields its runs share ("" where they
  agree): a run of `other` there would move the first one's models aside."""
  first, second = (_workdir_fingerprint(fingerprint(c, experiment), experiment)
                   for c in (config, other))
  return "" if first == second else _differences(first, second)


def _read_object(path: str) -> dict:
  """A workdir's record file as a JSON object; UserError, one line, when it is cut short (a kill
  mid-write by an older version), unreadable or not an object."""
  try:
    with open(path) as f:
      value = json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise UserError(f"{path} is unreadable ({e}); use a new --workdir, or --restart to move "
                    "the old run aside") from None
  if not isinstance(value, dict):
    raise UserError(f"{path} holds a JSON {type(value).__name__}, not the record of a run; use "
                    "a new --workdir, or --restart to move the old run aside")
  return value


def _read_record(workdir: str, experiment: Experiment) -> dict | None:
  """The recorded identity; for a workdir from before identity.json, its config.json."""
  path = os.path.join(workdir, IDENTITY_FILE)
  if os.path.exists(path):
    return _read_object(path)
  legacy = os.path.join(workdir, "config.json")
  if os.path.exists(legacy):
    config = _read_object(legacy)
    fields = fingerprint(config, experiment)
    record = {"fingerprint": _workdir_fingerprint(fields, experiment)}
    if experiment.shared is not None:
      record[ENTRIES] = {config.get(experiment.shared.entry_field): fields}
    return record
  return None


def write_json(path: str, value: dict, sort_keys: bool = False) -> None:
  """Writes `value` to `path` whole or not at all: a kill mid-write keeps the old file."""
  with open(path + ".tmp", "w") as f:
    json.dump(value, f, indent=2, sort_keys=sort_keys)
  os.replace(path + ".tmp", path)


def _write_record(workdir: str, record: dict) -> None:
  write_json(os.path.join(workdir, IDENTITY_FILE), record, sort_keys=True)


def matches(workdir: str, config, experiment: Experiment) -> bool:
  """Whether `workdir`'s recorded fingerprint is this config's, num_steps included.

  In a shared workdir it answers for the entry's own record (see `finished` for its results).
  """
  try:
    record = _read_record(str(workdir), experiment)
  except UserError:
    return False
  if record is None:
    return False
  fields = fingerprint(config, experiment)
  if record.get("fingerprint") != _workdir_fingerprint(fields, experiment):
    return False
  if experiment.shared is not None:
    return record.get(ENTRIES, {}).get(experiment.entry(config)) == fields
  return True


def finished(workdir: str, config, experiment: Experiment) -> bool:
  """Whether workdir/results.json holds the results of this config: made by it (`matches`)
  and, in a shared workdir, holding its entry (an entry's record is written when its run
  starts, its results when it has finished)."""
  path = os.path.join(str(workdir), RESULTS_FILE)
  if not os.path.exists(path) or not matches(workdir, config, experiment):
    return False
  # A results.json cut short, or valid JSON that is no run's results (a list, a bare number), is
  # not a finished run: reusing it would end in a traceback where the results are read.
  try:
    results = _read_object(path)
  except UserError:
    return False
  if experiment.shared is None:
    return True
  entries = results.get(ENTRIES)
  return isinstance(entries, dict) and isinstance(entries.get(experiment.entry(config)), dict)


def _differences(old: Mapping, new: Mapping, limit: int = 3) -> str:
  keys = sorted(k for k in set(old) | set(new) if old.get(k, "<absent>") != new.get(k, "<absent>"))
  shown = [f"{k}={old.get(k, '<absent>')!r} there, {new.get(k, '<absent>')!r} now"
           for k in keys[:limit]]
  more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
  return "; ".join(shown) + more


def _trained_steps(workdir: str) -> int:
  """The most steps any training in the workdir has a checkpoint of (orbax: <name>/<step>/)."""
  root, best = os.path.join(workdir, "checkpoints"), 0
  if os.path.isdir(root):
    for name in os.listdir(root):
      folder = os.path.join(root, name)
      if os.path.isdir(folder):
        best = max([best, *(int(s) for s in os.listdir(folder) if s.isdigit())])
  return best


def _check_shared_results(workdir: str, restart: bool) -> None:
  """A shared workdir's results.json must hold {ENTRIES: {...}}: the run adds its entry to it
  when it ends, and would fail there, after training, on one cut short or of another shape."""
  path = os.path.join(workdir, RESULTS_FILE)
  if not os.path.exists(path):
    return
  try:
    problem = None if isinstance(_read_object(path).get(ENTRIES), dict) else (
        f"{path} holds no {ENTRIES!r} object")
  except UserError as e:
    problem = str(e).partition(";")[0]
  if problem is None:
    return
  if not restart:
    raise UserError(f"{problem}; use a new --workdir, or --restart to move it aside")
  moved = workdir_aside.move_files_aside(workdir, [RESULTS_FILE])
  logging.warning("--restart: %s, moved it to %s", problem, moved[0])


def _take_entry_out(workdir: str, entry: str, shared: SharedWorkdir) -> list[str]:
  """Moves the entry's files aside and drops it from results.json, after keeping the whole file
  as results.json.old-N."""
  names = [name.format(entry=entry) for name in shared.entry_files]
  moved = workdir_aside.move_files_aside(workdir, names)
  path = os.path.join(workdir, RESULTS_FILE)
  if os.path.exists(path):
    with open(path) as f:
      results = json.load(f)
    if entry in results.get(ENTRIES, {}):
      moved += workdir_aside.move_files_aside(workdir, [RESULTS_FILE])
      del results[ENTRIES][entry]
      write_json(path, results)
  return moved


def restart_requested() -> bool:
  """--restart when flags are parsed (experiment scripts); False for library calls (tests)."""
  FLAGS = flags.FLAGS  # --restart is defined by genjax.cli.define_flags
  return bool(FLAGS.is_parsed() and "restart" in FLAGS and FLAGS.restart)


def check_workdir(workdir: str, config, experiment: Experiment, restart: bool = False) -> None:
  """Stops (UserError, one line) when `workdir` holds a run of another config; records this one.

  With `restart`, a run of another config is moved aside instead (see the module docstring).
  """
  workdir = str(workdir)
  try:
    record = _read_record(workdir, experiment)
  except UserError as e:  # identity.json or config.json cut short: no config can be compared
    if not restart:
      raise
    aside = workdir_aside.move_run_aside(workdir)
    logging.warning("--restart: moved the run with an unreadable record (%s) to %s", e, aside)
    record = None
  fields = fingerprint(config, experiment)
  new = {"fingerprint": _workdir_fingerprint(fields, experiment)}
  shared = experiment.shared is not None
  if shared:
    new[ENTRIES] = dict((record or {}).get(ENTRIES, {}))
  if record is not None:
    old = record.get("fingerprint", {})
    mismatch = {k for k in set(old) | set(new["fingerprint"])
                if old.get(k) != new["fingerprint"].get(k)}
    text = _differences(old, new["fingerprint"])
    extension = mismatch == {NUM_STEPS} and not shared
    if extension:
      trained = _trained_steps(workdir)
      if fields[NUM_STEPS] < trained:
        extension, text = False, f"{text}, and it has trained {trained} steps"
      elif not experiment.extendable(fields):
        extension, text = False, f"{text}, and its learning rate decays over num_steps"
    if extension:
      moved = workdir_aside.move_files_aside(workdir, [RESULTS_FILE])
      logging.info("num_steps %s -> %s: resuming and training on%s", old.get(NUM_STEPS),
                   fields[NUM_STEPS], f"; moved the old results to {moved[0]}" if moved else "")
    elif mismatch:
      if not restart:
        raise UserError(f"workdir {workdir} holds a run of another config ({text}); use a new "
                        "--workdir, or --restart to move the old run aside")
      aside = workdir_aside.move_run_aside(workdir)
      logging.warning("--restart: moved the run of another config (%s) to %s", text, aside)
      if shared:
        new[ENTRIES] = {}
  if shared:
    _check_shared_results(workdir, restart)
    entry = experiment.entry(config)
    old_entry = new[ENTRIES].get(entry)
    if old_entry is not None and old_entry != fields:
      text = _differences(old_entry, fields)
      if not restart:
        raise UserError(f"workdir {workdir} holds {entry} results of another config ({text}); "
                        "use a new --workdir, or --restart to move those results aside")
      moved = _take_entry_out(workdir, entry, experiment.shared)
      logging.warning("--restart: moved the %s results of another config (%s) to %s", entry,
                      text, ", ".join(moved) or "(none were written)")
    new[ENTRIES][entry] = fields
  os.makedirs(workdir, exist_ok=True)
  _write_record(workdir, new)
