"""What the Colab notebook (notebooks/colab.ipynb) runs on the runtime it finds.

The notebook's decisions live here (the first three in genjax/colab_device.py), where tests can
reach them without a Colab runtime (tests/test_colab.py feeds them made-up device descriptions):

  detect_runtime()     cpu, gpu or tpu, from the environment (before JAX is installed);
  install_args(rt)     what `pip install` is given for that runtime;
  device_description() the accelerator in words: `nvidia-smi`'s name and compute capability on a
                       GPU, JAX's device_kind otherwise;
  choose_runs(rt, d)   the report's runs that device can do, sized to a Colab session: a Choice
                       of report.py arguments, its workdir and an explanation to print.

What each runtime gets from choose_runs:
  cpu  the quick report (experiments/flags/report_quick.flags, committed as reports/quick);
  gpu  the runs of experiments/flags/report_gpu.flags that fit a session. A run fits when a
       committed report recorded its time (reports/*/REPORT.json, else its flagfile's `# Time:`
       line) and the times so far add up to at most SESSION_SECONDS; a run with no recorded time
       fits only if SHORT_LIST names it (with why), and every run left out is named with why.
       Compute capability 8.0 (Ampere) and newer run attention on cuDNN, as report_gpu.flags
       does; below it JAX refuses cuDNN attention, so the sweep runs on XLA's attention instead
       (experiments/flags/attention_gpu_xla.flags), and runs that need Pallas' GPU kernels are
       left out; a GPU whose capability cannot be read is treated as below Ampere;
  tpu  the same runs as a GPU below Ampere: XLA's attention, nothing that needs cuDNN or Pallas'
       GPU kernels.

Standard library only at import time: the notebook imports this before it installs JAX.
"""

import glob
import json
import os
import re
from typing import NamedTuple

