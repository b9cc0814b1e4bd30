"""Domain generalization of small transformer LMs on in-context Markov-chain domains (issue 4).

Run one study (results accumulate in the workdir's results.md):
  python experiments/domain.py --flagfile=experiments/flags/domain_diversity_quick.flags
Time and expected results: at the top of each flagfile (experiments/flags/domain_*.flags) and in
BUILD_NOTES.md. All quick variants share one workdir, so the M = infinity pretraining that several
studies start from is trained once (its checkpoint name is a hash of the fields that define it).
"""

from ml_collections import ConfigDict

# The fields that define a pretraining. Studies whose values of these agree share one pretrained
# model: genjax/domain/fit.py names each training by a hash of them, and genjax/identity.py makes
# them the identity of a workdir the studies share. Here because both import it without a cycle.
PRETRAIN_FIELDS = ("seed", "num_seeds", "vocab", "alpha", "first_token", "seq_len",
                   "num_layers", "width", "num_heads", "positions", "pretrain_steps",
                   "batch_size", "learning_rate", "warmup_steps", "grad_clip", "pretrain_evals",
                   "eval_sequences")


def get_config(variant: str | None = None) -> ConfigDict:
  config = ConfigDict()
  config.study = "diversity"  # diversity | architecture | finetune | fewshot | continual
  config.seed = 0  # every random number (chains, data, init) derives from this
  config.num_seeds = 3  # seeds trained side by side in one compiled program (vmap)
  config.parallel = "auto"  # auto | none | shard_map: the seed axis over the devices (genjax.seeds)
  config.num_devices = 0  # devices to shard the seeds over (0: as many as divide num_seeds)
  # ---- domains ----
  config.vocab = 8  # tokens per domain
  config.alpha = 0.3  # Dirichlet concentration of each transition row
  config.seq_len = 64  # tokens per sequence (L); the model predicts positions 1..L-1
  # First token of a sequence: uniform (our runs) or from the chain's stationary distribution
  # (the convention of the independent references, e.g. Bayes 1.6286 at L = 64).
  config.first_token = "uniform"
  config.unigram_prior = 0.3  # add-this prior of the in-context unigram reference
  config.pool_sizes = (1, 4, 16, 64, 256, 1024, 0)  # diversity study: M; 0 means a fresh chain
  # ---- models ----
  config.model = "transformer"  # the model of every study but the architecture study
  # The models the architecture study compares (one pretraining each).
  config.architecture_models = ("transformer", "transformer_1layer", "bag_mlp")
  config.num_layers = 2  # transformer layers
  config.width = 64  # model width d (the bag MLP's hidden layers are 4 d)
  config.num_heads = 2  # attention heads
  config.positions = "learned"  # learned | rotary
  # ---- pretraining ----
  config.pretrain_steps = 4000  # Adam steps per pretrained model
  config.batch_size = 32  # sequences per step and seed
  config.learning_rate = 1e-3  # peak Adam learning rate (linear warmup, cosine decay to 10%)
  config.warmup_steps = 200  # steps of linear warmup
  config.grad_clip = 1.0  # global gradient-norm clip
  config.pretrain_evals = 4  # evaluations during pretraining (checkpoint model selection)
  # ---- evaluation ----
  config.eval_sequences = 1024  # sequences per evaluation set and seed
  config.eval_chunk = 256  # sequences per evaluation call (memory, not results)
  # ---- finetuning on a target domain A (a fresh chain per seed) ----
  # Finetuning steps T at which target and held-out losses are read (one finetuning, read along).
  config.finetune_step_grid = (0, 10, 30, 100, 300, 600)
  config.finetune_lrs = (1e-3, 1e-4)  # one full-finetuning run per Adam learning rate
  config.lora_ranks = (2,)  # one LoRA run per rank (attention and MLP kernels)
  config.lora_lr = 1e-3  # Adam learning rate of the LoRA factors
  config.replay_fractions = (0.1, 0.5)  # full finetuning with this fraction of pretraining data
  config.replay_lr = 1e-3  # Adam learning rate of the replay runs
  # ---- few-shot and domain-adaptive pretraining (DAPT) ----
  config.num_genres = 4  # genre base matrices (target genre 0, unrelated genre 1)
  config.genre_alpha = 0.3  # Dirichlet concentration of a genre base matrix's rows
  config.genre_concentration = 8.0  # c: a genre's chains have rows ~ Dirichlet(c * B_g)
  config.fewshot_sizes = (1, 4, 16, 64)  # numbers of target sequences to finetune on
  config.fewshot_steps = 100  # finetuning steps on those sequences
  config.fewshot_lr = 3e-4  # their Adam learning rate
  config.dapt_steps = 1000  # continued pretraining on a genre before finetuning
  config.dapt_lr = 3e-4  # its Adam learning rate
  config.dapt_shots = 16  # target sequences finetuned on after (no) DAPT
  # ---- continual learning over genres ----
  config.continual_stages = 3  # genres trained on one after another, after the pretraining
  config.continual_steps = 500  # steps per stage
  config.continual_lr = 1e-3  # Adam learning rate of every stage
  config.continual_replay = 0.25  # fraction of each batch replayed from earlier families
  # ---- logging, checkpoints, plots ----
  config.log_every = 200  # steps between metrics.jsonl records
  config.tensorboard = True  # also write logged scalars as TensorBoard events (workdir/tensorboard)
  config.checkpoint_every = 1000  # steps between checkpoints (the last step always saves)
  config.keep_checkpoints = 2  # checkpoints kept per training
  config.make_plots = True  # write the PNG figures

  if variant == "quick":  # the shape of every result in CPU minutes (smaller model, shorter L)
    config.seq_len = 32
    config.width = 32
    config.batch_size = 32
    # 1,200 steps at 2e-3 stopped the 2-layer model mid-way through learning to use its context
    # (training loss 1.947 -> 1.878 over the last third); twice the steps at a higher peak let it
    # finish, and the cosine decay makes the last third a plateau the rules can check.
    config.learning_rate = 3e-3
    config.pretrain_steps = 2400
    config.warmup_steps = 100
    config.pretrain_evals = 3
    config.pool_sizes = (4, 0)  # the rule compares the extremes; M = 64 would cost a pretraining
    config.eval_sequences = 256
    config.finetune_step_grid = (0, 30, 100, 300)
    config.replay_fractions = (0.5,)
    config.fewshot_sizes = (1, 16)
    config.fewshot_steps = 60
    config.dapt_steps = 200
    config.continual_stages = 2
    config.continual_steps = 150
    config.log_every = 100
  elif variant not in (None, ""):
    raise ValueError(f"unknown variant {variant!r} of the domain config; use 'quick' or none")
  return config
