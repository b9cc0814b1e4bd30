"""The Colab notebook's decisions (genjax/colab.py) on made-up runtimes and device descriptions:
each accelerator gets only runs it can do (no cuDNN attention below Ampere or on a TPU, no
Pallas GPU kernels where they cannot run), sized to a session, with the reasons printed."""

import importlib
import json
import os
import subprocess
import sys

import pytest

from genjax import cli, colab, registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (runtime, description as the notebook gets it, expected capability, cuDNN attention?)
DEVICES = {
    "T4 (nvidia-smi)": ("gpu", "Tesla T4, 7.5", (7, 5), False),
    "T4 (jax device_kind)": ("gpu", "Tesla T4", (7, 5), False),
    "two T4s": ("gpu", "Tesla T4, 7.5\nTesla T4, 7.5\n", (7, 5), False),
    "V100": ("gpu", "Tesla V100-SXM2-16GB, 7.0", (7, 0), False),
    "A100": ("gpu", "NVIDIA A100-SXM4-40GB, 8.0", (8, 0), True),
    "A100 (jax device_kind)": ("gpu", "NVIDIA A100-SXM4-40GB", (8, 0), True),
    "L4": ("gpu", "NVIDIA L4, 8.9", (8, 9), True),
    "L4 (jax device_kind)": ("gpu", "NVIDIA L4", (8, 9), True),
    "H100": ("gpu", "NVIDIA H100 80GB HBM3, 9.0", (9, 0), True),
    "unknown GPU": ("gpu", "Some Future GPU", None, False),
    "GPU, no description": ("gpu", "", None, False),
    "TPU v2": ("tpu", "TPU v2", None, False),
    "TPU v5e": ("tpu", "TPU v5 lite", None, False),
}


@pytest.fixture(autouse=True)
def _from_the_repository_root(monkeypatch):
  monkeypatch.chdir(ROOT)  # flagfiles include their base by a path from the root


def _runs(choice):
  [runs] = [arg[len("--runs="):] for arg in choice.args if arg.startswith("--runs=")]
  return [run.split(":", 1) for run in runs.split(",")]


def _config(name, flagfile):
  return cli.config_from_flagfile(name, flagfile)[0]


@pytest.mark.parametrize("key", DEVICES)
def test_parse_device_reads_name_and_compute_capability(key):
  runtime, description, capability, _ = DEVICES[key]
  device = colab.parse_device(runtime, description)
  assert device.platform == runtime and device.capability == capability
  if description:
    assert device.name == description.splitlines()[0].split(", ")[0]


@pytest.mark.parametrize("key", [k for k in DEVICES if DEVICES[k][0] != "cpu"])
def test_accelerators_get_only_runs_they_can_do(key):
  runtime, description, _, cudnn = DEVICES[key]
  choice = colab.choose_runs(runtime, description)
  runs = _runs(choice)
  assert runs, choice.explanation
  offered = dict((flagfile, name) for name, flagfile in
                 (spec.split(":", 1) for spec in colab._read_runs(colab.GPU_REPORT)))
  attention = [flagfile for name, flagfile in runs if name == "attention"]
  assert attention == (["experiments/flags/attention_gpu.flags"] if cudnn
                       else ["experiments/flags/attention_gpu_xla.flags"])
  for name, flagfile in runs:
    # From report_gpu.flags, or the cuDNN-free stand-in of one of its runs.
    assert offered.get(flagfile) == name or flagfile in colab.WITHOUT_CUDNN.values(), flagfile
    config = _config(name, flagfile)
    if not cudnn:  # what JAX refuses below Ampere and on a TPU
      assert config.get("implementation", "") != "cudnn", flagfile
      assert "pallas_flash" not in config.get("variants", ()), flagfile
      assert "pallas_flash" not in config.get("backward_variants", ()), flagfile
    # Each chosen flagfile is also a config its experiment accepts (the XLA one even on a CPU).
    validate = importlib.import_module(registry.EXPERIMENTS[name].train).validate
    if config.get("implementation") == "cudnn":
      config.implementation = ""  # a CPU refuses cuDNN; the rest must still be valid
    validate(config)
  assert choice.workdir == f"workdirs/report_{runtime}"


@pytest.mark.parametrize("key", [k for k in DEVICES if DEVICES[k][0] != "cpu"])
def test_the_explanation_names_the_device_the_path_and_every_run(key):
  runtime, description, capability, cudnn = DEVICES[key]
  choice = colab.choose_runs(runtime, description)
  text = choice.explanation
  if description:
    assert description.splitlines()[0].split(", ")[0] in text
  if runtime == "tpu":
    assert text.startswith("TPU") and "XLA's attention" in text
  elif cudnn:
    assert f"compute capability {capability[0]}.{capability[1]} (Ampere or newer)" in text
    assert "cuDNN" in text
  else:
    assert "JAX refuses cuDNN attention" in text and "attention_gpu_xla.flags" in text
    assert ("below Ampere" in text if capability else "compute capability unknown" in text)
  chosen = {os.path.splitext(os.path.basename(f))[0] for _, f in _runs(choice)}
  for spec in colab._read_runs(colab.GPU_REPORT):  # each run of the file: + chosen, - with why
    label = os.path.splitext(os.path.basename(spec.split(":", 1)[1]))[0]
    if label == "attention_gpu" and not cudnn:
      label = "attention_gpu_xla"
    sign = "+" if label in chosen else "-"
    [line] = [line for line in text.splitlines() if line.startswith(f"  {sign} {label}:")]
    assert len(line) > len(f"  {sign} {label}: ") + 10, line  # with a reason
  assert "RUNS" in text  # how to choose others


