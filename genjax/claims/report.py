"""REPORT.md: every claim with the run(s) it rests on, numbers, anchor and rule-made verdict.

A rule says *not measured* only by returning it (its guard) or by raising `ResultMissing`; any
other exception inside a rule is a bug and propagates out of `judge`. A claim judged on several
runs is combined by `combine.combine` (see its docstring); REPORT.md shows the combined verdict
and one sub-row per run. REPORT.json (`report_json`) holds the same as data.
"""

import dataclasses
import importlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from typing import Any

import jax

from genjax import identity, registry, stats
from genjax.claims import combine
from genjax.claims.schedule import usable_cores
from genjax.claims.verdicts import (
  NOT_MEASURED,
  Claim,
  Finding,
  ResultMissing,
  require_seeds,
)
from genjax.errors import UserError

FIGURES = "figures"  # folder beside REPORT.md with each claim's deciding figure
QUESTIONS = registry.QUESTIONS
# What `python experiments/report.py` runs with no flags (experiments/flags/report_quick.flags
# repeats it; a test keeps them equal): every claim, each protocol run from scratch.
QUICK_WORKDIR = "workdirs/report_quick"
# Longest first: a run starts when a worker frees up (genjax/claims/schedule.py).
QUICK_RUNS = [
    "gan:experiments/flags/gan_ring_metz_appendix_quick.flags",
    "vae:experiments/flags/vae_mnist_quick.flags",
    "gan:experiments/flags/gan_mnist_quick.flags",
    *(f"domain:experiments/flags/domain_{study}_quick.flags"
      for study in ("diversity", "architecture", "finetune", "fewshot", "continual")),
    *(f"text:experiments/flags/text_{study}_quick.flags"
      for study in ("architecture", "diversity")),
    "vae:experiments/flags/vae_digits_long.flags",
    "gan:experiments/flags/gan_stacked_digits_quick.flags",
    "attention:experiments/flags/attention_cpu_quick.flags",
]
# The report's own record, in each workdir it ran, of how long each run took, so a reused run
# can still show its time and price more seeds.
TIMES_FILE = "report_wall_seconds.json"  # {run name: seconds}
# {run name: machine_line() where the report ran it}: a reused run's numbers belong to that machine
# (GAN numbers move with the CPU model; a GPU box runs its own JAX), not to the one reporting.
MACHINES_FILE = "report_machines.json"


class RunFailed(UserError):
  """An experiment's process exited non-zero; the message holds its command and stderr tail."""

  exit_code = 1


@dataclasses.dataclass
class Run:
  """One experiment run the report needs: its command and the workdir of its results.json."""

  name: str
  command: list[str]
  workdir: str
  claims: list[Claim]
  wall_seconds: float | None = None  # None: reused from an earlier run
  results: dict | None = None
  flagfile: str = ""  # the flagfile it runs
  config: Any = None  # the config that flagfile gives; a finished run is reused only if equal
  recorded_seconds: float | None = None  # a reused run's time, where known
  machine: str | None = None  # machine_line() of where it ran, where known
  experiment: str = ""  # its registry.EXPERIMENTS name


def finished(run: Run) -> bool:
  """Its results.json holds the results of this run's config (for a domain study: its entry)."""
  return identity.finished(run.workdir, run.config, registry.EXPERIMENTS[run.experiment])


def first_finished(alternatives: list[Run]) -> Run:
  """The first run finished by its own config (longest protocols listed first); else the last,
  which is the one to run."""
  for run in alternatives:
    if finished(run):
      return run
  return alternatives[-1]


def execute(run: Run, rerun: bool) -> Run:
  """Runs the experiment unless it finished with this config (and rerun is off); loads results."""
  path = os.path.join(run.workdir, identity.RESULTS_FILE)
  times_path = os.path.join(run.workdir, TIMES_FILE)
  machines_path = os.path.join(run.workdir, MACHINES_FILE)
  run.wall_seconds = run.recorded_seconds = None
  if rerun or not finished(run):
    start = time.perf_counter()
    completed = subprocess.run(run.command, capture_output=True, text=True)
    if completed.returncode:
      tail = "\n".join(completed.stderr.splitlines()[-20:])
      raise RunFailed(f"run {run.name} failed (exit {completed.returncode}): "
                      f"{shlex.join(run.command)}\n{tail}")
    run.wall_seconds = time.perf_counter() - start
    times = read_json(times_path) or {}
    identity.write_json(times_path, times | {run.name: run.wall_seconds})
    identity.write_json(machines_path, (read_json(machines_path) or {}) |
                        {run.name: machine_line()})
  with open(path) as f:
    run.results = json.load(f)
  run.machine = (read_json(machines_path) or {}).get(run.name)
  if run.wall_seconds is None:
    # Only a report times a run (a run made by hand, or resumed, has no one time): unknown else.
    run.recorded_seconds = (read_json(times_path) or {}).get(run.name)
  return run


def seconds(run: Run) -> float | None:
  """How long the run took on this machine: timed now, else recorded, else unknown."""
  return run.wall_seconds if run.wall_seconds is not None else run.recorded_seconds


def judge_one(claim: Claim, run: Run) -> Finding:
  try:
    return require_seeds(claim.rule(run.results))
  except ResultMissing as e:  # the only exception that means "not measured"; others are bugs
    return Finding(NOT_MEASURED, f"the results lack what this rule reads: {e}")


