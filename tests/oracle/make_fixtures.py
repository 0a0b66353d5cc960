#!/usr/bin/python3
"""make_fixtures.py — reference figures from scikit-learn for mlwb's KNN tests.

Run from the top of the tree with Debian's Python (python3-sklearn):

    /usr/bin/python3 tests/oracle/make_fixtures.py

For iris, wine, breast_cancer and digits, read from samples/data/NAME.csv exactly as
shipped (raw features parsed as float64, the label in the last column), with
KNeighborsClassifier(n_neighbors=k) as configured by default — Euclidean distance,
uniform weights, no scaling, algorithm='auto' (kd-tree for iris and wine, brute force
for breast_cancer and digits) — it writes, next to this script:

  loo_curve.csv   dataset,k,rows,correct: the leave-one-out accuracy (correct / rows)
                  for every k = 1..30, from cross_val_predict(..., cv=LeaveOneOut()):
                  one fit on the other rows per held-out row, sklearn's own search.
  loo_wrong.csv   dataset,row,label,preds: the rows (0-based data rows) that some k
                  misclassifies, with sklearn's prediction for k = 1..30 as 30
                  characters (class index in base 36).  Every row not listed is
                  predicted correctly for every k.
  holdout.csv     dataset,row,label,k5,k15: every 7th row (0, 7, 14, ...) held out, the
                  model fitted on the other rows; sklearn's predictions for k = 5, 15.

Labels are class indices numbered as mlwb numbers them: numerically when every label is
an integer, otherwise in byte order (the order of sklearn's classes_ as well, so a vote
tie, which both break towards the lower class, goes the same way in both).

The fixtures are committed; rerun this only to regenerate them (about 3 minutes on two
cores: leave-one-out refits the model once per row and per k).
"""
import csv
import os
import sys

import numpy as np
import sklearn
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DATASETS = ["iris", "wine", "breast_cancer", "digits"]
KMAX = 30
HOLDOUT_EVERY = 7
HOLDOUT_K = (5, 15)
DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def load(name):
    with open(os.path.join(TOP, "samples", "data", name + ".csv"), newline="") as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in rows], dtype=np.float64)
    texts = [r[-1] for r in rows]
    try:
        classes = sorted(set(texts), key=int)
    except ValueError:
        classes = sorted(set(texts), key=lambda s: s.encode())
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[t] for t in texts], dtype=np.int64)
    return x, y


def main():
    header = "# written by tests/oracle/make_fixtures.py with scikit-learn %s, numpy %s\n" % (
        sklearn.__version__, np.__version__)
    curve = open(os.path.join(HERE, "loo_curve.csv"), "w", newline="")
    wrong = open(os.path.join(HERE, "loo_wrong.csv"), "w", newline="")
    hold = open(os.path.join(HERE, "holdout.csv"), "w", newline="")
    for f, cols in ((curve, "dataset,k,rows,correct"), (wrong, "dataset,row,label,preds"),
                    (hold, "dataset,row,label,k5,k15")):
        f.write(header + cols + "\n")
    for name in DATASETS:
        x, y = load(name)
        n = len(y)
        preds = np.empty((n, KMAX), dtype=np.int64)
        for k in range(1, KMAX + 1):
            clf = KNeighborsClassifier(n_neighbors=k)
            preds[:, k - 1] = cross_val_predict(clf, x, y, cv=LeaveOneOut(), n_jobs=2)
            curve.write("%s,%d,%d,%d\n" % (name, k, n, int((preds[:, k - 1] == y).sum())))
        for i in range(n):
            if (preds[i] != y[i]).any():
                wrong.write("%s,%d,%d,%s\n" % (name, i, y[i], "".join(DIGITS36[p] for p in preds[i])))
        test = np.arange(n) % HOLDOUT_EVERY == 0
        out = []
        for k in HOLDOUT_K:
            clf = KNeighborsClassifier(n_neighbors=k).fit(x[~test], y[~test])
            out.append(clf.predict(x[test]))
        for j, i in enumerate(np.flatnonzero(test)):
            hold.write("%s,%d,%d,%d,%d\n" % (name, i, y[i], out[0][j], out[1][j]))
        print("%s: %d rows, LOO accuracy k=1..%d: %s" % (
            name, n, KMAX, " ".join("%.4f" % (preds[:, k] == y).mean() for k in range(KMAX))),
            file=sys.stderr)
    for f in (curve, wrong, hold):
        f.close()


if __name__ == "__main__":
    main()
