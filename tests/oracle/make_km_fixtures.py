#!/usr/bin/python3
"""make_km_fixtures.py — reference figures from scikit-learn for mlwb's k-means and
cluster-score tests (tests/unit/test_km_oracle.c).

Run from the top of the tree with Debian's Python (python3-sklearn):

    /usr/bin/python3 tests/oracle/make_km_fixtures.py

For iris, wine, breast_cancer and digits, read from samples/data/NAME.csv as shipped
(raw features, no scaling, the label in the last column), it writes next to this script:

  km_inertia.csv  dataset,k,inertia,sklearn_inertia,n_iter: for k = 2..10,
                  KMeans(n_clusters=k, n_init=10, random_state=0, algorithm="lloyd")
                  (max_iter=300, tol=1e-4: the defaults, as mlwb's).  `inertia` is the sum
                  of squared distances of the rows to the centres of their clusters
                  (sklearn's labels_ and cluster_centers_), recomputed here in float64;
                  `sklearn_inertia` is sklearn's own inertia_ (they agree to rounding);
                  `n_iter` is the kept run's n_iter_.
  km_inertia_seeds.csv  dataset,k,seed,inertia: the same best-of-10 fit for
                  random_state = 0..29 (inertia recomputed in float64).  One best-of-10 is
                  one random draw: on breast_cancer at k = 8 it ranges over several per
                  cent from seed to seed, so the test compares the MEDIAN over these
                  seeds with the median of mlwb's best-of-10 over the same number of
                  its own seeds (30; 10 for digits, which is slow and stable).
  km_starts.csv   dataset,k,init,rows,inertia,n_iter: the 10 k-means++ starts of that same
                  fit, init = 0..9 in the order KMeans draws them from RandomState(0)
                  (sklearn.cluster.kmeans_plusplus on the centred rows, as KMeans.fit
                  does), `rows` the k data rows (0-based, space-separated) chosen as
                  centres, and KMeans(init=those rows, n_init=1)'s inertia_ and n_iter_.
                  The lowest of the 10 is the fit's inertia above (the script checks).
  km_labels.csv   dataset,row,label: the labels_ of that fit at k = 3, so that the C test
                  scores exactly the same labeling.
  km_scores.csv   dataset,labeling,clusters,silhouette,calinski_harabasz,davies_bouldin,
                  ari,nmi: for three fixed labelings of each data set —
                    truth  the class labels (class indices as mlwb numbers them);
                    km3    km_labels.csv;
                    mod4   row index % 4 (0-based data rows) —
                  silhouette_score, calinski_harabasz_score and davies_bouldin_score of the
                  features under that labeling, and adjusted_rand_score and
                  normalized_mutual_info_score of (truth, labeling) (1 for truth itself).

Features: every value is parsed as a double (float(text), as make_fixtures.py does) and
then rounded to float32, since mlwb stores features as float32 (csv.h: the nearest
float32, through the nearest double); sklearn then works on those values as float64.  So
both sides see the same numbers, and differences come from the algorithms alone.
(make_fixtures.py, for KNN, keeps the float64 parse: there only predictions are compared.)

Labels are class indices numbered as mlwb numbers them: numerically when every label is
an integer, otherwise in byte order.

Every figure is written with repr (shortest round-trip form of the double).  The
fixtures are committed; rerun this only to regenerate them (about 10 s).
"""
import csv
import os
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score,
                             davies_bouldin_score, normalized_mutual_info_score,
                             silhouette_score)

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DATASETS = ["iris", "wine", "breast_cancer", "digits"]
KS = range(2, 11)
N_INIT = 10
SEED = 0
SEEDS = range(30)
LABEL_K = 3
MOD = 4


def load(name):
    with open(os.path.join(TOP, "samples", "data", name + ".csv"), newline="") as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in rows], dtype=np.float64)
    x = x.astype(np.float32).astype(np.float64)  # what mlwb holds
    texts = [r[-1] for r in rows]
    try:
        classes = sorted(set(texts), key=int)
    except ValueError:
        classes = sorted(set(texts), key=lambda s: s.encode())
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[t] for t in texts], dtype=np.int64)
    return x, y


