"""Q1 on real text, DAPT study: the text config (genjax/configs/text.py) plus the fields of
domain-adaptive pretraining (issue 35). Its own file, as the finetune study's, so that the other
studies' configs, and so their workdirs' identities, stay as they were.

  python experiments/text.py --flagfile=experiments/flags/text_dapt_quick.flags

The model pretrained on the mix of the domains other than heldout[0] (the target) goes on
pretraining at a constant rate on a neighbouring register ("related"), on the target's own
register (its training documents past the target set: "same_register", more in-domain data) or
on an unrelated domain, or not at all; each of the four is then finetuned on the narrow target
set. Time and expected results: at the top of each flagfile.
"""

from ml_collections import ConfigDict

from genjax.configs import text


def get_config(variant: str | None = None) -> ConfigDict:
  config = text.get_config(variant)
  config.study = "dapt"  # the study these fields belong to
  # The narrow target set, as in the finetune study: the first bytes of heldout[0]'s training
  # documents. DAPT on the target's register reads the rest of its training documents, never
  # these bytes, so the adaptive corpus and the task data stay apart (Gururangan et al. 2020).
  config.target_bytes = 40_000
  # The unrelated domain of the control: adaptive pretraining for as many steps on text of
  # another register, so related and unrelated DAPT cost the same (the "none" start costs less).
  # Licences: the register furthest from Shakespeare and the Bible (legal boilerplate).
  config.dapt_unrelated = "licences"
  # The neighbouring register of related DAPT (Gururangan et al. adapt on a domain, then judge a
  # task inside it): text near the target's, not the target's own distribution, so DAPT can
  # fail. Shakespeare's Early Modern English is the nearest of the pack to the King James Bible
  # (both about 1600); it is also a third of the pretraining mix, so related DAPT shifts the
  # model toward it. DAPT on the target's own further documents is the "same_register" start.
  config.dapt_neighbour = "shakespeare"
  config.dapt_steps = 400  # Adam steps of adaptive pretraining (constant rate, every weight)
  # DAPT's constant Adam rate: the quick pretraining's final rate (its cosine ends at a tenth
  # of 1e-2), so adaptive pretraining continues where pretraining stopped.
  config.dapt_lr = 1e-3
  # Finetuning of each start (none, related, same_register, unrelated) on the target set: a
  # constant Adam rate
  # and the steps T at which it is evaluated; each start is judged at its own T* (the lowest
  # target validation bits, genjax/claims/text_finetune.py `selected`), on test documents. 1e-4
  # is the finetune study's gentlest rate, so the target is still improving at the last T.
  config.finetune_lr = 1e-4
  config.finetune_step_grid = (25, 50, 100, 200, 400)
  return config
