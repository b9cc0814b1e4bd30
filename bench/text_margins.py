"""A real-text comparison at every evaluation along training: is it settled, or still moving?

python bench/text_margins.py --workdir=workdirs/text_gpu \
    --minus=transformer_on_shakespeare-licences-news,transformer_on_shakespeare --set=test/bible

Reads the two trainings' evaluations (WORKDIR/evals/<name>.jsonl, written by experiments/text.py
at each step of its grid) and prints, at each step both have, the bits per byte of each and their
paired difference, first minus second, with its 95% Student-t interval over seeds (the interval
the rules in genjax/claims/text_checks.py read at the last step). The rules judge the last step
alone; this shows whether a comparison of unfinished models already had its sign earlier. It
reads a workdir and writes nothing (its figures belong to that run, not to bench/results/).
"""

import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
from absl import flags

from genjax import cli, logs, stats
from genjax.errors import UserError
from genjax.text.fit import bits

flags.DEFINE_string("workdir", None, "A workdir of experiments/text.py.")
flags.DEFINE_list("minus", None, "Two training names, A,B: prints A - B.")
flags.DEFINE_string("set", None, "An evaluation set both were scored on, e.g. test/bible.")
flags.mark_flags_as_required(["workdir", "minus", "set"])


def bits_by_step(workdir: str, name: str, eval_set: str) -> dict[int, list[float]]:
  """{step: per-seed bits per byte} of one training on `eval_set`."""
  records = logs.read_evals(workdir, name)
  if not records:
    found = sorted(f.removesuffix(".jsonl") for f in os.listdir(os.path.join(workdir, "evals"))
                   ) if os.path.isdir(os.path.join(workdir, "evals")) else []
    raise UserError(f"no evaluations of {name!r} in {workdir}/evals; trainings there: "
                    f"{', '.join(found) or 'none'}")
  if eval_set not in records[0]:
    sets = sorted(k for k in records[0] if "/" in k)
    raise UserError(f"{name} was not scored on {eval_set!r}; its sets: {', '.join(sets)}")
  return {r["step"]: bits(r[eval_set])["seeds"] for r in records}


def margins(workdir: str, a: str, b: str, eval_set: str) -> list[dict]:
  """[{"step", "a", "b", "compare"}] at every step both trainings were evaluated."""
  bits_a, bits_b = bits_by_step(workdir, a, eval_set), bits_by_step(workdir, b, eval_set)
  return [{"step": t, "a": bits_a[t], "b": bits_b[t],
           "compare": stats.compare(bits_a[t], bits_b[t], paired=True)}
          for t in sorted(set(bits_a) & set(bits_b))]


def main(argv):
  del argv
  names = flags.FLAGS.minus
  if len(names) != 2:
    cli.fail(f"--minus takes two training names, A,B; got {len(names)}")
  rows = margins(flags.FLAGS.workdir, *names, flags.FLAGS.set)
  print(f"{flags.FLAGS.set}, bits per byte: A = {names[0]}, B = {names[1]}")
  print("| step | A | B | A - B [95% t] |\n|---|---|---|---|")
  for r in rows:
    a, b = (stats.spread(stats.summary(r[side])) for side in "ab")
    print(f"| {r['step']} | {a} | {b} | {stats.describe_compare(r['compare'], digits=3)} |")


if __name__ == "__main__":
  cli.run(main, distributed=False)