def test_cpu_gets_the_quick_report_with_its_committed_time():
  choice = colab.choose_runs("cpu", "cpu")
  assert choice.args == ["--flagfile=experiments/flags/report_quick.flags"]
  assert choice.workdir == "workdirs/report_quick"
  assert "quick report" in choice.explanation and "reports/quick" in choice.explanation
  with open(os.path.join(ROOT, "reports", "quick", "REPORT.json")) as f:
    seconds = json.load(f)["environment"]["wall_seconds"]
  assert colab._minutes(seconds) in choice.explanation  # read from the report, not typed


def test_an_unknown_runtime_is_refused():
  with pytest.raises(ValueError, match="cpu, gpu or tpu"):
    colab.choose_runs("ipu", "")


def test_recorded_times_decide_what_fits_the_session(monkeypatch):
  times = {"experiments/flags/domain_architecture.flags": (3000.0, "reports/gpu"),
           "experiments/flags/gan_stacked_mnist_metz_d_quarter_5k.flags": (500.0, "reports/gpu"),
           "experiments/flags/text_diversity_gpu.flags": (1000.0, "reports/gpu")}
  monkeypatch.setattr(colab, "recorded_seconds", times.get)
  choice = colab.choose_runs("gpu", "NVIDIA L4, 8.9", budget_seconds=2000)
  labels = [os.path.splitext(os.path.basename(f))[0] for _, f in _runs(choice)]
  # Timed runs in the file's order while they fit: 3000 would not, 500 + 1000 does; a timed run
  # is taken even if off the short list, and dropped even if on it.
  assert "gan_stacked_mnist_metz_d_quarter_5k" in labels and "text_diversity_gpu" in labels
  assert "domain_architecture" not in labels
  assert "  - domain_architecture: left out, 50 min recorded in reports/gpu would pass the " \
         "session budget of 33 min" in choice.explanation
  assert "  + text_diversity_gpu: 17 min recorded in reports/gpu" in choice.explanation
  tight = colab.choose_runs("gpu", "NVIDIA L4, 8.9", budget_seconds=600)
  assert "gan_stacked_mnist_metz_d_quarter_5k" in tight.args[0]
  assert "text_diversity_gpu" not in tight.args[0]


def test_every_run_of_the_gpu_report_has_a_reason_either_way():
  for spec in colab._read_runs(colab.GPU_REPORT):
    label = os.path.splitext(os.path.basename(spec.split(":", 1)[1]))[0]
    assert (label in colab.SHORT_LIST) != (label in colab.LEFT_OUT), label
  for flagfile in colab.WITHOUT_CUDNN.values():
    assert os.path.splitext(os.path.basename(flagfile))[0] in colab.SHORT_LIST


def test_needs_reads_cudnn_and_pallas_through_included_flagfiles():
  assert colab.needs("experiments/flags/attention_gpu.flags") == {"cudnn"}
  assert colab.needs("experiments/flags/attention_gpu_backward.flags") == {"cudnn"}
  assert colab.needs("experiments/flags/attention_gpu_pallas.flags") == {"cudnn", "pallas"}
  assert colab.needs("experiments/flags/attention_gpu_xla.flags") == set()
  assert colab.needs("experiments/flags/attention_cpu_quick.flags") == set()
  assert colab.needs("experiments/flags/domain_diversity.flags") == set()
  # The text reading agrees with the configs the flagfiles give.
  for name in ("gpu", "gpu_backward", "gpu_pallas", "gpu_xla", "cpu_quick"):
    flagfile = f"experiments/flags/attention_{name}.flags"
    config = _config("attention", flagfile)
    assert ("cudnn" in colab.needs(flagfile)) == (config.implementation == "cudnn")
    assert ("pallas" in colab.needs(flagfile)) == ("pallas_flash" in config.variants)


def test_a_pallas_run_is_left_out_below_ampere_and_on_tpu(monkeypatch):
  real = colab._read_runs
  monkeypatch.setattr(colab, "_read_runs", lambda path: [
      *real(path), "attention:experiments/flags/attention_gpu_pallas.flags"])
  monkeypatch.setitem(colab.SHORT_LIST, "attention_gpu_pallas", "a made-up entry")
  for runtime, description in (("gpu", "Tesla T4, 7.5"), ("tpu", "TPU v2")):
    choice = colab.choose_runs(runtime, description)
    assert "attention_gpu_pallas" not in choice.args[0]
    assert "  - attention_gpu_pallas: left out, needs cudnn and pallas" in choice.explanation
  assert "attention_gpu_pallas" in colab.choose_runs("gpu", "NVIDIA H100, 9.0").args[0]


