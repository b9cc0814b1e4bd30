"""The grid runner: expansion, names, commands, skipping finished runs, and the table of
the numbers in every run's results.json."""

import json
import os
import subprocess
import sys

import pytest

from genjax import grid, registry
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_expand_is_the_cartesian_product_in_order():
  axes = [grid.parse_axis("config.betas=0.5;2"), grid.parse_axis("config.seed=0;1;2")]
  points = grid.expand(axes)
  assert len(points) == 6
  assert points[0] == {"config.betas": "0.5", "config.seed": "0"}
  assert points[-1] == {"config.betas": "2", "config.seed": "2"}
  assert len({grid.run_name(p) for p in points}) == 6


@pytest.mark.parametrize("spec", ["betas=1;2", "config.betas", "config.betas="])
def test_bad_axis(spec):
  with pytest.raises(UserError):
    grid.parse_axis(spec)


def _summary(mean, sd=0.1):
  return {"mean": mean, "sd": sd, "se": sd / 2, "seeds": [mean - sd, mean + sd]}


def _vae_results(nll):
  model = {"beta": 1.0, "latents": 8, "reconstruction_nll": _summary(nll),
           "neg_elbo": _summary(nll + 10), "iwae_nll": _summary(nll + 5), "rate": _summary(3.0),
           "active_units": _summary(6.0), "prior_samples": {"frechet": _summary(12.5)}}
  ae = {**model, "beta": 0.0}
  del ae["neg_elbo"], ae["iwae_nll"], ae["rate"]  # an AE has no ELBO
  return {"models": {"vae_beta1": model, "ae": ae}}


def _write(workdir, results):
  os.makedirs(workdir)
  with open(os.path.join(workdir, "results.json"), "w") as f:
    json.dump(results, f)


def test_collect_prefixes_rows_with_the_point(tmp_path):
  points = {"a": {"config.seed": "0"}, "b": {"config.seed": "1"}, "c": {"config.seed": "2"}}
  workdirs = {n: str(tmp_path / n) for n in points}
  _write(workdirs["a"], _vae_results(81.25))
  _write(workdirs["b"], _vae_results(90.5))  # c did not finish
  lines = grid.collect("vae", points, workdirs).splitlines()
  assert lines[0] == ("| seed | model | beta | recon NLL (z=mean) | -ELBO | IWAE NLL | rate (KL) "
                      "| active units | FD prior samples |")
  assert lines[1] == "|" + "---|" * 9
  assert lines[2:] == [
      "| 0 | vae_beta1 | 1 | 81.25 ± 0.10 | 91.25 ± 0.10 | 86.25 ± 0.10 | 3.00 ± 0.10 "
      "| 6.0 ± 0.1/8 | 12.50 ± 0.10 |",
      "| 0 | ae | 0 | 81.25 ± 0.10 | — | — | — | 6.0 ± 0.1/8 | 12.50 ± 0.10 |",
      "| 1 | vae_beta1 | 1 | 90.50 ± 0.10 | 100.50 ± 0.10 | 95.50 ± 0.10 | 3.00 ± 0.10 "
      "| 6.0 ± 0.1/8 | 12.50 ± 0.10 |",
      "| 1 | ae | 0 | 90.50 ± 0.10 | — | — | — | 6.0 ± 0.1/8 | 12.50 ± 0.10 |"]
  assert grid.collect("vae", {"c": points["c"]}, workdirs) == "No finished runs.\n"


def test_every_experiment_has_a_grid_table():
  for experiment in registry.EXPERIMENTS.values():
    assert callable(registry._load(experiment.table)), experiment.name


