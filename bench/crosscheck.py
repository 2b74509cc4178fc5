"""Cross-check a paraser eGeMAPS + SVM transfer matrix with plain opensmile + scikit-learn.

A few lines a researcher would write by hand: ``Smile.process_files``, a
``StandardScaler -> SVC`` pipeline, stratified 5-fold within, train-all/test-all
across.  Prints both matrices and the largest difference.

    python bench/crosscheck.py --manifests corpora_manifests --results reports/real \
        emodb emovo turev urdu
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import opensmile
import pandas as pd
from sklearn.metrics import recall_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from paraser.corpora import load_manifest


def plain_features(paths: list[str]) -> np.ndarray:
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02)
    return smile.process_files(paths).to_numpy(dtype=np.float32)


def model() -> object:
    return make_pipeline(StandardScaler(), SVC(kernel="rbf", class_weight="balanced"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpora", nargs="+")
    parser.add_argument("--manifests", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()

    data = {}
    for name in args.corpora:
        frame = load_manifest(args.manifests / f"{name}.csv", name=name).frame
        data[name] = (plain_features(list(frame["path"])), frame["label"].to_numpy(str))
        print(f"{name}: {len(frame)} utterances extracted with plain opensmile")

    plain = pd.DataFrame(index=args.corpora, columns=args.corpora, dtype=float)
    for source, (x_s, y_s) in data.items():
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(x_s, y_s)
        scores = [
            recall_score(y_s[te], model().fit(x_s[tr], y_s[tr]).predict(x_s[te]), average="macro")
            for tr, te in folds
        ]
        plain.loc[source, source] = np.mean(scores)
        fitted = model().fit(x_s, y_s)
        for target, (x_t, y_t) in data.items():
            if target != source:
                plain.loc[source, target] = recall_score(y_t, fitted.predict(x_t), average="macro")

    results = pd.read_csv(args.results / "results.csv")
    results = results[(results.feature_set == "egemaps") & (results.classifier == "svm")]
    ours = results.groupby(["source", "target"]).uar.mean().unstack()
    ours = ours.loc[args.corpora, args.corpora]
    print("\nplain opensmile + scikit-learn:\n", plain.round(3).to_string())
    print("\nparaser:\n", ours.round(3).to_string())
    print(f"\nlargest absolute difference: {np.abs(plain.to_numpy() - ours.to_numpy()).max():.2e}")


if __name__ == "__main__":
    main()
