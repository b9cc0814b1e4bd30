"""What every experiment script shares: common flags, distributed start-up, one-line errors."""

import contextlib
import logging as std_logging
import os
import re
import signal
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from genjax import registry, startup
from genjax.errors import UserError


def define_flags(config_name: str, default_workdir: str):
  """Defines --config (locked ml_collections file), --workdir and the multi-host flags.

  They belong to this module, and absl's --help lists only the main module's flags: the
  script adopts them with `flags.adopt_module_key_flags(cli)` after calling this.
  """
  with _flag_errors_as_one_line():  # ml_collections reads sys.argv already here
    config = config_flags.DEFINE_config_file(
        "config", registry.EXPERIMENTS[config_name].config_path,
        "Experiment config file; override fields with --config.field=value.", lock_config=True)
  flags.DEFINE_string("workdir", default_workdir, "Where logs, checkpoints and results go.")
  flags.DEFINE_string("coordinator_address", None,
                      "host:port of process 0 for multi-host runs (else taken from the "
                      "environment on TPU pods and SLURM when --distributed is set).")
  flags.DEFINE_integer("num_processes", None, "Number of processes in a multi-host run.")
  flags.DEFINE_integer("process_id", None, "This process's index in a multi-host run.")
  flags.DEFINE_bool("distributed", False,
                    "Call jax.distributed.initialize() with auto-detection (TPU pods, SLURM).")
  flags.DEFINE_bool("fused_threefry", True,
                    "Lower jax.random's threefry hash unrolled on CPU (the same bits, faster; "
                    "genjax/random_fused.py). --nofused_threefry keeps JAX's own lowering.")
  flags.DEFINE_bool("restart", False,
                    "Start over when the workdir holds a run of another config: the old run is "
                    "moved to <workdir>.old-N (never deleted). Without it such a rerun stops.")
  return config


def config_from_flagfile(config_name: str, flagfile: str | None, overrides=()):
  """The config and workdir a flagfile (or none) and `--config.FIELD=VALUE` overrides give,
  without touching the global FLAGS (the report, the grid, tests)."""
  flag_values = flags.FlagValues()
  argv = ["genjax", *([f"--flagfile={flagfile}"] if flagfile else []), *overrides]
  saved, sys.argv = sys.argv, argv  # ml_collections reads overrides from sys.argv at definition
  try:
    config = config_flags.DEFINE_config_file(
        "config", registry.EXPERIMENTS[config_name].config_path, flag_values=flag_values,
        lock_config=True)
    flags.DEFINE_string("workdir", None, "", flag_values=flag_values)
    flag_values(argv)
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
    # A misspelt field or a value of the wrong type in a flagfile: one line, not a traceback.
    where = f"flagfile {flagfile}" if flagfile else "the overrides"
    detail = " ".join(str(e).replace("\\n", " ").replace("\\", "").replace("'", "")
                      .strip('"').split())
    raise UserError(f"{where} ({config_name}): {detail}") from None
  finally:
    sys.argv = saved
  return config.value, flag_values.workdir


def initialize_distributed() -> None:
  """Joins a multi-host run when asked to by flags; a single process needs nothing."""
  FLAGS = flags.FLAGS
  if "coordinator_address" not in FLAGS:  # a script without define_flags (e.g. grid.py)
    return
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


USAGE_ERROR = 2  # exit status of bad input (flags, config, workdir), as the README promises
INTERRUPTED = 128 + signal.SIGINT  # exit status after Ctrl-C, as a shell reports it


def fail(message: str, code: int = USAGE_ERROR):
  """Prints `error: message` as one line on stderr and exits with `code`."""
  print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
  sys.exit(code)


def flag_error_text(error: Exception) -> str:
  """absl's message for a bad flag or flagfile, without the "ERROR:: " absl puts before some of
  them (a missing flagfile's), so it reads well after our own "error: "."""
  return str(error).replace("ERROR::", "").strip()


def without_traceback(text: str) -> str:
  """An error message that embeds a traceback (ml_collections puts the config file's in its
  own), with the traceback cut down to its last line: the exception that ended it."""
  if "Traceback (most recent call last)" not in text:
    return text
  head, _, trace = text.partition("Traceback (most recent call last)")
  last = [line for line in trace.splitlines() if line.strip()][-1].strip()
  return f"{head.rstrip()} {last}"


@contextlib.contextmanager
def _flag_errors_as_one_line():
  """Every bad flag, flagfile or --config override exits with one line (status 2)."""
  try:
    yield
  except flags.Error as e:  # unknown flag, unreadable flagfile, bad flag value, bad variant
    fail(without_traceback(flag_error_text(e)))
  except (AttributeError, KeyError) as e:  # --config.x=v with a field the config lacks
    text = str(e)
    field = re.search(r"\w+", text).group(0)
    hint = text[text.find("Did you mean"):].rstrip("'\"") if "Did you mean" in text else ""
    fail(f"--config has no field {field!r}. {hint}".strip())
  except (TypeError, ValueError) as e:  # --config.x=v with a value of the wrong type
    fail(f"bad --config override: {e}")


