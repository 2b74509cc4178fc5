"""The application layer: runs that tie corpora, features, experiments and reports together.

Above the stages (``corpora``, ``features``, ``experiments``, ``reports``) and below the CLI:
a transfer run (:mod:`.transfer`), a domain-shift run (:mod:`.shift`), a feature-importance
run (:mod:`.importance`), a reproduction of a published protocol (:mod:`.reproduce`) and
saved models (:mod:`.models`). Feature-set names are resolved to specs once, here.
"""
