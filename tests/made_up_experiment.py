"""A tiny experiment that exists only in the tests: it proves that adding an experiment touches
nothing but its own files and one registry entry (tests/test_made_up_experiment.py).

This one file is all of it: its config (`get_config`, which config_flags loads from this file),
its `validate` and `train_and_evaluate` (estimate a coin's bias from draws, per seed), its grid
table, its claim, and its entry point (`python tests/made_up_experiment.py --flagfile=...`).
"""

import os

from ml_collections import ConfigDict

from genjax import registry

HERE = os.path.abspath(__file__)
NAME = "coinflip"  # no "_": flagfiles are named <experiment>_<variant>.flags

EXPERIMENT = registry.register(registry.Experiment(
    NAME, script=HERE, train="made_up_experiment", claims="made_up_experiment",
    table="made_up_experiment:grid_table", config=HERE,
    not_in_fingerprint={"note": "a free-text label, not what is computed"}))


def get_config(variant: str | None = None) -> ConfigDict:
  config = ConfigDict()
  config.bias = 0.7  # probability of heads
  config.draws = 400  # coin flips per seed
  config.seed = 0  # every random number derives from this
  config.num_seeds = 3  # seeds, each its own draws
  config.note = ""  # free text (not in the fingerprint)
  del variant
  return config


def validate(config) -> None:
  from genjax import checks

  checks.require_positive(config, "draws", "num_seeds")


def train_and_evaluate(config, workdir: str) -> dict:
  import jax

  from genjax import stats
  from genjax.workdir import Workdir

  validate(config)
  with Workdir.open(workdir, config, EXPERIMENT) as wd:
    key = jax.random.key(config.seed)
    heads_S = [float(jax.random.bernoulli(jax.random.fold_in(key, s), config.bias,
                                          (config.draws,)).mean())
               for s in range(config.num_seeds)]
    wd.writer.write(0, {"heads": heads_S})
    results = {"num_seeds": config.num_seeds, "bias": config.bias,
               "heads": stats.summary(heads_S)}
    wd.write_results(results)
  return results


def grid_table(results: dict):
  from genjax import stats

  return ["bias", "share of heads"], [[f"{results['bias']:g}", stats.spread(results["heads"])]]


def more_heads(results: dict):
  from genjax.claims import verdicts

  margin = verdicts.Margin.of_values("share of heads", results["heads"]["seeds"], 0.5,
                                     bounds=(0.0, 1.0))
  return verdicts.Finding(verdicts.by_interval(margin, "above"),
                          f"heads {margin.value:.3f} over {margin.seeds} seeds", margin=margin)


def _claims():
  from genjax.claims.verdicts import Claim

  return [Claim("Q2", "A made-up coin lands heads more often than tails.",
                "coinflip (tests/made_up_experiment.py)", "none: made up for a test", more_heads,
                sources=("ours",))]


CLAIMS = _claims()


if __name__ == "__main__":
  from absl import flags

  from genjax import cli

  CONFIG = cli.define_flags(NAME, default_workdir="workdirs/coinflip")
  flags.adopt_module_key_flags(cli)

  def main(argv):
    del argv
    train_and_evaluate(CONFIG.value, flags.FLAGS.workdir)

  cli.run(main, distributed=False)
