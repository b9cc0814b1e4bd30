"""Q1 on real text, continual study: the text config (genjax/configs/text.py) plus the fields of
continual training over domains in sequence (issue 35). Its own file, as the finetune study's, so
that the other studies' configs, and so their workdirs' identities, stay as they were.

  python experiments/text.py --flagfile=experiments/flags/text_continual_quick.flags

A model pretrained on the domains not among config.continual_stages trains on each stage's
domain in turn, without replay and with a fraction of every batch replayed from the domains it
learned before (Ibrahim et al. 2024); time and expected results: at the top of each flagfile.
"""

from ml_collections import ConfigDict

from genjax.configs import text


def get_config(variant: str | None = None) -> ConfigDict:
  config = text.get_config(variant)
  config.study = "continual"  # the study these fields belong to
  # The domains trained on one after another after pretraining on the rest of config.domains
  # (here Shakespeare and the licences): the Bible, then the news, two registers the pretrained
  # model has never read.
  config.continual_stages = ("bible", "news")
  config.continual_steps = 400  # Adam steps per stage (constant rate, every weight)
  # Every stage's constant Adam rate: the quick pretraining's final rate (its cosine ends at a
  # tenth of 1e-2), as in the DAPT study.
  config.continual_lr = 1e-3
  # The share of every batch drawn from the domains learned before the stage (equal parts of
  # each): Ibrahim et al. 2024 replay 5-50% of the earlier data; a quarter of 24 windows is 6,
  # which splits evenly over the two domains before the first stage and the three before the
  # second.
  config.continual_replay = 0.25
  return config