def test_gan_attention_and_domain_tables_pick_their_numbers(tmp_path):
  stats = {k: _summary(v) for k, v in (("modes", 7.5), ("reverse_kl", 0.25), ("precision", 0.9),
                                       ("recall", 0.8), ("coverage", 0.7), ("ndb", 2.0))}
  gan = {"num_seeds": 4, "methods": {"vanilla": {
      "summary": {**stats, "seeds_all_modes": 3}, "train_seconds": 61.6}}}
  assert registry.EXPERIMENTS["gan"].results_table(gan)[1] == [
      ["vanilla", "7.5 ± 0.1", "0.250 ± 0.100", "0.900 ± 0.100", "0.800 ± 0.100",
       "0.700 ± 0.100", "2.0 ± 0.1", "3/4", "62"]]
  fit = {"slope": 2.013, "lo": 1.9, "hi": 2.1}
  attention = {"slopes": [{"variant": "naive", "mode": "forward", "time": fit,
                           "time_corrected": None, "memory": fit}]}
  assert registry.EXPERIMENTS["attention"].results_table(attention)[1] == [
      ["naive", "forward", "2.01 [1.90, 2.10]", "n/a", "2.01 [1.90, 2.10]"]]
  # Every study of a domain workdir's results.json, in the order they ran.
  entry = {"target": _summary(1.5), "heldout": _summary(2.0)}
  domain = {"studies": {
      "diversity": {"rows": [{"pool_size": 4, "model_indist": _summary(1.2),
                              "model_heldout": _summary(1.9)},
                             {"pool_size": 0, "model_indist": _summary(1.7),
                              "model_heldout": _summary(1.7)}]},
      "finetune": {"grid": [0, 30], "methods": {"full_lr0.001": {"curve": {"30": entry}}}},
      "continual": {"families": ["general", "genre0"], "variants": {"replay0": [
          {"general": _summary(1.7), "genre0": _summary(1.8)},
          {"general": _summary(1.9), "genre0": _summary(1.4)}]}}}}
  header, rows = registry.EXPERIMENTS["domain"].results_table(domain)
  assert header == ["study", "model", "training or target domain loss", "held-out loss"]
  assert rows == [["diversity", "M=4", "1.200 ± 0.100", "1.900 ± 0.100"],
                  ["diversity", "M=∞", "1.700 ± 0.100", "1.700 ± 0.100"],
                  ["finetune", "full_lr0.001, T=30", "1.500 ± 0.100", "2.000 ± 0.100"],
                  ["continual", "replay0, after stage 1", "1.400 ± 0.100", "1.900 ± 0.100"]]


@pytest.mark.parametrize("content", ["{not json", json.dumps({"methods": {}}), "[]"])
def test_a_results_json_that_is_not_the_experiments_is_one_error_line(tmp_path, content):
  (tmp_path / "a").mkdir()
  (tmp_path / "a" / "results.json").write_text(content)
  with pytest.raises(UserError, match=r"a/results.json is not a results.json of vae") as e:
    grid.collect("vae", {"a": {"config.seed": "0"}}, {"a": str(tmp_path / "a")})
  assert "\n" not in str(e.value)


def test_finished_runs_are_skipped(tmp_path):
  done, todo = str(tmp_path / "done"), str(tmp_path / "todo")
  os.makedirs(done)
  open(os.path.join(done, "results.json"), "w").close()
  touch = [sys.executable, "-c", "import sys, os; os.makedirs(os.path.dirname(sys.argv[1]), "
           "exist_ok=True); open(sys.argv[1], 'w').write('x')"]
  codes = grid.run_all({"done": [*touch, os.path.join(done, "ran")],
                         "todo": [*touch, os.path.join(todo, "ran")]},
                        {"done": done, "todo": todo}, processes=2, done={"done"})
  assert codes == {"done": 0, "todo": 0}
  assert not os.path.exists(os.path.join(done, "ran"))
  assert os.path.exists(os.path.join(todo, "ran"))
  assert os.path.exists(todo + ".log") and not os.path.exists(done + ".log")


def test_print_only_lists_one_command_per_run(tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "grid.py"), "--experiment=vae",
       "--grid=config.betas=0.5;2", "--grid=config.seed=0;1", f"--workdir={tmp_path}",
       "--print_only"], capture_output=True, text=True, check=True, cwd=ROOT)
  lines = result.stdout.strip().splitlines()
  assert len(lines) == 4
  assert all("experiments/vae.py" in line and "--config.betas=" in line for line in lines)


# ---- issue 66: axes given twice, and --extra holding a flagfile ----