def inertia64(x, labels, centres):
    diff = x - centres[labels]
    return float(np.einsum("ij,ij->", diff, diff))


def starts(x, k):
    """The n_init k-means++ starts KMeans(k, n_init, random_state=SEED).fit(x) uses, as
    row indices: KMeans.fit centres x, then draws every start from one RandomState."""
    xc = x - x.mean(axis=0)
    sq = np.einsum("ij,ij->i", xc, xc)
    rs = np.random.RandomState(SEED)
    return [kmeans_plusplus(xc, k, x_squared_norms=sq, random_state=rs)[1]
            for _ in range(N_INIT)]


def main():
    header = "# written by tests/oracle/make_km_fixtures.py with scikit-learn %s, numpy %s\n" % (
        sklearn.__version__, np.__version__)
    fin = open(os.path.join(HERE, "km_inertia.csv"), "w", newline="")
    fst = open(os.path.join(HERE, "km_starts.csv"), "w", newline="")
    fse = open(os.path.join(HERE, "km_inertia_seeds.csv"), "w", newline="")
    flab = open(os.path.join(HERE, "km_labels.csv"), "w", newline="")
    fsc = open(os.path.join(HERE, "km_scores.csv"), "w", newline="")
    for f, cols in ((fin, "dataset,k,inertia,sklearn_inertia,n_iter"),
                    (fst, "dataset,k,init,rows,inertia,n_iter"),
                    (fse, "dataset,k,seed,inertia"),
                    (flab, "dataset,row,label"),
                    (fsc, "dataset,labeling,clusters,silhouette,calinski_harabasz,"
                          "davies_bouldin,ari,nmi")):
        f.write(header + cols + "\n")
    for name in DATASETS:
        x, y = load(name)
        n = len(y)
        km3 = None
        figures = []
        for k in KS:
            m = KMeans(n_clusters=k, n_init=N_INIT, random_state=SEED, algorithm="lloyd").fit(x)
            ours = inertia64(x, m.labels_, m.cluster_centers_)
            fin.write("%s,%d,%r,%r,%d\n" % (name, k, ours, float(m.inertia_), m.n_iter_))
            figures.append(ours)
            for seed in SEEDS:
                ms = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed,
                            algorithm="lloyd").fit(x)
                fse.write("%s,%d,%d,%r\n" % (name, k, seed,
                                              inertia64(x, ms.labels_, ms.cluster_centers_)))
            runs = []
            for i, idx in enumerate(starts(x, k)):
                r = KMeans(n_clusters=k, init=x[idx], n_init=1, algorithm="lloyd").fit(x)
                runs.append(float(r.inertia_))
                fst.write("%s,%d,%d,%s,%r,%d\n" % (name, k, i, " ".join("%d" % j for j in idx),
                                                   float(r.inertia_), r.n_iter_))
            if min(runs) != float(m.inertia_):
                sys.exit("%s, k=%d: the starts do not reproduce KMeans: best %r, fit %r" % (
                    name, k, min(runs), float(m.inertia_)))
            if k == LABEL_K:
                km3 = m.labels_.astype(np.int64)
        for i in range(n):
            flab.write("%s,%d,%d\n" % (name, i, km3[i]))
        for lname, lab in (("truth", y), ("km3", km3), ("mod4", np.arange(n) % MOD)):
            fsc.write("%s,%s,%d,%r,%r,%r,%r,%r\n" % (
                name, lname, len(np.unique(lab)),
                float(silhouette_score(x, lab)), float(calinski_harabasz_score(x, lab)),
                float(davies_bouldin_score(x, lab)), float(adjusted_rand_score(y, lab)),
                float(normalized_mutual_info_score(y, lab))))
        print("%s: %d rows, inertia k=2..10: %s" % (
            name, n, " ".join("%.6g" % v for v in figures)), file=sys.stderr)
    for f in (fin, fst, fse, flab, fsc):
        f.close()


if __name__ == "__main__":
    main()
