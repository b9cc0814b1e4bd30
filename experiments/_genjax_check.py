"""Stops an entry point in one line when `import genjax` finds a package that is not this one.

PyPI's `genjax` (an unrelated probabilistic-programming package) has our import name; installed
beside ours, or first on PYTHONPATH, it shadows ours, and the scripts would die in an ImportError
traceback or, worse, run on a mix of both (the editable install's finder supplies the modules,
like genjax.cli, that the other package lacks). So every script imports this module before
anything from genjax; importing it is the check:

  import _genjax_check  # noqa: F401  (before genjax: one error line if another genjax shadows ours)

It prints its own `error:` line (genjax.cli.fail is exactly what cannot be imported yet).

It also puts this checkout's root on the path, right after the script's folder and before any
installed package, so a script runs the genjax beside it: a venv installed (`pip install -e .`)
from another clone or git worktree would otherwise run that checkout's code under this one's
scripts and flagfiles, and the report's commands would name that checkout's scripts.
"""

import importlib
import importlib.util
import os
import sys

MARKER = "genjax-claims"  # genjax.DISTRIBUTION in this repository's genjax/__init__.py
ADVICE = "pip uninstall genjax, then pip install -r requirements.txt"


def _stop(message: str):
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)  # bad installation: a usage error, like cli.USAGE_ERROR


# The checkout this script belongs to (the folder above experiments/), when it holds genjax.
CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check() -> None:
  if (os.path.isfile(os.path.join(CHECKOUT, "genjax", "__init__.py"))
      and CHECKOUT not in sys.path[:2]):
    sys.path.insert(1, CHECKOUT)  # after the script's own folder, before any installed genjax
  spec = importlib.util.find_spec("genjax")  # where it is, without running its code yet
  if spec is None:
    _stop(f"no genjax package is installed; {ADVICE}")
  where = list(spec.submodule_search_locations or [spec.origin])[0]
  try:
    ours = getattr(importlib.import_module("genjax"), "DISTRIBUTION", None) == MARKER
    reason = f"it has no genjax.DISTRIBUTION = {MARKER!r}; PyPI's genjax is an unrelated package"
  except Exception as e:  # another genjax whose own imports fail: the same answer
    ours, reason = False, f"importing it failed: {type(e).__name__}: {' '.join(str(e).split())}"
  if not ours:
    _stop(f"the genjax package imported from {where} is not this repository's ({reason}); "
          f"{ADVICE}")


check()
