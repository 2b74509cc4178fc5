"""Datasets paraser makes itself (synthetic demo corpora)."""
