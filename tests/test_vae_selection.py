"""Model selection: each seed's params at its lowest validation score, kept across restarts."""

import numpy as np

from genjax.vae.selection import Selection


def _params(value_S):
  value_S = np.asarray(value_S, np.float32)
  return {"w": value_S[:, None, None] * np.ones((1, 2, 3), np.float32),
          "b": value_S[:, None] * np.ones((1, 3), np.float32)}


def test_each_seed_keeps_its_own_best_step_and_params(tmp_path):
  selection = Selection(str(tmp_path), "ae", _params([0, 0]))
  selection.update(500, [9.0, 8.0], _params([1, 1]))
  selection.update(1000, [7.0, 8.5], _params([2, 2]))  # seed 0 improves, seed 1 does not
  selection.update(1500, [7.0, 9.0], _params([3, 3]))  # a tie keeps the earlier step
  assert selection.step_S.tolist() == [1000, 500]
  assert selection.score_S.tolist() == [7.0, 8.0]
  params = selection.params_S()
  np.testing.assert_array_equal(params["w"][:, 0, 0], [2, 1])
  np.testing.assert_array_equal(params["b"][:, 0], [2, 1])


def test_a_restarted_run_reads_the_selection_back(tmp_path):
  first = Selection(str(tmp_path), "vae_beta1", _params([0, 0]))
  first.update(500, [9.0, 8.0], _params([1, 4]))
  again = Selection(str(tmp_path), "vae_beta1", _params([0, 0]))  # a new process
  assert again.step_S.tolist() == [500, 500]
  np.testing.assert_array_equal(again.params_S()["w"][:, 0, 0], [1, 4])
  again.update(1000, [8.5, 8.5], _params([5, 5]))
  assert again.step_S.tolist() == [1000, 500]
  assert not list(tmp_path.glob("selected/*.tmp*"))  # written through a rename, nothing left


def test_only_the_writing_process_writes(tmp_path):
  reader = Selection(str(tmp_path), "ae", _params([0]), write=False)
  reader.update(500, [1.0], _params([1]))
  assert reader.step_S.tolist() == [500] and not (tmp_path / "selected").exists()
