"""Latent Explorer's model layer: pure PyTorch and NumPy, never Qt."""
