"""The one list of experiments and claim questions: what the report, the grid runner and the
flagfile tests read. Adding an experiment is adding one entry here (see genjax/README.md).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Experiment:
  name: str  # the --runs / --experiment name and every flagfile's prefix (<name>_*.flags)
  script: str  # entry point, relative to the repository root (also genjax/configs/<name>.py)
  train: str  # module with validate(config) and the experiment's train_and_evaluate
  claims: str  # module whose CLAIMS judge the run's results.json
  timed: bool = False  # its results are wall-clock times: the report runs nothing beside it


EXPERIMENTS = {e.name: e for e in (
    Experiment("vae", "experiments/vae.py", "genjax.vae.train", "genjax.claims.vae"),
    Experiment("gan", "experiments/gan.py", "genjax.gan.train", "genjax.claims.gan"),
    Experiment("attention", "experiments/attention.py", "genjax.attention.experiment",
               "genjax.claims.attention", timed=True),
    Experiment("domain", "experiments/domain.py", "genjax.domain.train", "genjax.claims.domain"),
)}

# The seed texts' questions, in the order REPORT.md shows them.
QUESTIONS = {
    "Q1": "Domain generalization of language models",
    "Q2": "Mode collapse in GANs",
    "Q3": "VAEs vs standard autoencoders",
    "Q4": "The cost of self-attention",
}
