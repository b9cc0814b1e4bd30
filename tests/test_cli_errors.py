"""Bad input to an experiment script fails in one clear line, never a traceback."""

import ast
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY_POINTS = sorted(p for p in glob.glob(os.path.join(ROOT, "experiments", "*.py"))
                      if not os.path.basename(p).startswith("_"))


def _run(script, *args, env=None):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", script), *args],
                        capture_output=True, text=True, timeout=120,
                        env={**os.environ, "JAX_PLATFORMS": "cpu", **(env or {})})

CASES = [
    (["--nope=1"], "Unknown command line flag 'nope'"),
    (["--config.latent=3"], "--config has no field 'latent'. Did you mean \"latents\""),
    (["--config.latents=-3"], "config.latents must be > 0, got -3"),
    (["--config.num_steps=many"], "--config.num_steps=many"),
    (["--flagfile=no/such.flags"], "error: Unable to open flagfile"),  # not absl's "ERROR:: "
    (["--config.dataset=mnits"], "config.dataset must be one of digits"),
    (["--config.parallel=dp"], "config.parallel must be one of"),
    (["--config.classifier=resnet"], "config.classifier must be one of mlp, conv"),
    (["--config.iwae_samples=100", "--config.iwae_chunk=30"], "multiple of config.iwae_chunk"),
    (["stray"], "unexpected arguments: stray"),
    (["--config.num_steps=2.5"], "--config.num_steps=2.5"),
]


@pytest.mark.parametrize("args,message", CASES)
def test_one_line_error(args, message, tmp_path):
  result = _run("vae.py", f"--workdir={tmp_path}", *args)
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and message in last, result.stderr[-3000:]


@pytest.mark.slow
def test_checkpoint_from_another_config_is_one_line(tmp_path):
  script = os.path.join(ROOT, "experiments", "vae.py")
  tiny = ["--config.betas=1", "--config.train_autoencoder=False", "--config.num_steps=2",
          "--config.iwae_samples=10", "--config.iwae_chunk=10", "--config.classifier_steps=2",
          "--config.num_generated=20", "--config.interpolation_pairs=2",
          "--config.make_plots=False", f"--workdir={tmp_path}"]
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  subprocess.run([sys.executable, script, *tiny, "--config.hidden=16"], check=True, env=env,
                 capture_output=True, timeout=300)
  result = subprocess.run([sys.executable, script, *tiny, "--config.num_steps=4",
                           "--config.hidden=32"], env=env, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  # The workdir's recorded config differs (hidden), so the run stops before reading a checkpoint.
  assert "holds a run of another config (hidden=[16] there, [32] now" in result.stderr


@pytest.mark.parametrize("script,help_flag,listed", [
    ("vae.py", "--help", ["--config:", "--workdir:", "(default: 'workdirs/vae')"]),
    ("vae.py", "--helpfull", ["--config:", "--workdir:"]),
    ("report.py", "--help", ["--runs:", "--workdir:"]),
])
def test_help_lists_the_scripts_own_flags_and_exits_0(script, help_flag, listed):
  # absl's --help shows the main module's flags only (the experiments' live in genjax/cli.py)
  # and exits 1; a user asking for help should see them, and `--help && ...` should go on.
  result = _run(script, help_flag)
  assert result.returncode == 0, result.stderr[-3000:]
  for text in listed:
    assert text in result.stdout, result.stdout


def test_every_entry_point_checks_its_genjax_first_and_shows_cli_flags():
  """Static, so a new script cannot miss them: _genjax_check before any genjax import, the
  huge-page restart called by name before anything but the standard library and genjax.startup
  is imported, and the flags that cli.define_flags defines adopted, so that --help lists them."""
  for path in ENTRY_POINTS:
    tree = ast.parse(open(path).read())
    names = []  # module-level imports and the restart call, in order
    for node in tree.body:
      if isinstance(node, ast.Import | ast.ImportFrom):
        names.append(node.names[0].name if isinstance(node, ast.Import) else node.module)
      elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and ast.unparse(node.value) == "startup.restart_with_huge_pages()"):
        names.append("RESTART")
    first_genjax = next(i for i, name in enumerate(names) if name.split(".")[0] == "genjax")
    assert "_genjax_check" in names[:first_genjax], path
    assert "RESTART" in names, path
    before_restart = names[:names.index("RESTART")]
    assert all(name.split(".")[0] in sys.stdlib_module_names or name == "_genjax_check"
               or name == "genjax" for name in before_restart), (path, before_restart)
    source = ast.unparse(tree)
    if "cli.define_flags(" in source:
      assert "flags.adopt_module_key_flags(cli)" in source, path


@pytest.mark.parametrize("script", ["vae.py", "domain.py"])  # domain uses it in its own main
def test_empty_workdir_is_one_error_line(script):
  result = _run(script, "--workdir=")
  assert result.returncode == 2, result.stderr[-3000:]
  assert result.stderr.strip().splitlines() == [
      f"error: --workdir is empty: name a folder, or leave the flag out for "
      f"workdirs/{script[:-3]}"], result.stderr[-3000:]