def test_recorded_seconds_from_a_report_json_then_a_time_line(monkeypatch, tmp_path):
  seconds, where = colab.recorded_seconds("experiments/flags/vae_digits_long.flags")
  with open(os.path.join(ROOT, "reports", "full", "REPORT.json")) as f:
    runs = json.load(f)["runs"]
  assert seconds == sum(r["wall_seconds"] for r in runs
                        if r["flagfile"] == "experiments/flags/vae_digits_long.flags")
  assert where.startswith("reports/full")
  assert colab.recorded_seconds("experiments/flags/attention_gpu.flags") is None
  # No report names it, but its Time line does; an unreadable REPORT.json is skipped.
  (tmp_path / "reports" / "gpu").mkdir(parents=True)
  (tmp_path / "reports" / "gpu" / "REPORT.json").write_text('{"runs": [')
  (tmp_path / "x.flags").write_text("# python x\n# Time: 321 s in reports/gpu (1 GPU)\n--a=1\n")
  (tmp_path / "y.flags").write_text("# python y\n# Time: not in a committed report\n")
  monkeypatch.setattr(colab, "ROOT", str(tmp_path))
  assert colab.recorded_seconds("x.flags") == (321.0, "reports/gpu (1 GPU)")
  assert colab.recorded_seconds("y.flags") is None
  assert colab.recorded_seconds("missing.flags") is None


class _Ran:
  def __init__(self, returncode=0, stdout=""):
    self.returncode, self.stdout = returncode, stdout


@pytest.mark.parametrize("environ, found, smi, expected", [
    ({"JAX_PLATFORMS": "cpu"}, ["/dev/accel0"], 0, "cpu"),  # pinned: wins over what is there
    ({"JAX_PLATFORMS": "tpu,cpu"}, [], 1, "tpu"),
    ({"COLAB_TPU_ADDR": "10.0.0.2:8470"}, [], 1, "tpu"),  # the old Colab TPU
    ({"TPU_ACCELERATOR_TYPE": "v5litepod-1"}, [], 1, "tpu"),
    ({}, ["/dev/accel0"], 1, "tpu"),  # a TPU VM, v2 to v4
    ({}, ["/dev/vfio/0"], None, "tpu"),  # a newer TPU VM
    ({}, ["/dev/vfio/0"], 0, "gpu"),  # a working GPU comes first
    ({}, [], 0, "gpu"),
    ({}, [], 9, "cpu"),  # nvidia-smi there but no GPU behind it
    ({}, [], None, "cpu"),  # no nvidia-smi
])
def test_detect_runtime_on_made_up_machines(environ, found, smi, expected):
  which = (lambda name: None) if smi is None else (lambda name: f"/usr/bin/{name}")
  devices = lambda pattern: [path for path in found
                             if path.startswith(pattern.split("*")[0].split("[")[0])]
  assert colab.detect_runtime(environ, which, lambda *a, **k: _Ran(smi), devices) == expected


def test_install_args_add_the_accelerator_build_of_jax_and_never_dev_tools():
  assert colab.install_args("cpu") == ["-e", "."]
  assert colab.install_args("gpu") == ["-e", ".", "jax[cuda12]"]
  assert colab.install_args("tpu") == ["-e", ".", "jax[tpu]"]
  assert not any("dev" in arg for rt in ("cpu", "gpu", "tpu") for arg in colab.install_args(rt))


def test_device_description_asks_nvidia_smi_then_falls_back_to_jax():
  asked = []

  def smi(command, **kwargs):
    asked.append(command)
    return _Ran(0, "Tesla T4, 7.5\n")

  assert colab.device_description("gpu", "Tesla T4", run=smi) == "Tesla T4, 7.5"
  assert asked == [["nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader"]]
  # An old driver without compute_cap: the field is refused; JAX's words are used instead.
  old = lambda *a, **k: _Ran(2, "")
  assert colab.device_description("gpu", "Tesla T4, 7.5", run=old) == "Tesla T4, 7.5"

  def missing(*args, **kwargs):
    raise FileNotFoundError("nvidia-smi")

  assert colab.device_description("gpu", "NVIDIA L4", run=missing) == "NVIDIA L4"
  assert colab.device_description("tpu", "TPU v2", run=missing) == "TPU v2"
  assert colab.device_description("cpu", "", run=missing) == "cpu"


def test_importing_it_loads_no_jax_or_numpy():
  # The notebook imports it before pip has installed anything.
  code = ("import sys; import genjax.colab; "
          "print(sorted(m for m in ('jax', 'numpy', 'absl', 'ml_collections') "
          "if m in sys.modules))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       check=True)
  assert out.stdout.strip() == "[]"
