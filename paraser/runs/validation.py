"""Every name a run is given, checked before any extraction starts.

A misspelt classifier or protocol used to fail only after the features were extracted
(seconds to hours in); here each name is checked against what exists, and the error
names the closest valid one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from paraser.corpora import LabelMap, LoadedManifest
from paraser.experiments.adaptation import ADAPTATIONS
from paraser.experiments.classifiers import CLASSIFIERS
from paraser.experiments.normalisation import NORMALISATIONS
from paraser.experiments.protocols import PROTOCOL_NAMES, PROTOCOL_SPELLINGS
from paraser.experiments.transfer import STRATIFIED_REFERENCE


def closest(name: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the valid name nearest ``name``, or ``''`` when none is near."""
    match = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def check_names(kind: str, option: str, names: Sequence[str], valid: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the first of ``names`` not in ``valid``, with the closest."""
    for name in names:
        if name not in valid:
            raise ValueError(
                f"unknown {kind} '{name}' ({option}){closest(name, valid)}; "
                f"valid: {', '.join(valid)}"
            )


def check_classifiers(classifiers: Sequence[object]) -> None:
    """Registered classifier names (estimator objects pass), at least one."""
    names = [c for c in classifiers if isinstance(c, str)]
    check_names("classifier", "--classifiers", names, list(CLASSIFIERS))
    _check_some("--classifiers", classifiers)


def check_protocol(protocol: str) -> None:
    # Every spelling make_protocol accepts stays accepted; the suggestions are the documented.
    if protocol not in PROTOCOL_SPELLINGS:
        check_names("protocol", "--protocol", [protocol], PROTOCOL_NAMES)


def check_normalisations(normalisations: Sequence[str]) -> None:
    check_names("normalisation", "--normalisation", normalisations, NORMALISATIONS)
    _check_some("--normalisation", normalisations)


def check_adaptations(adaptations: Sequence[str]) -> None:
    check_names("adaptation method", "--adapt", adaptations, ADAPTATIONS)
    _check_some("--adapt", adaptations)


def check_stratified_reference(choice: str) -> None:
    check_names("stratified reference", "--stratified-reference", [choice], STRATIFIED_REFERENCE)


def check_seeds(seeds: Sequence[object]) -> None:
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int)]
    if bad or not seeds:
        raise ValueError(f"--seeds must be whole numbers, e.g. 0,1,2 (got {list(seeds)})")


def _check_some(option: str, values: Sequence[object]) -> None:
    if not values:
        raise ValueError(f"{option} names nothing: give at least one")


def validate_run_options(
    *,
    classifiers: Sequence[object],
    protocol: str,
    normalisations: Sequence[str],
    adaptations: Sequence[str],
    stratified_reference: str,
    seeds: Sequence[object],
) -> None:
    """The names of a transfer run that need no data: classifiers (registered names; estimator
    objects pass), protocol, normalisations, adaptations, stratified reference, seeds."""
    check_classifiers(classifiers)
    check_protocol(protocol)
    check_normalisations(normalisations)
    check_adaptations(adaptations)
    check_stratified_reference(stratified_reference)
    check_seeds(seeds)


def check_classes_present(label_map: LabelMap, manifests: Sequence[LoadedManifest]) -> None:
    """Refuse a class asked for (``--classes``) that no corpus has: its recall would be
    undefined everywhere and UAR would silently average over one class fewer than asked.

    The default space is left to the per-corpus checks, which name the corpus and the fix
    (one class only, a class smaller than the folds).
    """
    if not manifests or type(label_map) is not LabelMap or label_map == LabelMap():
        return  # feature-table corpora only, a task (levels), or the default space
    present = set().union(*(set(m.frame["label"].astype(str)) for m in manifests))
    absent = [c for c in label_map.classes if c not in present]
    if absent:
        names = ", ".join(m.name for m in manifests)
        raise ValueError(
            f"class(es) {', '.join(absent)} of --classes occur in no corpus ({names}); "
            f"classes found: {', '.join(sorted(present)) or 'none'}. Drop them from --classes"
        )
