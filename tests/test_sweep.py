"""The sweep runner: grid expansion, names, commands, skipping finished runs, collecting tables."""

import os
import subprocess
import sys

import pytest

from genjax import sweep
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_expand_is_the_cartesian_product_in_order():
  axes = [sweep.parse_axis("config.betas=0.5;2"), sweep.parse_axis("config.seed=0;1;2")]
  points = sweep.expand(axes)
  assert len(points) == 6
  assert points[0] == {"config.betas": "0.5", "config.seed": "0"}
  assert points[-1] == {"config.betas": "2", "config.seed": "2"}
  assert len({sweep.run_name(p) for p in points}) == 6


@pytest.mark.parametrize("spec", ["betas=1;2", "config.betas", "config.betas="])
def test_bad_axis(spec):
  with pytest.raises(UserError):
    sweep.parse_axis(spec)


def test_collect_prefixes_rows_with_the_point(tmp_path):
  points = {"a": {"config.seed": "0"}, "b": {"config.seed": "1"}, "c": {"config.seed": "2"}}
  workdirs = {n: str(tmp_path / n) for n in points}
  for name, value in (("a", "1.5"), ("b", "2.5")):  # c did not finish
    os.makedirs(workdirs[name])
    with open(os.path.join(workdirs[name], "results.md"), "w") as f:
      f.write(f"# title\n\n| model | nll |\n|---|---|\n| vae | {value} |\n\ntext\n")
  table = sweep.collect(points, workdirs)
  assert table.splitlines()[0] == "| seed | model | nll |"
  assert "| 0 | vae | 1.5 |" in table and "| 1 | vae | 2.5 |" in table
  assert "| 2 |" not in table


def test_finished_runs_are_skipped(tmp_path):
  done, todo = str(tmp_path / "done"), str(tmp_path / "todo")
  os.makedirs(done)
  open(os.path.join(done, "results.md"), "w").close()
  touch = [sys.executable, "-c", "import sys, os; open(sys.argv[1], 'w').write('x')"]
  codes = sweep.run_all({"done": [*touch, os.path.join(done, "ran")],
                         "todo": [*touch, os.path.join(todo, "ran")]},
                        {"done": done, "todo": todo}, processes=2)
  assert codes == {"done": 0, "todo": 0}
  assert not os.path.exists(os.path.join(done, "ran"))
  assert os.path.exists(os.path.join(todo, "ran"))


def test_print_only_lists_one_command_per_run(tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "sweep.py"), "--experiment=vae",
       "--grid=config.betas=0.5;2", "--grid=config.seed=0;1", f"--workdir={tmp_path}",
       "--print_only"], capture_output=True, text=True, check=True, cwd=ROOT)
  lines = result.stdout.strip().splitlines()
  assert len(lines) == 4
  assert all("experiments/vae.py" in line and "--config.betas=" in line for line in lines)