HELP_FLAGS = ("help", "helpshort", "helpfull", "helpxml", "?")  # absl's, each prints and exits


def _asks_for_help(argv: list[str]) -> bool:
  return any(arg.startswith("-") and arg.lstrip("-").split("=")[0] in HELP_FLAGS
             for arg in argv[1:])


def parse_flags(argv: list[str]) -> list[str]:
  with _flag_errors_as_one_line():
    try:
      return flags.FLAGS(argv)
    except SystemExit as e:
      # absl exits with status 1 after printing the help that --help / --helpfull asked for;
      # the user got what they asked for, and `script --help && ...` should go on: status 0.
      if e.code == 1 and _asks_for_help(argv):
        sys.exit(0)
      raise
    except OSError as e:  # --config.FIELD=VALUE overrides read a config that failed to load
      if "config" not in flags.FLAGS or "Failed loading config file" not in str(e):
        raise
      fail(_unloadable_config(str(e)))


def _refuse_empty_workdir() -> None:
  """An empty --workdir would end deep inside a run in FileNotFoundError: stop at once instead.

  Checked here, before main, because scripts use the workdir at different first places
  (logs.MetricsWriter, domain's compilation cache, grid.md, the report's runs).
  """
  if "workdir" in flags.FLAGS and not (flags.FLAGS.workdir or "").strip():
    default = flags.FLAGS["workdir"].default
    raise UserError("--workdir is empty: name a folder"
                    + (f", or leave the flag out for {default}" if default else ""))


def _refuse_unloadable_config() -> None:
  """A --config file that cannot be loaded (a relative path from another folder) would end in a
  traceback at the config's first use: one line now, naming the file and the folder."""
  if "config" not in flags.FLAGS:
    return
  try:
    dict(flags.FLAGS.config)  # ml_collections defers the load error to the first field read
  except OSError as e:
    raise UserError(_unloadable_config(str(e))) from None


def _unloadable_config(error: str) -> str:
  """The one line for a config file ml_collections failed to load (`error` names the path)."""
  tried = re.search(r"Attempted \[[^]]*\]:\s*(\S+)", error)
  path = tried.group(1) if tried else "?"
  return (f"--config file {path} cannot be loaded from the working directory {os.getcwd()}; "
          "flagfiles name configs relative to the repository root: run from there, or give "
          "--config an absolute path")


def _log_environment_or_refuse() -> None:
  """The backend JAX_PLATFORMS asks for may be absent (a GPU command copied to a CPU machine):
  one line naming it, not JAX's traceback."""
  try:
    log_environment()
  except RuntimeError as e:
    if "backend" not in str(e).lower():
      raise
    raise UserError(f"JAX cannot start a backend (JAX_PLATFORMS="
                    f"{os.environ.get('JAX_PLATFORMS', '')!r}): {str(e).splitlines()[0]}; "
                    "unset JAX_PLATFORMS, or install JAX for that accelerator") from None


def run(main, distributed: bool = True) -> None:
  """absl's app.run, with every expected fault printed as one `error:` line, not a traceback.

  distributed=False: no multi-host start-up (for scripts that only start other processes, each
  of which joins its own run, and define no --coordinator_address).

  Before main, the fused threefry lowering (genjax/startup.py) unless --nofused_threefry, for
  scripts that define it (cli.define_flags): a visible step of the entry point, never a side
  effect of importing genjax.

  Exit statuses: 0 after --help / --helpfull, 2 bad input (UserError, flags, an empty --workdir,
  stray arguments, e.g. a flagfile line without --), 1 a full disk (DiskFull), 130 Ctrl-C (the
  training loop saves a checkpoint first), 143 SIGTERM (likewise).
  """

  def guarded(argv):
    logging.get_absl_handler().addFilter(_QuietLibraries())
    if len(argv) > 1:
      fail(f"unexpected arguments: {' '.join(argv[1:])} (flags start with --; in a flagfile, "
           "one --flag=value per line)")
    try:
      _refuse_empty_workdir()
      _refuse_unloadable_config()
      if "fused_threefry" in flags.FLAGS and flags.FLAGS.fused_threefry:
        startup.use_fused_threefry()
      if distributed:
        initialize_distributed()
        _log_environment_or_refuse()
      return main(argv)
    except UserError as e:
      fail(str(e), e.exit_code)
    except KeyboardInterrupt:  # Ctrl-C outside the training loop: nothing to save there
      fail("interrupted", INTERRUPTED)

  app.run(guarded, flags_parser=parse_flags)
