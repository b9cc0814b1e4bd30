"""The Colab notebook runs top to bottom on CPU in quick mode, so it cannot rot."""

import os

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "colab.ipynb")


def test_notebook_is_committed_clean_with_repo_url_on_top():
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  code = [cell for cell in notebook.cells if cell.cell_type == "code"]
  assert all(not cell.outputs and cell.execution_count is None for cell in code)
  assert code[0].source.splitlines()[1].startswith("REPO_URL = ")  # the one line to edit
  setup = "\n".join(cell.source for cell in code)
  assert "[dev]" not in setup and "requirements.txt" not in setup  # runtime dependencies only


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
  assert "runtime: cpu; JAX backend: cpu" in printed
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
