"""Q1 on real text: byte-level transformers across four registers (issue 35).

Run one study (the studies of one size share a workdir and the models trained there; results.md
beside results.json holds every study run in it):
  python experiments/text.py --flagfile=experiments/flags/text_diversity_quick.flags
Time and expected results: at the top of each flagfile (experiments/flags/text_*.flags). The
text pack (genjax/data/text.py) is fetched by the set-up command, python -m genjax.data.fetch.

The defaults are the full protocol (every domain held out in turn: four single-domain models and
four mixes, 6,000 steps of 48 windows each), meant for an accelerator. `quick` is sized for a
CPU, and its models do not finish (see its flagfiles).
"""

from ml_collections import ConfigDict

# The fields that define every training from scratch and its evaluations: the studies of one
# size share a workdir (`registry`: its identity is these fields), so a model trained there for
# one study (the mix every study but continual pretrains) serves the others instead of training
# again. The rest (study, heldout, specialists, models, references, each study's own fields)
# only choose which trainings run and how they are read.
PRETRAIN_FIELDS = ("seed", "num_seeds", "seed_map", "domains", "split", "context", "num_layers",
                   "width", "num_heads", "positions", "num_steps", "batch_size", "learning_rate",
                   "warmup_steps", "grad_clip", "num_evals", "eval_windows")


def get_config(variant: str | None = None) -> ConfigDict:
  config = ConfigDict()
  config.study = "diversity"  # diversity | architecture (finetune, dapt, continual: own files)
  config.seed = 0  # every random number (batches, evaluation windows, init) derives from this
  config.num_seeds = 3  # seeds trained side by side, each from its own keys
  config.parallel = "auto"  # auto | none | shard_map: the seed axis over the devices (genjax.seeds)
  # How the seeds run (genjax.seeds): vmap (one program with a seed axis) | sequential (the
  # one-seed step called per seed, one device) | auto: sequential on a CPU, where XLA runs it
  # faster (bench/bench_lm_step.py), else vmap.
  config.seed_map = "auto"
  config.num_devices = 0  # devices to shard the seeds over (0: as many as divide num_seeds)
  # ---- domains (genjax.data.text: split by document, bytes, vocabulary 256) ----
  config.domains = ("shakespeare", "bible", "licences", "news")  # the registers trained on
  # The split protocol (genjax.data.text_splits.SPLIT_PROTOCOL, the one the code makes): part of a
  # run's identity, so a workdir made on other splits is never read as one made on these.
  config.split = "documents-v2"
  # Domains held out in turn: each is judged after pretraining on the others (the architecture
  # study holds out the first only).
  config.heldout = ("shakespeare", "bible", "licences", "news")
  # Diversity study: the single domains pretrained on, each alone ("one other domain"); every
  # held-out domain is compared with each of these that is not itself. Empty: every domain.
  config.specialists = ()
  config.context = 64  # bytes a model reads; it predicts bytes 1..context of each window
  # ---- models (genjax.lm.model: the causal transformer both Q1 studies train, here on bytes) ----
  config.model = "transformer"  # the model of the diversity study
  # The models the architecture study compares (one training each, on the same mix).
  config.architecture_models = ("transformer", "transformer_1layer", "bag_mlp")
  config.num_layers = 2  # transformer layers ("transformer_1layer" has one)
  config.width = 64  # model width d (the bag MLP's hidden layers are 4 d)
  config.num_heads = 2  # attention heads
  config.positions = "learned"  # learned | rotary
  # ---- training (every model: equal bytes seen = num_steps x batch_size x (context + 1)) ----
  config.num_steps = 6000  # Adam steps per model
  config.batch_size = 48  # windows per step and seed; a mix of k domains takes batch_size / k each
  config.learning_rate = 3e-3  # peak Adam learning rate (linear warmup, cosine decay to 10%)
  config.warmup_steps = 200  # steps of linear warmup
  config.grad_clip = 1.0  # global gradient-norm clip
  # Evaluations along training, evenly spaced (num_steps must be a multiple): a real-text
  # comparison is judged only when settled, its verdict the same at every evaluation of the second
  # half, and the rules want 8 or more (genjax/claims/text_settled.py MIN_EVALUATIONS).
  # Evaluating reads fixed windows and no random key: training is the same at any number.
  config.num_evals = 8
  # ---- evaluation (per seed: its own windows of each domain's held-out documents) ----
  config.eval_windows = 256  # windows per domain, split and seed (context bytes scored each)
  config.eval_chunk = 256  # windows per evaluation call (memory, not results)
  # Kneser-Ney byte n-gram references fitted on training text, on whole test documents: tables'
  # descriptions (each model's floor, fitted on its own training split, is computed apart).
  config.ngram_orders = (2, 5, 7)
  # ---- logging, checkpoints, plots ----
  config.log_every = 200  # steps between metrics.jsonl records
  config.tensorboard = True  # also write logged scalars as TensorBoard events (workdir/tensorboard)
  config.checkpoint_every = 1000  # steps between checkpoints (the last step always saves)
  config.keep_checkpoints = 2  # checkpoints kept per training
  config.make_plots = True  # write the PNG figures

  if variant == "quick":  # one held-out domain, sized for a CPU
    config.heldout = ("bible",)
    config.specialists = ("shakespeare",)
    # Adam steps of every quick study: 1,000 before the LM step got faster (lm/attention.py's
    # backward, lm/step.py's flat Adam), plus the share of the text runs' time that saved.
    config.num_steps = 1050
    config.num_evals = 10  # 8 or more that divide num_steps
    # Short runs gain from a higher peak rate: their own held-out text scored fewer bits per
    # byte at 1e-2 than at 3e-3 (mix and Shakespeare alone).
    config.learning_rate = 1e-2
    config.batch_size = 24
    config.warmup_steps = 50
    config.eval_windows = 128
    config.eval_chunk = 128
    config.ngram_orders = (2, 5)
    config.log_every = 50
    config.checkpoint_every = 300
  elif variant not in (None, ""):
    raise ValueError(f"unknown variant {variant!r} of the text config; use 'quick' or none")
  return config
