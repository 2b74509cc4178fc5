"""Features: openSMILE functionals (and other extractors) cached per corpus."""

# Importing the extractors registers their feature-set names with the registry.
from paraser.features import ssl as _ssl  # noqa: F401
from paraser.features.augment import (
    AugmentationReport,
    AugmentedFeatures,
    extract_augmented,
    load_augmented,
)
from paraser.features.augment_recipes import (
    AugmentationError,
    AugmentRecipe,
    copy_seed,
    parse_recipe,
)
from paraser.features.extract import (
    DEFAULT_CACHE_DIR,
    ExtractionError,
    ExtractionReport,
    FeatureMatrix,
    extract_features,
    load_features,
)
from paraser.features.opensmile_sets import (
    BUILTIN_SETS,
    PACKAGED_DIMENSIONS,
    OpenSmileFeatureSet,
)
from paraser.features.registry import (
    FeatureSetError,
    FeatureSetSpec,
    available_feature_sets,
    resolve_feature_set,
)
from paraser.features.store import CacheError, FeatureStore

__all__ = [
    "BUILTIN_SETS",
    "PACKAGED_DIMENSIONS",
    "DEFAULT_CACHE_DIR",
    "AugmentRecipe",
    "AugmentationError",
    "AugmentationReport",
    "AugmentedFeatures",
    "CacheError",
    "ExtractionError",
    "ExtractionReport",
    "FeatureMatrix",
    "FeatureSetError",
    "FeatureSetSpec",
    "FeatureStore",
    "OpenSmileFeatureSet",
    "available_feature_sets",
    "copy_seed",
    "extract_augmented",
    "extract_features",
    "load_augmented",
    "load_features",
    "parse_recipe",
    "resolve_feature_set",
]
