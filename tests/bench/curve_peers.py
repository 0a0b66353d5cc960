#!/usr/bin/python3
"""curve_peers.py — the k-curve by scikit-learn, for tests/bench/curve_run.sh.

    /usr/bin/python3 tests/bench/curve_peers.py DATA MLWB_CURVE KMAX RUNS GRID

DATA is curve_bench's file (the blobs, their labels, and mlwb's stratified folds, so that
every contender scores the same folds); MLWB_CURVE is mlwb's curve ("k mean sd" lines).
The features are float32 in the file and given to sklearn as they are: with float32
input both peers run faster here than with float64 (GridSearchCV about twice as fast),
so the peers get their best case; their distances are then float32 values of the
‖x‖² - 2x·y + ‖y‖² form, so a near tie may order differently from mlwb's exact ones.

Two peers, each timed around the work alone (not the file read or the import):
  numpy  one search per held-out row: per fold, NearestNeighbors(n_neighbors=KMAX)
         .fit(train).kneighbors(test) once, then the votes for every k at once with
         numpy (one-hot labels, cumulative sum along the neighbours, argmax: ties to
         the lower class, as sklearn and mlwb).  Best of RUNS.
  grid   GridSearchCV(KNeighborsClassifier(), {"n_neighbors": 1..KMAX},
         cv=PredefinedSplit(folds), n_jobs=2): a search per k.  Once, when GRID is 1.
Prints, per peer: "NAME SECONDS MAXDIFF SAMEK BESTK", MAXDIFF being the largest
|mean accuracy - mlwb's| over k and SAMEK the number of k where they agree (within 1e-12).
"""
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors


def load(path):
    with open(path, "rb") as f:
        if f.read(8) != b"MLWBCRV1":
            sys.exit("curve_peers: %s is not a curve_bench data file" % path)
        rows, dims, classes = np.fromfile(f, dtype=np.uint64, count=3).astype(int)
        x = np.fromfile(f, dtype=np.float32, count=rows * dims).reshape(rows, dims)
        y = np.fromfile(f, dtype=np.int32, count=rows)
        fold = np.fromfile(f, dtype=np.int32, count=rows)
    return x, y.astype(np.int64), fold, classes


def numpy_curve(x, y, fold, kmax, classes):
    nf = fold.max() + 1
    acc = np.empty((nf, kmax))
    eye = np.eye(classes, dtype=np.int32)
    for f in range(nf):
        tr, te = fold != f, fold == f
        idx = NearestNeighbors(n_neighbors=kmax).fit(x[tr]).kneighbors(x[te], return_distance=False)
        votes = np.cumsum(eye[y[tr][idx]], axis=1)       # (test rows, k, classes)
        pred = votes.argmax(axis=2)                      # the first maximum: lower class
        acc[f] = (pred == y[te][:, None]).mean(axis=0)
    return acc.mean(axis=0)


def grid_curve(x, y, fold, kmax):
    g = GridSearchCV(KNeighborsClassifier(), {"n_neighbors": list(range(1, kmax + 1))},
                     cv=PredefinedSplit(fold), n_jobs=2, scoring="accuracy", refit=False)
    g.fit(x, y)
    return np.asarray(g.cv_results_["mean_test_score"])


def report(name, seconds, curve, mlwb):
    diff = np.abs(curve - mlwb)
    print("%s %.3f %.3g %d %d" % (name, seconds, diff.max(), int((diff <= 1e-12).sum()),
                                  int(np.argmax(curve)) + 1))
    sys.stdout.flush()


def main():
    data, mlwb_path, kmax, runs, grid = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), sys.argv[5] == "1"
    x, y, fold, classes = load(data)
    mlwb = np.loadtxt(mlwb_path)[:, 1]
    best, curve = 1e30, None
    for _ in range(runs):
        t = time.perf_counter()
        curve = numpy_curve(x, y, fold, kmax, classes)
        best = min(best, time.perf_counter() - t)
    report("numpy", best, curve, mlwb)
    if grid:
        t = time.perf_counter()
        curve = grid_curve(x, y, fold, kmax)
        report("grid", time.perf_counter() - t, curve, mlwb)


if __name__ == "__main__":
    main()
