"""The Colab notebook runs top to bottom on CPU in quick mode, so it cannot rot."""

import os
import sys

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "colab.ipynb")


def _code_cells():
  return [cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells
          if cell.cell_type == "code"]


def test_notebook_is_committed_clean_with_repo_url_on_top():
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  code = [cell for cell in notebook.cells if cell.cell_type == "code"]
  assert all(not cell.outputs and cell.execution_count is None for cell in code)
  assert code[0].source.splitlines()[1].startswith('REPO_URL = ""')  # the one line to edit
  setup = "\n".join(cell.source for cell in code)
  assert "[dev]" not in setup and "requirements.txt" not in setup  # runtime dependencies only


def test_notebook_has_no_placeholder_address_or_badge_and_says_repo_url_must_be_set():
  with open(NOTEBOOK) as f:
    text = f.read()
  for placeholder in ("YOUR-ACCOUNT", "OWNER/", "colab-badge", "github.com/"):
    assert placeholder not in text, placeholder
  intro = nbformat.read(NOTEBOOK, as_version=4).cells[0].source
  assert "Set `REPO_URL`" in intro and "no public address" in intro


def _run_cells(cells, namespace):
  for source in cells:
    exec(compile(source, "<notebook cell>", "exec"), namespace)


def test_on_colab_an_unset_repo_url_stops_with_one_message(monkeypatch, tmp_path):
  monkeypatch.chdir(tmp_path)  # /content: no checkout here
  code = _code_cells()
  namespace = {}
  with pytest.raises(ValueError, match="REPO_URL is not set"):
    _run_cells(code[:2], namespace)
  assert not os.listdir(tmp_path)  # nothing cloned


@pytest.mark.parametrize("runtime, extra", [("cpu", []), ("gpu", ["jax[cuda12]"]),
                                            ("tpu", ["jax[tpu]"])])
def test_install_cell_installs_the_runtimes_jax_and_stops_when_jax_misses_it(
    monkeypatch, runtime, extra, capsys):
  # The install cell as on Colab (not quick mode), with pip's and the fetch's commands recorded
  # instead of run; the check then asks this machine's JAX, a CPU one, for its backend.
  monkeypatch.chdir(os.path.join(ROOT, "notebooks"))
  monkeypatch.delenv("GENJAX_NOTEBOOK_QUICK", raising=False)
  code = _code_cells()
  namespace = {}
  _run_cells(code[:2], namespace)
  commands = []
  namespace.update(stream=commands.append, RUNTIME=runtime)
  if runtime == "cpu":
    _run_cells(code[2:3], namespace)
    assert namespace["DEVICE"] == "cpu"
  else:
    with pytest.raises(RuntimeError, match=f"JAX runs on CPU, but this is a {runtime.upper()} "
                                           "runtime"):
      _run_cells(code[2:3], namespace)
  assert commands == [[sys.executable, "-m", "pip", "install", "--progress-bar=off", "-e", ".",
                       *extra], [sys.executable, "-m", "genjax.data.fetch"]]


@pytest.mark.parametrize("runtime, device, attention", [
    ("cpu", "cpu", None),
    ("gpu", "Tesla T4, 7.5", "attention_gpu_xla"),
    ("gpu", "NVIDIA A100-SXM4-40GB, 8.0", "attention_gpu"),
    ("tpu", "TPU v5 lite", "attention_gpu_xla"),
])
def test_report_cell_runs_what_genjax_colab_chooses_and_prints_why(
    monkeypatch, runtime, device, attention, capsys):
  from genjax import colab

  monkeypatch.chdir(os.path.join(ROOT, "notebooks"))
  monkeypatch.delenv("GENJAX_NOTEBOOK_QUICK", raising=False)
  monkeypatch.delenv("GENJAX_NOTEBOOK_WORKDIR", raising=False)
  code = _code_cells()
  namespace = {}
  _run_cells(code[:2], namespace)
  commands = []
  namespace.update(stream=commands.append, RUNTIME=runtime, DEVICE=device)
  _run_cells(code[3:4], namespace)
  choice = colab.choose_runs(runtime, device)
  assert commands == [[sys.executable, "experiments/report.py", *choice.args,
                       f"--workdir={choice.workdir}"]]
  assert choice.explanation in capsys.readouterr().out
  if attention:
    assert f"attention:experiments/flags/{attention}.flags" in choice.args[0]
  # RUNS in the first cell replaces the choice.
  commands.clear()
  namespace.update(RUNS=["vae:experiments/flags/vae_digits.flags"])
  _run_cells(code[3:4], namespace)
  assert commands[0][2] == "--runs=vae:experiments/flags/vae_digits.flags"


@pytest.mark.slow
def test_notebook_executes_in_quick_mode(monkeypatch, tmp_path):
  from nbclient import NotebookClient

  monkeypatch.setenv("GENJAX_NOTEBOOK_QUICK", "1")
  monkeypatch.setenv("GENJAX_NOTEBOOK_WORKDIR", str(tmp_path))  # a fresh report every time
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  monkeypatch.delenv("JAX_NUM_CPU_DEVICES", raising=False)
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  NotebookClient(notebook, timeout=900, kernel_name="python3",
                 resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}}).execute()
  outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  printed = "".join(o.text for o in outputs if o.output_type == "stream")
  assert "quick mode: installing nothing" in printed
  assert "pip install" not in printed and "git clone" not in printed
  assert "runtime: cpu; JAX backend: cpu" in printed and "device: cpu" in printed
  # genjax.colab's choice for the runtime is printed, then the smoke runs instead.
  assert "CPU runtime: the quick report" in printed
  assert "quick mode: running the smoke runs instead" in printed
  # report.py's progress lines were streamed, then REPORT.md and one run's results.md shown.
  assert "starting vae_smoke" in printed and "vae_smoke: ran in" in printed
  assert (tmp_path / "REPORT.md").exists() and not (tmp_path / "report_quick").exists()
  shown = [o for o in outputs if o.output_type == "display_data"]
  markdown = "\n".join(o.data["text/markdown"] for o in shown if "text/markdown" in o.data)
  assert markdown.startswith("# Claims report")
  assert "| Q3 |" in markdown and "| Q4 |" in markdown
  assert "# VAE vs autoencoder" in markdown  # the VAE run's results.md
  figures = [o for o in shown if "image/png" in o.data]
  report_figures = {line for line in (tmp_path / "REPORT.md").read_text().splitlines()
                    if line.startswith("![")}
  assert len(figures) == len({line.rsplit("(", 1)[1] for line in report_figures}) >= 2
