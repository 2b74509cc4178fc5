"""Datasets paraser makes itself (synthetic demo corpora)."""

from paraser.datasets.synthetic import EMOTIONS, SyntheticSpec, generate_corpora

__all__ = ["EMOTIONS", "SyntheticSpec", "generate_corpora"]
