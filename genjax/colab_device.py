"""The runtime a Colab notebook finds and its accelerator, in words (genjax/colab.py decides what
runs on it). Standard library only: the notebook imports this before it installs JAX."""

import glob
import os
import re
import shutil
import subprocess
from typing import NamedTuple

KNOWN_CAPABILITIES = (
    ("K80", (3, 7)), ("P4", (6, 1)), ("P100", (6, 0)), ("V100", (7, 0)), ("T4", (7, 5)),
    ("A100", (8, 0)), ("A10G", (8, 6)), ("A10", (8, 6)), ("L4", (8, 9)), ("L40", (8, 9)),
    ("H100", (9, 0)), ("H200", (9, 0)), ("B200", (10, 0)),
)


class Device(NamedTuple):
  platform: str  # cpu | gpu | tpu
  name: str  # e.g. "Tesla T4", "NVIDIA A100-SXM4-40GB", "TPU v2", "cpu"
  capability: tuple[int, int] | None  # an NVIDIA GPU's compute capability, if known


def detect_runtime(environ=None, which=shutil.which, run=subprocess.run, devices=glob.glob):
  """cpu, gpu or tpu: JAX_PLATFORMS if set; else a TPU's variables or /dev/accel* devices (TPU
  v2 to v4); else a working nvidia-smi; else numbered /dev/vfio groups (the newer TPU VMs); else
  cpu. The arguments are for tests."""
  environ = os.environ if environ is None else environ
  if environ.get("JAX_PLATFORMS"):  # pinned by the user (the tests pin cpu)
    return environ["JAX_PLATFORMS"].split(",")[0].strip().lower()
  tpu_vars = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")
  if any(environ.get(name) for name in tpu_vars) or devices("/dev/accel*"):
    return "tpu"
  if which("nvidia-smi") and run(["nvidia-smi", "-L"], capture_output=True).returncode == 0:
    return "gpu"
  if devices("/dev/vfio/[0-9]*"):
    return "tpu"
  return "cpu"


def install_args(runtime: str) -> list[str]:
  """`pip install` arguments: genjax with its runtime dependencies (not [dev], whose tools would
  upgrade the packages Colab's own kernel runs on) and, in the same command so that pip picks
  matching versions, the accelerator build of JAX (without it JAX quietly runs on the CPU)."""
  return ["-e", ".", *{"gpu": ["jax[cuda12]"], "tpu": ["jax[tpu]"]}.get(runtime, [])]


def device_description(runtime: str, jax_device_kind: str = "", run=subprocess.run) -> str:
  """The accelerator in words, for choose_runs: on a GPU `nvidia-smi`'s "name, compute_cap"
  line (the first GPU's), else JAX's device_kind (`jax.devices()[0].device_kind`)."""
  if runtime == "gpu":
    try:
      out = run(["nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=60)
      lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
      if out.returncode == 0 and lines:
        return lines[0]
    except (OSError, subprocess.SubprocessError):
      pass
  return jax_device_kind or runtime


def parse_device(runtime: str, description: str) -> Device:
  """A Device from a description: "Tesla T4, 7.5" (nvidia-smi's csv), "NVIDIA L4", "TPU v2",
  "cpu". A GPU's capability comes from the description, else from its name, else is None."""
  runtime = runtime.strip().lower()
  first = (description or "").strip().splitlines()[0].strip() if (description or "").strip() else ""
  name, capability = first, None
  if runtime == "gpu":
    parts = [part.strip() for part in first.split(",")]
    if len(parts) >= 2 and re.fullmatch(r"\d+\.\d+", parts[-1]):
      name = ", ".join(parts[:-1])
      major, minor = parts[-1].split(".")
      capability = (int(major), int(minor))
    else:
      matches = [(len(model), known) for model, known in KNOWN_CAPABILITIES
                 if re.search(rf"(?<![A-Za-z0-9]){model}(?![0-9])", name, re.IGNORECASE)]
      capability = max(matches)[1] if matches else None  # the longest name: A10G, not A10
  return Device(runtime, name or runtime, capability)
