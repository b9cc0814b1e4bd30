"""What every experiment script shares: common flags, distributed start-up, one-line errors."""

import logging as std_logging
import os
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from genjax.errors import UserError

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "configs")


def define_flags(config_name: str, default_workdir: str):
  """Defines --config (locked ml_collections file), --workdir and the multi-host flags."""
  config = config_flags.DEFINE_config_file(
      "config", os.path.join(CONFIG_DIR, f"{config_name}.py"),
      "Experiment config file; override fields with --config.field=value.", lock_config=True)
  flags.DEFINE_string("workdir", default_workdir, "Where logs, checkpoints and results go.")
  flags.DEFINE_string("coordinator_address", None,
                      "host:port of process 0 for multi-host runs (else taken from the "
                      "environment on TPU pods and SLURM when --distributed is set).")
  flags.DEFINE_integer("num_processes", None, "Number of processes in a multi-host run.")
  flags.DEFINE_integer("process_id", None, "This process's index in a multi-host run.")
  flags.DEFINE_bool("distributed", False,
                    "Call jax.distributed.initialize() with auto-detection (TPU pods, SLURM).")
  return config


def initialize_distributed() -> None:
  """Joins a multi-host run when asked to by flags; a single process needs nothing."""
  FLAGS = flags.FLAGS
  if FLAGS.coordinator_address or FLAGS.num_processes:
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  elif FLAGS.distributed:
    jax.distributed.initialize()


def log_environment() -> None:
  logging.info("JAX %s, process %d of %d, %d local / %d global %s devices: %s", jax.__version__,
               jax.process_index(), jax.process_count(), jax.local_device_count(),
               jax.device_count(), jax.default_backend(), jax.devices())


class _QuietLibraries(std_logging.Filter):
  """Drops INFO chatter from orbax (a dozen lines per checkpoint) so our own logs stay legible."""

  def filter(self, record):
    return record.levelno >= std_logging.WARNING or "/orbax/" not in record.pathname


def run(main) -> None:
  """absl's app.run, with UserError printed as one line instead of a traceback."""

  def guarded(argv):
    logging.get_absl_handler().addFilter(_QuietLibraries())
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
      initialize_distributed()
      log_environment()
      return main(argv)
    except UserError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)

  app.run(guarded)
