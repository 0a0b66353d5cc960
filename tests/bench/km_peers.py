"""km_peers.py — the peers of tests/bench/km_bench.c, for tests/bench/km_run.sh.

    km_peers.py MODE DIR N D KMIN KMAX RUNS SEEDS SEED DTYPE FAISS

DIR holds km_bench's x.f32 (N x D float32), sample.i32 and labels.i32.  The features are
given to sklearn as DTYPE (float32: as mlwb reads them; float64: sklearn's default).
Every inertia is recomputed here in float64 from the contender's labels and centres, so
all of them are the same figure as km_fit's.  MODE:

  starts   writes DIR/starts.f32: sklearn.cluster.kmeans_plusplus(x, k, random_state=s)
           centres (float32, from the float32 rows) for s = SEED .. SEED+SEEDS-1 and each
           k, which km_bench starts=... and the "quality" mode both run Lloyd from.
  timed    one contender at a time, RUNS times each (best kept), the sweep k = KMIN..KMAX:
           sklearn KMeans(n_clusters=k, n_init=1, init="k-means++", random_state=SEED,
           algorithm="lloyd"), the same with algorithm="elkan" (tol 1e-4, max_iter 300:
           mlwb's defaults); then sklearn.metrics.silhouette_score on the sample rows
           with mlwb's labels (the rows and labels cs_silhouette scored), per k.
  quality  untimed: KMeans lloyd for random_state SEED .. SEED+SEEDS-1; KMeans lloyd from
           each of DIR/starts.f32's centres (init=the array); with FAISS=1 and faiss
           importable, faiss.Kmeans(D, k, niter=25, seed=SEED) on all points
           (max_points_per_centroid=N) and with its default subsampling (256 rows per
           centroid), once each (timed, as one run: they are slow).

Prints lines like km_bench's: sweep NAME RUN SECONDS / best NAME SECONDS / k NAME K
SECONDS INERTIA ITERATIONS / sil K SECONDS SCORE / q NAME SEED K INERTIA /
f lloyd SEED K INERTIA ITERATIONS / version TEXT
"""
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.metrics import silhouette_score


def inertia(x64, centres, labels):
    c = np.asarray(centres, dtype=np.float64)
    return float(((x64 - c[labels]) ** 2).sum())


def main():
    (mode, path, n, d, kmin, kmax, runs, seeds, seed, dtype, use_faiss) = sys.argv[1:12]
    n, d, kmin, kmax, runs, seeds, seed = map(int, (n, d, kmin, kmax, runs, seeds, seed))
    x32 = np.fromfile(os.path.join(path, "x.f32"), dtype=np.float32).reshape(n, d)
    ks = list(range(kmin, kmax + 1))
    if mode == "starts":
        with open(os.path.join(path, "starts.f32"), "wb") as f:
            for s in range(seed, seed + seeds):
                for k in ks:
                    c, _ = kmeans_plusplus(x32, k, random_state=s)
                    f.write(np.ascontiguousarray(c, dtype=np.float32).tobytes())
        return
    x = x32.astype(dtype)
    x64 = x32.astype(np.float64)

    def sweep(name, fit, nruns):
        best, per = 1e30, {}
        for r in range(nruns):
            total = 0.0
            for k in ks:
                t0 = time.perf_counter()
                centres, labels, iters = fit(k)
                t = time.perf_counter() - t0
                total += t
                if k not in per or t < per[k][0]:
                    per[k] = (t, inertia(x64, centres, labels), iters)
            print("sweep %s %d %.4f" % (name, r, total))
            best = min(best, total)
        print("best %s %.4f" % (name, best))
        for k in ks:
            print("k %s %d %.4f %.10g %d" % ((name, k) + per[k]))
        sys.stdout.flush()
        return per

    def sk(algorithm, rs, init="k-means++"):
        def fit(k):
            m = KMeans(n_clusters=k, n_init=1, init=init, algorithm=algorithm,
                       random_state=rs).fit(x)
            return m.cluster_centers_, m.labels_, m.n_iter_
        return fit

    if mode == "timed":
        print("version scikit-learn %s, numpy %s, %s" % (sklearn.__version__, np.__version__,
                                                       np.dtype(dtype).name))
        sweep("lloyd", sk("lloyd", seed), runs)
        sweep("elkan", sk("elkan", seed), runs)
        sample = np.fromfile(os.path.join(path, "sample.i32"), dtype=np.int32)
        labs = np.fromfile(os.path.join(path, "labels.i32"),
                           dtype=np.int32).reshape(len(ks), -1)
        xs = x[sample]
        for j, k in enumerate(ks):
            bt, score = 1e30, 0.0
            for _ in range(runs):
                t0 = time.perf_counter()
                score = silhouette_score(xs, labs[j])
                bt = min(bt, time.perf_counter() - t0)
            print("sil %d %.4f %.10f" % (k, bt, score))
            sys.stdout.flush()
        return

    # quality
    for s in range(seed, seed + seeds):
        for k in ks:
            c, lab, _ = sk("lloyd", s)(k)
            print("q lloyd %d %d %.10g" % (s, k, inertia(x64, c, lab)))
        sys.stdout.flush()
    spath = os.path.join(path, "starts.f32")
    if os.path.exists(spath):
        starts = np.fromfile(spath, dtype=np.float32)
        at = 0
        for s in range(seed, seed + seeds):
            for k in ks:
                c0 = starts[at:at + k * d].reshape(k, d).astype(dtype)
                at += k * d
                c, lab, it = sk("lloyd", None, c0)(k)
                print("f lloyd %d %d %.10g %d" % (s, k, inertia(x64, c, lab), it))
            sys.stdout.flush()
    faiss = None
    if use_faiss == "1":
        try:
            import faiss
            print("version faiss %s" % faiss.__version__)
        except ImportError:
            faiss = None
    if faiss is not None:
        xf = np.ascontiguousarray(x32)

        def fz(maxpts):
            def fit(k):
                km = faiss.Kmeans(d, k, niter=25, seed=seed, verbose=False,
                                  max_points_per_centroid=maxpts)
                km.train(xf)
                _, lab = km.index.search(xf, 1)
                return km.centroids, lab[:, 0], 25
            return fit

        sweep("faiss_all", fz(n), 1)
        sweep("faiss_sub", fz(256), 1)


if __name__ == "__main__":
    main()
