"""GAN mode coverage (seed claim Q2): mixtures of Gaussians and stacked digits, seeds vmapped."""
