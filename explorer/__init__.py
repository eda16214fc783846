"""Latent Explorer: the Qt application."""
