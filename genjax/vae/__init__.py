"""VAE vs standard autoencoder (seed claim Q3)."""
