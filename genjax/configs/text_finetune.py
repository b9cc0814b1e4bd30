"""Q1 on real text, finetune study: the text config (genjax/configs/text.py) plus the fields of
finetuning (issue 35). Its own file so that the other studies' configs, and so their workdirs'
identities, stay as they were.

  python experiments/text.py --flagfile=experiments/flags/text_finetune_quick.flags

The model pretrained on the mix of the domains other than heldout[0] is finetuned on a narrow
target set of heldout[0] (tens of KB) for a grid of steps, full and LoRA; time and expected
results are at the top of each flagfile (experiments/flags/text_finetune*.flags).
"""

from ml_collections import ConfigDict

from genjax.configs import text


def get_config(variant: str | None = None) -> ConfigDict:
  config = text.get_config(variant)
  config.study = "finetune"  # the study these fields belong to
  # The narrow target set: the first bytes of heldout[0]'s training documents (tens of KB, as
  # issue 35 asks). 40 KB is about 600 disjoint windows of 65 bytes, so a run of 800 steps of 24
  # windows reads each byte about 30 times: long enough to overfit it.
  config.target_bytes = 40_000
  # Steps T at which every finetuning run is evaluated (T = 0, the pretrained model, is added):
  # from a few steps, where a gain on the target shows, to 800, far past it.
  config.finetune_step_grid = (10, 25, 50, 100, 200, 400, 800)
  # Constant Adam rates of full finetuning, the first the one the over-finetuning rule reads.
  # From the quick pretraining's final rate (1e-3: its cosine ends at a tenth of 1e-2) down: at
  # 1e-3 and above the quick model's target got worse from the first evaluation on, so the rule
  # reads the gentlest.
  config.finetune_lrs = (1e-4, 3e-4, 1e-3)
  config.lora_ranks = (4,)  # LoRA ranks (genjax/lm/lora.py: attention and MLP kernels)
  config.lora_lr = 1e-3  # LoRA's constant Adam rate (adapters start at zero: above full's)
  return config