def judge(runs: list[Run]) -> dict[str, list[combine.Judged]]:
  """Per question, each claim (by statement, in first-seen order) with its runs' findings."""
  claims: dict[str, combine.Judged] = {}
  for run in runs:
    for claim in run.claims:
      judged = claims.setdefault(claim.statement, combine.Judged(claim, [], None))
      if claim.applies(run.results):
        judged.findings.append((run, judge_one(claim, run)))
  sections = {q: [] for q in QUESTIONS}
  for judged in claims.values():
    judged.combined = combine.combine(judged.findings, judged.claim.existential)
    sections[judged.claim.question].append(judged)
  return sections


# The widest vector extensions, widest first: XLA:CPU compiles for the host's, so two CPUs that
# share a model name (virtual machines often show only "AMD EPYC") can still round differently.
VECTOR_EXTENSIONS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"),
                     ("asimd", "NEON"))


def cpu_model(cpuinfo: str | None = None) -> str:
  """The CPU's model name with its family, model number and widest vector extension (Linux
  /proc/cpuinfo, or the text `cpuinfo`; else what platform says): GAN numbers move with the CPU
  and core count (XLA sums in another order), so a report records both. Virtual machines may
  name a Zen 3 and a Zen 5 both "AMD EPYC"; family 25 and 26, AVX2 and AVX-512 tell them apart."""
  if cpuinfo is None:
    try:
      with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    except OSError:
      cpuinfo = ""
  fields = {}
  for line in cpuinfo.splitlines():  # the first processor's block is enough: they are alike
    key, sep, value = line.partition(":")
    if not sep:
      if fields:
        break
      continue
    fields.setdefault(key.strip(), value.strip())
  name = fields.get("model name") or platform.processor() or "unknown"
  details = []
  if "cpu family" in fields and "model" in fields:
    details.append(f"family {fields['cpu family']} model {fields['model']}")
  flags = set((fields.get("flags") or fields.get("Features") or "").split())
  details += [label for flag, label in VECTOR_EXTENSIONS if flag in flags][:1]
  return f"{name} ({', '.join(details)})" if details else name


def machine_line() -> str:
  """Where runs run now, in one line: backend and device, JAX, CPU model and the cores a process
  started from this thread may use ("1 of 2" under taskset or a cpuset: XLA sizes its thread
  pool, and so a GAN's rounding, from them, experiments/bench_threads.py)."""
  usable, cores = usable_cores(), os.cpu_count()
  if usable != cores:
    cores = f"{usable} of {cores}"
  return (f"{jax.default_backend()} ({jax.devices()[0].device_kind}), JAX {jax.__version__}, "
          f"{cpu_model()}, {cores} cores")


def environment(runs: list[Run], schedule: dict | None = None) -> dict:
  """Versions, devices and the machine; with `schedule` ({"jobs", "wall_seconds"}) how the runs
  were run. Everything the trained numbers may depend on: `requirements-lock.txt` pins the
  versions behind the committed reports."""
  import numpy

  devices = jax.devices()
  env = {"jax": jax.__version__, "jaxlib": jax.lib.__version__, "numpy": numpy.__version__,
         "backend": jax.default_backend(), "devices": len(devices),
         "device_kind": devices[0].device_kind, "python": platform.python_version(),
         "machine": platform.machine(), "cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
         "xla_flags": os.environ.get("XLA_FLAGS", ""), **(schedule or {})}
  for name in ("flax", "optax", "orbax.checkpoint"):  # optional: judging needs none of them
    try:
      env[name.split(".")[0]] = importlib.import_module(name).__version__
    except (ImportError, AttributeError):
      pass
  return env


def copy_figure(claim: Claim, run: Run, report_dir: str) -> str | None:
  """Copies the claim's figure next to REPORT.md (so the folder can be shared as it is)."""
  if not claim.figure:
    return None
  source = os.path.join(run.workdir, claim.figure)
  if not os.path.exists(source):
    return None
  name = f"{run.name}_{os.path.basename(claim.figure)}"
  os.makedirs(os.path.join(report_dir, FIGURES), exist_ok=True)
  shutil.copyfile(source, os.path.join(report_dir, FIGURES, name))
  return f"{FIGURES}/{name}"


def figures_of(judged: combine.Judged, report_dir: str) -> dict[str, str]:
  """Run name -> the copied figure of this claim on that run (runs without one left out). A
  claim judged on runs of several experiments (the Markov and the real-text Q1 studies share
  their statements) is drawn by each run's own experiment, so each run's claim names the file."""
  copied = {run.name: copy_figure(own_claim(judged.claim, run), run, report_dir)
            for run, _ in judged.findings}
  return {name: path for name, path in copied.items() if path}


def own_claim(claim: Claim, run: Run) -> Claim:
  """The claim of `run`'s experiment with `claim`'s statement (its rule and figure)."""
  return next((c for c in run.claims if c.statement == claim.statement), claim)


def holm_family(sections) -> dict[int, tuple[float | None, bool | None]]:
  """id(finding) -> (p, still clear after Holm over every run-level margin in the report)."""
  findings = [f for judged_list in sections.values() for judged in judged_list
              for _, f in judged.findings]
  p_values = [f.margin.p_value() if f.margin else None for f in findings]
  return {id(f): (p, h) for f, p, h in zip(findings, p_values, stats.holm(p_values),
                                           strict=True)}


def read_json(path: str) -> dict | None:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def relative(command: list[str]) -> list[str]:
  """The command as a user types it from the repository root (no machine-specific paths)."""
  return ["python" if part == sys.executable else os.path.relpath(part)
          if os.path.isabs(part) and os.path.exists(part) else part for part in command]