from genjax.colab_device import (  # noqa: F401  (the notebook calls them as colab.*)
  Device,
  detect_runtime,
  device_description,
  install_args,
  parse_device,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK_REPORT = "experiments/flags/report_quick.flags"
GPU_REPORT = "experiments/flags/report_gpu.flags"
# A flagfile that needs cuDNN attention -> the same sweep on XLA's attention.
WITHOUT_CUDNN = {
    "experiments/flags/attention_gpu.flags": "experiments/flags/attention_gpu_xla.flags",
}
AMPERE = (8, 0)  # JAX's cuDNN attention needs compute capability 8.0 or newer
# The planning budget for the runs with a recorded time: a choice, well inside what a Colab
# session gives before it disconnects; not a measurement.
SESSION_SECONDS = 2 * 3600

# Runs of report_gpu.flags with no recorded time that a session should still finish, and why
# (by flagfile label; the attention sweep under either of its names).
SHORT_LIST = {
    "attention_gpu": "the sweep bounds itself: a variant stops growing n once one call is slow "
                     "(config.max_reference_calls_per_point) or its buffers pass "
                     "config.memory_limit_gb",
    "attention_gpu_xla": "the sweep bounds itself: a variant stops growing n once one call is "
                         "slow (config.max_reference_calls_per_point) or its buffers pass "
                         "config.memory_limit_gb",
    "domain_architecture": "the domain studies share one pretrained model (workdirs/domain)",
    "domain_fewshot": "a domain study (shares the pretrained model)",
    "gan_mnist_d_quarter": "a narrow DCGAN on MNIST, 9,000 steps",
}
# Why the other runs of report_gpu.flags are left out when no report recorded their time.
LEFT_OUT = {
    "gan_stacked_mnist_metz_d_quarter_5k": "the published Stacked MNIST nets, 26,000 samples "
                                           "scored at every evaluation",
    "gan_stacked_mnist_metz_d_half_5k": "the published Stacked MNIST nets, 26,000 samples "
                                        "scored at every evaluation",
    "text_diversity_gpu": "language models trained on real text for the GPU budget",
    "text_architecture_gpu": "language models trained on real text for the GPU budget",
    "text_finetune_gpu": "a language model pretrained for the GPU budget",
    "text_dapt_gpu": "a language model pretrained for the GPU budget",
    "text_continual_gpu": "a language model pretrained for the GPU budget",
}

# Compute capability by GPU name, for when nvidia-smi cannot say (its compute_cap field needs a
# recent driver): NVIDIA's published values for the GPUs Colab and clouds hand out.
class Choice(NamedTuple):
  args: list[str]  # experiments/report.py's arguments (without --workdir)
  workdir: str  # the report's default workdir for this runtime
  explanation: str  # what runs and why, in words, for the notebook to print


def _read_runs(path: str) -> list[str]:
  with open(os.path.join(ROOT, path)) as f:
    for line in f:
      if line.startswith("--runs="):
        return [run for run in line.strip()[len("--runs="):].split(",") if run]
  raise ValueError(f"{path} has no --runs= line")


def _flag_lines(flagfile: str) -> list[str]:
  """A flagfile's flag lines, those of the flagfile it includes first (as absl reads them)."""
  lines = []
  with open(os.path.join(ROOT, flagfile)) as f:
    for line in f:
      line = line.strip()
      if line.startswith("--flagfile="):
        lines += _flag_lines(line[len("--flagfile="):])
      elif line.startswith("--"):
        lines.append(line)
  return lines


def needs(flagfile: str) -> set[str]:
  """What of "cudnn" and "pallas" a flagfile's run needs, read from its flag lines (the attention
  config 'gpu' sets implementation='cudnn'; a later --config.implementation overrides it)."""
  cudnn, pallas = False, False
  for line in _flag_lines(flagfile):
    if line.startswith("--config=") and line.endswith(":gpu") and "attention" in line:
      cudnn = True
    elif line.startswith("--config.implementation="):
      cudnn = line.split("=", 1)[1].strip("'\"") == "cudnn"
    if "pallas" in line:
      pallas = True
  return {name for name, used in (("cudnn", cudnn), ("pallas", pallas)) if used}


def recorded_seconds(flagfile: str) -> tuple[float, str] | None:
  """(seconds, where) a committed report recorded for a flagfile's run: its REPORT.json, else
  the flagfile's `# Time: N s in reports/NAME` line; None when neither has one."""
  for report in sorted(glob.glob(os.path.join(ROOT, "reports", "*", "REPORT.json"))):
    try:
      with open(report) as f:
        runs = json.load(f)["runs"]
      seconds = [float(r["wall_seconds"]) for r in runs
                 if r.get("flagfile") == flagfile and r.get("wall_seconds")]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
      continue  # unreadable or of another shape: no estimate from it
    if seconds:
      machine = next((r.get("machine") for r in runs if r.get("flagfile") == flagfile), "")
      where = os.path.relpath(os.path.dirname(report), ROOT)
      return sum(seconds), where + (f", {machine}" if machine else "")
  try:
    with open(os.path.join(ROOT, flagfile)) as f:
      for line in f:
        found = re.match(r"# Time: (\d+(?:\.\d+)?) s in (reports/[\w.-]+)(.*)", line)
        if found:
          return float(found[1]), found[2] + found[3].split(",")[0].rstrip()
        if not line.startswith("#"):
          break
  except OSError:
    pass
  return None


def _label(flagfile: str) -> str:
  return os.path.splitext(os.path.basename(flagfile))[0]


def _minutes(seconds: float) -> str:
  return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def choose_runs(runtime: str, description: str = "", budget_seconds: float = SESSION_SECONDS,
                ) -> Choice:
  """The report's runs for a runtime ("cpu", "gpu", "tpu") and its device description (see
  parse_device): report.py arguments, a workdir and the explanation. Pure: it reads only the
  repository's flagfiles and committed reports."""
  device = parse_device(runtime, description)
  if device.platform not in ("cpu", "gpu", "tpu"):
    raise ValueError(f"runtime {runtime!r}: expected cpu, gpu or tpu")
  if device.platform == "cpu":
    recorded = _report_wall(QUICK_REPORT)
    return Choice(
        [f"--flagfile={QUICK_REPORT}"], "workdirs/report_quick",
        "CPU runtime: the quick report (experiments/flags/report_quick.flags), every claim on the "
        "quick protocols, as committed in reports/quick/REPORT.md"
        + (f"; that run took {recorded}" if recorded else "") + ".")
  if device.platform == "gpu" and device.capability and device.capability >= AMPERE:
    cudnn, pallas = True, True
    why = (f"GPU ({device.name}), compute capability {_cc(device.capability)} (Ampere or newer): "
           f"attention on cuDNN, as experiments/flags/report_gpu.flags runs it.")
  elif device.platform == "gpu":
    cudnn, pallas = False, False
    seen = (f"compute capability {_cc(device.capability)}, below Ampere ({_cc(AMPERE)})"
            if device.capability else "compute capability unknown, so taken as below Ampere")
    why = (f"GPU ({device.name}), {seen}: JAX refuses cuDNN attention here, so the attention sweep "
           f"runs on XLA's attention (experiments/flags/attention_gpu_xla.flags) and nothing "
           f"that needs Pallas' GPU kernels runs.")
  else:
    cudnn, pallas = False, False
    why = (f"TPU ({device.name}): no cuDNN and no Pallas GPU kernels, so the attention sweep runs "
           f"on XLA's attention (experiments/flags/attention_gpu_xla.flags).")
  chosen, lines, total = [], [], 0.0
  for spec in _read_runs(GPU_REPORT):
    name, flagfile = spec.split(":", 1)
    needed = needs(flagfile)
    if ("cudnn" in needed and not cudnn) or ("pallas" in needed and not pallas):
      if flagfile not in WITHOUT_CUDNN or "pallas" in needed and not pallas:
        lines.append(f"  - {_label(flagfile)}: left out, needs {' and '.join(sorted(needed))}")
        continue
      flagfile = WITHOUT_CUDNN[flagfile]
    label = _label(flagfile)
    recorded = recorded_seconds(flagfile)
    if recorded is not None:
      seconds, where = recorded
      if total + seconds > budget_seconds:
        lines.append(f"  - {label}: left out, {_minutes(seconds)} recorded in {where} would pass "
                     f"the session budget of {_minutes(budget_seconds)}")
        continue
      total += seconds
      lines.append(f"  + {label}: {_minutes(seconds)} recorded in {where}")
    elif label in SHORT_LIST:
      lines.append(f"  + {label}: on the short list (no recorded time): {SHORT_LIST[label]}")
    else:
      lines.append(f"  - {label}: left out (no recorded time, not on the short list): "
                   + LEFT_OUT.get(label, "a run genjax/colab.py does not know"))
      continue
    chosen.append(f"{name}:{flagfile}")
  head = (f"{why}\nRuns chosen from experiments/flags/report_gpu.flags for one Colab session "
          f"(+ runs, - left out; a budget of {_minutes(budget_seconds)} for runs with a recorded "
          f"time, the short list of genjax/colab.py for the rest; set RUNS in the first cell to "
          f"choose others):")
  return Choice([f"--runs={','.join(chosen)}"], f"workdirs/report_{device.platform}",
                "\n".join([head, *lines]))


def _cc(capability: tuple[int, int]) -> str:
  return f"{capability[0]}.{capability[1]}"


def _report_wall(flagfile: str) -> str:
  """"N s on MACHINE (reports/NAME)" for a report flagfile whose report is committed, or ""."""
  folder = os.path.join("reports", _label(flagfile).removeprefix("report_"))
  try:
    with open(os.path.join(ROOT, folder, "REPORT.json")) as f:
      environment = json.load(f)["environment"]
    seconds = float(environment["wall_seconds"])
  except (OSError, ValueError, TypeError, KeyError, AttributeError):
    return ""
  if environment.get("backend") == "cpu" and environment.get("cpu_count"):
    machine = f" on {environment['cpu_count']} CPU cores"
  elif environment.get("backend"):
    machine = f" on {environment.get('devices', '')} {environment['backend'].upper()} device(s)"
  else:
    machine = ""
  return f"{_minutes(seconds)}{machine} ({folder})"
