"""Model selection: per seed, the params at the evaluation step with the lowest validation
reconstruction NLL (z = mean), kept beside the checkpoints so a resumed run keeps its choice.

Why this score: it is the one held-out number every model of the comparison shares (the AE has
no ELBO, and the β-ELBO means something else at each β), and it is the curve the Q3 guard
already reads. Fixed before the run and applied to every model alike (DomainBed's
training-domain validation). The test split is never read while selecting.

The selection is written atomically (`os.replace`) before the evaluation that made it is
recorded, so a run killed between the two redoes that evaluation, finds the same numbers
(training resumes bitwise) and leaves the selection as it was (a tie keeps the earlier step).
"""

import os

import jax
import numpy as np

SELECTED_DIR = "selected"  # in the workdir: one .npz per model


class Selection:
  """The best validation step, score and params of each seed of one model."""

  def __init__(self, workdir: str, name: str, template_params_S, write: bool = True):
    self.path = os.path.join(workdir, SELECTED_DIR, f"{name}.npz")
    self.treedef = jax.tree.structure(template_params_S)
    self.write = write  # only the main process writes (multi-host)
    self.step_S = self.score_S = self.leaves = None
    if os.path.exists(self.path):
      with np.load(self.path) as saved:
        self.step_S, self.score_S = saved["step"], saved["score"]
        self.leaves = [saved[f"leaf_{i}"] for i in range(self.treedef.num_leaves)]

  def update(self, step: int, score_S, params_S) -> None:
    """Keeps each seed's params where its score is lower than every earlier evaluation's."""
    score_S = np.asarray(score_S, np.float64)
    leaves = [np.asarray(x) for x in jax.tree.leaves(params_S)]
    if self.score_S is None:
      better_S = np.ones(score_S.shape, bool)
      self.step_S = np.zeros(score_S.shape, np.int64)
      self.score_S, self.leaves = score_S, leaves
    else:
      better_S = score_S < self.score_S
    if not better_S.any():
      return
    self.step_S = np.where(better_S, step, self.step_S)
    self.score_S = np.where(better_S, score_S, self.score_S)
    self.leaves = [np.where(better_S.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)
                   for new, old in zip(leaves, self.leaves, strict=True)]
    if self.write:
      os.makedirs(os.path.dirname(self.path), exist_ok=True)
      tmp = self.path + ".tmp.npz"
      np.savez(tmp, step=self.step_S, score=self.score_S,
               **{f"leaf_{i}": leaf for i, leaf in enumerate(self.leaves)})
      os.replace(tmp, self.path)

  def params_S(self):
    if self.leaves is None:
      raise ValueError(f"no evaluation selected params for {self.path}")
    return jax.tree.unflatten(self.treedef, self.leaves)
