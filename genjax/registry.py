"""The one place that knows an experiment: what the report, the grid runner, a workdir's identity
and the flagfile tests read. Adding an experiment is adding one entry here (see genjax/README.md);
an entry made elsewhere (a fork, a test) joins with `register`.

Nothing here imports a training library: hooks name their module and import it when called.
"""

import dataclasses
import importlib
import os
import sys
from collections.abc import Callable, Mapping

from genjax.configs.domain import PRETRAIN_FIELDS  # config files: no training library
from genjax.configs.text import PRETRAIN_FIELDS as TEXT_PRETRAIN_FIELDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where several runs share one workdir, results.json holds {ENTRIES: {entry: that run's results}}.
ENTRIES = "studies"


@dataclasses.dataclass(frozen=True)
class SharedWorkdir:
  """Runs of one experiment that share a workdir (and what was trained there): the workdir's
  identity is `fields`, and each run is an entry named by its config's `entry_field`."""

  fields: tuple[str, ...]  # the config fields every run of the workdir must agree on
  entry_field: str  # the config field naming a run's entry (its key under results[ENTRIES])
  entry_files: tuple[str, ...] = ()  # files one entry writes ("{entry}" is its name), moved
  #                                    aside with it by --restart


def _always(fields: Mapping) -> bool:
  del fields
  return True


def _load(dotted: str):
  """"package.module:attribute" -> that attribute (the module imported on first use)."""
  module, _, attribute = dotted.partition(":")
  return getattr(importlib.import_module(module), attribute)


@dataclasses.dataclass(frozen=True)
class Experiment:
  name: str  # the --runs / --experiment name and every flagfile's prefix (<name>_*.flags)
  script: str  # entry point, relative to the repository root (or absolute)
  train: str  # module with validate(config) and the experiment's train_and_evaluate
  claims: str  # module whose CLAIMS judge a run's results.json (claims_for(config), if it
  #              has one, picks those of one run, e.g. of one domain study)
  table: str  # "module:function": results.json -> (header, rows), the grid's table of a run
  config: str = ""  # its ml_collections config file; "" means genjax/configs/<name>.py
  timed: bool = False  # its results are wall-clock times: the report runs nothing beside it
  # Config fields that change how a run is logged, saved or placed but not its numbers, with the
  # reason (beside identity.NOT_IN_FINGERPRINT, which every experiment shares).
  not_in_fingerprint: Mapping[str, str] = dataclasses.field(default_factory=dict)
  shared: SharedWorkdir | None = None  # runs that share a workdir, else None
  # Whether a run's first steps are the same whatever its num_steps (so a rerun may train on).
  extendable: Callable[[Mapping], bool] = _always
  # "module:function": results.json -> markdown lines REPORT.md shows under the run (tables a
  # reader needs beside the verdicts, e.g. the references and data cards); "" for none.
  details: str = ""

  @property
  def config_path(self) -> str:
    path = self.config or os.path.join("genjax", "configs", f"{self.name}.py")
    return os.path.join(ROOT, path)

  @property
  def script_path(self) -> str:
    return os.path.join(ROOT, self.script)

  def entry(self, config) -> str | None:
    """The entry of a shared workdir this config's run writes; None when workdirs are not
    shared."""
    return None if self.shared is None else str(config[self.shared.entry_field])

  def workdir(self, parent: str, label: str, config) -> str:
    """Where a report puts the run of flagfile `label`: its own folder, or for a shared workdir
    the label without its entry (domain_diversity_quick -> domain_quick), so the runs of one
    protocol share it."""
    entry = self.entry(config)
    return os.path.join(parent, label if entry is None else label.replace(f"_{entry}", "", 1))

  def claims_for(self, config) -> list:
    module = importlib.import_module(self.claims)
    return module.claims_for(config) if hasattr(module, "claims_for") else module.CLAIMS

  def results_table(self, results: dict) -> tuple[list[str], list[list[str]]]:
    return _load(self.table)(results)

  def run_results(self, results: dict, config) -> dict:
    """The part of a workdir's results.json that one run of `config` wrote: in a shared
    workdir its entry, else all of it."""
    entry = self.entry(config)
    return results if entry is None else results.get(ENTRIES, {}).get(entry, {})

  def details_lines(self, results: dict, config) -> list[str]:
    """REPORT.md's lines under the run of `config`, read from its workdir's results.json."""
    return _load(self.details)(self.run_results(results, config)) if self.details else []


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
  """Adds an experiment (idempotent for the same entry; another entry under a taken name is an
  error, never a silent replacement)."""
  known = EXPERIMENTS.get(experiment.name)
  if known is not None and known != experiment:
    raise ValueError(f"an experiment named {experiment.name!r} is registered already")
  EXPERIMENTS[experiment.name] = experiment
  return experiment


def _extendable_gan(fields: Mapping) -> bool:
  return not fields.get("decay_fraction")  # the learning rate decays over num_steps


for _experiment in (
    Experiment("vae", "experiments/vae.py", "genjax.vae.train", "genjax.claims.vae",
               "genjax.vae.report:grid_table",
               not_in_fingerprint={
                   "iwae_chunk": "samples per chunk of the IWAE estimate (memory, not the result)",
                   "data_dir": "where TFDS keeps its files, not which data"}),
    Experiment("gan", "experiments/gan.py", "genjax.gan.train", "genjax.claims.gan",
               "genjax.gan.report:grid_table",
               not_in_fingerprint={"data_dir": "where TFDS keeps its files, not which data"},
               extendable=_extendable_gan),
    Experiment("attention", "experiments/attention.py", "genjax.attention.experiment",
               "genjax.claims.attention", "genjax.attention.writers:grid_table", timed=True),
    Experiment("domain", "experiments/domain.py", "genjax.domain.train", "genjax.claims.domain",
               "genjax.domain.report:grid_table",
               not_in_fingerprint={
                   "eval_chunk": "sequences per evaluation call (memory, not results)",
                   "study": "which study of the shared workdir runs; each has its own record"},
               # The studies of one protocol share its pretrained model, so their workdir's
               # identity is the fields that define that model.
               shared=SharedWorkdir(PRETRAIN_FIELDS, "study", ("losses_{entry}.npz",))),
    Experiment("text", "experiments/text.py", "genjax.text.train", "genjax.claims.text",
               "genjax.text.report:grid_table",
               not_in_fingerprint={
                   "eval_chunk": "windows per evaluation call (memory, not results)",
                   "study": "which study of the shared workdir runs; each has its own record"},
               # The studies of one size share the models trained there (the pretrained mix
               # serves all but continual), so their workdir's identity is the fields that
               # define a training (genjax/configs/text.py).
               shared=SharedWorkdir(TEXT_PRETRAIN_FIELDS, "study", ("{entry}.png",)),
               # The learning rate decays over num_steps: a longer run is another run.
               extendable=lambda fields: False, details="genjax.text.report:details"),
):
  register(_experiment)

# The seed texts' questions, in the order REPORT.md shows them.
QUESTIONS = {
    "Q1": "Domain generalization of language models",
    "Q2": "Mode collapse in GANs",
    "Q3": "VAEs vs standard autoencoders",
    "Q4": "The cost of self-attention",
}

# Experiments defined outside this package (a fork's, a test's) join by naming the modules that
# register them: GENJAX_EXPERIMENTS="module[,module...]" (importable from sys.path). Imported
# last, so that such a module finds `register` here.
PLUGINS = "GENJAX_EXPERIMENTS"
for _module in [m.strip() for m in os.environ.get(PLUGINS, "").split(",") if m.strip()]:
  try:
    importlib.import_module(_module)
  except ImportError as e:  # before any flag is parsed: one line, exit 2, as for bad input
    print(f"error: {PLUGINS} names {_module!r}, which cannot be imported ({e})", file=sys.stderr)
    sys.exit(2)