def _fake_genjax(folder, distribution=None):
  """A genjax package in `folder`: ours in name only (`distribution` = our marker), or PyPI's."""
  (folder / "genjax").mkdir(parents=True)
  marker = f"DISTRIBUTION = {distribution!r}\n" if distribution else ""
  (folder / "genjax" / "__init__.py").write_text(f'"""Stand-in."""\n{marker}')


def _probe(checkout, env=None):
  """Runs checkout/experiments/probe.py: the check, then where `import genjax` found it."""
  experiments = checkout / "experiments"
  experiments.mkdir(parents=True, exist_ok=True)
  (experiments / "_genjax_check.py").write_text(
      open(os.path.join(ROOT, "experiments", "_genjax_check.py")).read())
  (experiments / "probe.py").write_text("import _genjax_check\nimport genjax\n"
                                        "print(genjax.__file__)\n")
  return subprocess.run([sys.executable, str(experiments / "probe.py")], capture_output=True,
                        text=True, timeout=60, env={**os.environ, **(env or {})})


def test_a_script_runs_the_genjax_of_its_own_checkout(tmp_path):
  # A second clone or worktree, with the venv installed (-e) from this one: its scripts must
  # run its own genjax, not this repository's.
  _fake_genjax(tmp_path / "other", distribution="genjax-claims")
  result = _probe(tmp_path / "other")
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip() == str(tmp_path / "other" / "genjax" / "__init__.py")


def test_another_genjax_first_on_the_path_does_not_shadow_the_checkouts(tmp_path):
  # PyPI's `genjax` is an unrelated package with our import name; a fake one stands in for it.
  _fake_genjax(tmp_path / "pypi")
  path = os.pathsep.join(filter(None, [str(tmp_path / "pypi"), os.environ.get("PYTHONPATH")]))
  result = _run("vae.py", "--helpshort", env={"PYTHONPATH": path})
  assert result.returncode == 0, result.stderr[-3000:]
  assert "--config" in result.stdout, result.stdout


def test_another_genjax_package_with_no_checkout_beside_is_one_error_line(tmp_path):
  # A script copied out of its checkout has no genjax beside it: PyPI's one first on the path is
  # what it would import.
  _fake_genjax(tmp_path / "pypi")
  path = os.pathsep.join(filter(None, [str(tmp_path / "pypi"), os.environ.get("PYTHONPATH")]))
  result = _probe(tmp_path / "lonely", env={"PYTHONPATH": path})
  assert result.returncode == 2, result.stderr[-3000:]
  (line,) = result.stderr.strip().splitlines()
  assert line.startswith(f"error: the genjax package imported from {tmp_path / 'pypi' / 'genjax'} "
                         "is not this repository's ("), line
  assert line.endswith("; pip uninstall genjax, then pip install -r requirements.txt"), line


def _one_error_line(result) -> str:
  assert result.returncode == 2, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
  assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
  return errors[0]


def test_a_backend_jax_cannot_start_is_one_error_line(tmp_path):
  # A GPU command copied to a CPU-only machine.
  line = _one_error_line(_run("vae.py", f"--workdir={tmp_path}", env={"JAX_PLATFORMS": "gpu"}))
  assert line.startswith("error: JAX cannot start a backend (JAX_PLATFORMS='gpu'):"), line
  assert line.endswith("unset JAX_PLATFORMS, or install JAX for that accelerator"), line


def test_an_unknown_config_variant_is_one_line_without_the_traceback(tmp_path):
  config = os.path.join(ROOT, "genjax", "configs", "vae.py")
  line = _one_error_line(_run("vae.py", f"--config={config}:nosuch", f"--workdir={tmp_path}"))
  assert line.endswith("Error whilst parsing config file: ValueError: unknown variant 'nosuch' "
                       "of the vae config; use 'quick' or none"), line


def test_a_flagfile_run_from_outside_the_repository_says_where_to_run_it(tmp_path):
  flagfile = os.path.join(ROOT, "experiments", "flags", "vae_digits.flags")
  relative = tmp_path / "relative.flags"  # a --config= relative to the repository root
  relative.write_text("--config=genjax/configs/vae.py:quick\n" + open(flagfile).read())
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "vae.py"), f"--flagfile={relative}",
       f"--workdir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=120,
      cwd=tmp_path, env={**os.environ, "JAX_PLATFORMS": "cpu"})
  line = _one_error_line(result)
  assert line == (f"error: --config file genjax/configs/vae.py cannot be loaded from the working "
                  f"directory {tmp_path}; flagfiles name configs relative to the repository root: "
                  "run from there, or give --config an absolute path"), line


def test_cutting_a_traceback_keeps_the_message_and_its_last_line():
  from genjax.cli import without_traceback

  assert without_traceback("plain message") == "plain message"
  text = ("flag --config=x: parse failed: Traceback (most recent call last):\n  File a\n"
          "KeyError: 'b'\n")
  assert without_traceback(text) == "flag --config=x: parse failed: KeyError: 'b'"
