"""One training with glibc's malloc on 4 KB pages and on transparent huge pages, side by side.

python bench/bench_huge_pages.py            # the real-text diversity study, 200 steps
python bench/bench_huge_pages.py --run="experiments/domain.py \
    --flagfile=experiments/flags/domain_architecture_quick.flags"

Run from the checkout's root (--run's script and flagfile are relative to it). Each round runs
the command once per setting (in turn, the order alternating over rounds), each in a fresh
workdir and a fresh process whose GLIBC_TUNABLES names the setting (glibc.malloc.hugetlb=0 or 1;
an entry point started with the tunable set does not restart). Prints a table: wall time, the
child's user and system CPU time and page faults (getrusage of the children, before and after),
medians over rounds, and each setting's wall time over the 4 KB pages'; then whether the
numbers (every results.json value but times) are the same in every run. Whether the kernel
grants huge pages is its own setting (/sys/kernel/mm/transparent_hugepage/enabled). The figures
also go to bench/results/<cpu>.json (bench/results.py); that folder holds the ones measured so
far.
"""

import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
from absl import flags

from bench import results
from genjax import cli
from genjax.errors import UserError

flags.DEFINE_string("run", "experiments/text.py "
                    "--flagfile=experiments/flags/text_diversity_quick.flags "
                    "--config.num_steps=200 --config.num_evals=4",
                    "The training to time: a script and its flags, without --workdir.")
flags.DEFINE_integer("rounds", 2, "Runs per setting (medians are reported).")
SETTINGS = {"4 KB pages": "glibc.malloc.hugetlb=0", "huge pages": "glibc.malloc.hugetlb=1"}
TIMING_WORDS = ("second", "time", "wall")  # results.json keys that hold times, not numbers


def numbers(found):
  """results.json without its times: what must not depend on the allocator."""
  if isinstance(found, dict):
    return {k: numbers(v) for k, v in found.items() if not any(w in k for w in TIMING_WORDS)}
  if isinstance(found, list):
    return [numbers(v) for v in found]
  return found


def run_once(command: list[str], tunables: str, folder: str) -> dict:
  """One training in a fresh process and workdir: its times, page faults and numbers."""
  workdir = tempfile.mkdtemp(dir=folder)
  log = os.path.join(workdir, "log.txt")
  before = resource.getrusage(resource.RUSAGE_CHILDREN)  # every child waited for so far
  with open(log, "w") as out:
    start = time.perf_counter()
    status = subprocess.run([sys.executable, *command, f"--workdir={workdir}/run"],
                            env={**os.environ, "GLIBC_TUNABLES": tunables}, stdout=out,
                            stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  if status:
    with open(log) as f:
      tail = " | ".join(f.read().strip().splitlines()[-3:])
    raise UserError(f"--run failed ({tunables}): {tail}")
  with open(os.path.join(workdir, "run", "results.json")) as f:
    run_results = json.load(f)
  return {"wall": wall, "user": after.ru_utime - before.ru_utime,
          "sys": after.ru_stime - before.ru_stime, "faults": after.ru_minflt - before.ru_minflt,
          "numbers": numbers(run_results)}


def main(argv):
  del argv
  command = shlex.split(flags.FLAGS.run)
  if not command or not command[0].endswith(".py") or any(a.startswith("--workdir")
                                                          for a in command):
    raise UserError("--run must be a script and its flags, without --workdir")
  if flags.FLAGS.rounds < 1:
    raise UserError(f"--rounds must be >= 1, got {flags.FLAGS.rounds}")
  runs = {name: [] for name in SETTINGS}
  with tempfile.TemporaryDirectory() as folder:
    for r in range(flags.FLAGS.rounds):
      for name in (list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]):
        runs[name].append(run_once(command, SETTINGS[name], folder))
        print(f"round {r + 1}, {name}: {runs[name][-1]['wall']:.1f} s", flush=True)
  base = statistics.median(run["wall"] for run in runs["4 KB pages"])
  print(f"\n{flags.FLAGS.run}\n")
  print("| malloc | wall (s) | user CPU (s) | system CPU (s) | page faults (M) | wall ratio |")
  print("|---|---|---|---|---|---|")
  rows = []
  for name, done in runs.items():
    median = {k: statistics.median(run[k] for run in done)
              for k in ("wall", "user", "sys", "faults")}
    print(f"| {name} ({SETTINGS[name]}) | {median['wall']:.1f} | {median['user']:.1f} | "
          f"{median['sys']:.1f} | {median['faults'] / 1e6:.2f} | {median['wall'] / base:.2f} |")
    rows.append({"malloc": name, "tunables": SETTINGS[name], "wall_s": median["wall"],
                 "user_s": median["user"], "system_s": median["sys"],
                 "page_faults": median["faults"], "wall_ratio": median["wall"] / base,
                 "rounds": len(done)})
  first = runs["4 KB pages"][0]["numbers"]
  same = all(run["numbers"] == first for done in runs.values() for run in done)
  print(f"\nnumbers (results.json without times) {'the same' if same else 'DIFFER'} in every run")
  results.record("bench_huge_pages", rows, run=flags.FLAGS.run, numbers_same=same)

if __name__ == "__main__":
  cli.run(main, distributed=False)