TESTS = os.path.dirname(os.path.abspath(__file__))
# The made-up coin-flip experiment (tests/made_up_experiment.py, seconds long) joins the grid's
# processes through GENJAX_EXPERIMENTS.
COINFLIP_ENV = {**os.environ, "JAX_PLATFORMS": "cpu", registry.PLUGINS: "made_up_experiment",
                "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}


def _grid(*args, env=None):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "grid.py"), *args],
                        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def _the_error_line(done) -> str:
  assert done.returncode == 2, done.stderr[-3000:]
  assert "Traceback" not in done.stderr
  lines = done.stderr.strip().splitlines()  # the grid logs its JAX devices first
  [line] = [line for line in lines if line.startswith("error: ")]
  assert line == lines[-1]
  return line


def test_an_axis_given_twice_is_one_error_line(tmp_path):
  done = _grid("--experiment=vae", "--grid=config.betas=0.5;2", "--grid=config.betas=1;4",
               f"--workdir={tmp_path}", "--print_only")
  assert _the_error_line(done) == (
      "error: --grid axis config.betas is given twice ('config.betas=0.5;2' and "
      "'config.betas=1;4'): give it once, with all its values (config.betas=v1;v2;...)")
  assert done.stdout == ""


@pytest.mark.parametrize("specs, extra, says", [
    (["config.seed=0;1", "config.betas=1", "config.seed=2"], [], "config.seed is given twice"),
    (["config.seed=0;1;0"], [], "lists '0' more than once"),
    (["config.seed=0;;1"], [], "has an empty value"),
    (["config.seed=0;1;"], [], "has an empty value"),
    (["config.seed=0;1"], ["--config.seed=3"], "config.seed is also set by --extra"),
])
def test_axes_that_would_lose_points_are_refused(specs, extra, says):
  with pytest.raises(UserError, match=says) as e:
    grid.parse_axes(specs, extra)
  assert "\n" not in str(e.value)


def test_an_axis_set_in_a_flagfile_of_extra_is_refused(tmp_path):
  extra = tmp_path / "extra.flags"
  extra.write_text("--config.learning_rate=0.01\n--config.seed=3\n")
  with pytest.raises(UserError, match=r"config.seed is also set by --extra \(--config.seed=3\)"):
    grid.parse_axes(["config.seed=0;1"], [f"--flagfile={extra}"])
  with pytest.raises(UserError, match="--extra: Unable to open flagfile"):
    grid.parse_axes(["config.seed=0;1"], [f"--flagfile={tmp_path / 'absent.flags'}"])


def test_values_that_name_one_workdir_are_refused():
  with pytest.raises(UserError, match="would both run in workdir note=a_b"):
    grid.named_points(grid.parse_axes(["config.note=a/b;a_b"]))
  assert list(grid.named_points(grid.parse_axes(["config.seed=0;1"]))) == ["seed=0", "seed=1"]


def test_a_flagfile_in_extra_is_part_of_each_runs_config(tmp_path):
  base = tmp_path / "coinflip_quick.flags"
  base.write_text("--config.bias=0.7\n--config.draws=200\n")
  extra = tmp_path / "extra.flags"
  extra.write_text("--config.draws=100\n")
  args = ["--experiment=coinflip", f"--flagfile_base={base}", "--grid=config.bias=0.25;0.75",
          f"--workdir={tmp_path / 'grid'}", f"--extra=--flagfile={extra}"]
  done = _grid(*args, env=COINFLIP_ENV)
  assert done.returncode == 0, done.stderr[-3000:]
  config = json.loads((tmp_path / "grid" / "bias=0.25" / "config.json").read_text())
  assert (config["draws"], config["bias"]) == (100, 0.25)  # the run reads the extra flagfile
  logs = [tmp_path / "grid" / "bias=0.25.log", tmp_path / "grid" / "bias=0.75.log"]
  for log in logs:
    log.write_text("the first run's log\n")
  # The same line again: both finished with their own config (the extra flagfile's draws
  # included), so nothing runs and both are tabulated.
  again = _grid(*args, env=COINFLIP_ENV)
  assert again.returncode == 0, again.stderr[-3000:]
  assert all(log.read_text() == "the first run's log\n" for log in logs)
  table = (tmp_path / "grid" / "grid.md").read_text().splitlines()
  assert [line.split(" | ")[0] for line in table[2:]] == ["| 0.25", "| 0.75"]
  # A changed extra flagfile is another config: both run again.
  extra.write_text("--config.draws=50\n")
  assert _grid(*args, env=COINFLIP_ENV).returncode == 0
  assert all(log.read_text() != "the first run's log\n" for log in logs)
