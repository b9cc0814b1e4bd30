"""The Colab notebook runs top to bottom on CPU in quick mode, so it cannot rot."""

import os

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_notebook_executes_in_quick_mode(monkeypatch):
  from nbclient import NotebookClient

  monkeypatch.setenv("GENJAX_NOTEBOOK_QUICK", "1")
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  monkeypatch.delenv("JAX_NUM_CPU_DEVICES", raising=False)
  notebook = nbformat.read(os.path.join(ROOT, "notebooks", "colab.ipynb"), as_version=4)
  NotebookClient(notebook, timeout=900, kernel_name="python3",
                 resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}}).execute()
  outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  shown = [o for o in outputs if o.output_type == "display_data"]
  assert any("text/markdown" in o.data for o in shown)
  assert any("image/png" in o.data for o in shown)
