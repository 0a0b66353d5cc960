"""knn_peers.py DIR QUERIES K RUNS SINGLE [KD_QUERIES] -- the peers of mlwb's batch predict.

Reads DIR/x.f32 (float32 rows, row-major) and DIR/y.i32 written by knn_bench (the same
bytes mlwb searched): the last QUERIES rows are the queries, the others the index.  Times,
one thing at a time, best of RUNS:
  - scikit-learn KNeighborsClassifier(algorithm='brute').predict   (float32 input)
  - scikit-learn KNeighborsClassifier(algorithm='kd_tree').predict (KD_QUERIES queries,
    default all; one run: it is slow)
  - faiss IndexFlatL2.search + a numpy majority vote
and the median latency of SINGLE one-row calls of each.  Prints "key value" lines, and
how often each peer's neighbours equal mlwb's (DIR/idx.i32, as sets of k rows).
Debian's /usr/bin/python3 with python3-sklearn and python3-faiss; a missing peer is
reported and skipped.  Developer tool: never used by the program.
"""
import os
import sys
import time

import numpy

d_dir, nq, k, runs, single = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
kd_q = int(sys.argv[6]) if len(sys.argv) > 6 else nq
y = numpy.fromfile(os.path.join(d_dir, "y.i32"), dtype=numpy.int32)
x = numpy.fromfile(os.path.join(d_dir, "x.f32"), dtype=numpy.float32).reshape(len(y), -1)
rows = len(y) - nq
X, Y, Q, QY = x[:rows], y[:rows], x[rows:], y[rows:]
ours = numpy.fromfile(os.path.join(d_dir, "idx.i32"), dtype=numpy.int32).reshape(nq, k)


def best_of(fn, n_runs=None):
    t_best, out = 1e30, None
    for _ in range(n_runs or runs):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def median_latency(fn):
    lat = []
    for i in range(single):
        q = Q[i:i + 1]
        t = time.perf_counter()
        fn(q)
        lat.append(time.perf_counter() - t)
    return float(numpy.median(lat)) * 1e3


def same_sets(idx, n):
    return sum(set(idx[i]) == set(ours[i]) for i in range(n)) / n


try:
    from threadpoolctl import threadpool_info
    for p in threadpool_info():
        print("pool %s %s %s threads=%s" % (p.get("user_api"), p.get("internal_api"),
                                           p.get("architecture", "-"), p.get("num_threads")))
except Exception:  # threadpoolctl is optional
    pass

try:
    import sklearn
    from sklearn.neighbors import KNeighborsClassifier
    print("sklearn_version", sklearn.__version__)
    for algo, n in (("brute", nq), ("kd_tree", kd_q)):
        clf = KNeighborsClassifier(n_neighbors=k, algorithm=algo).fit(X, Y)
        t, pred = best_of(lambda: clf.predict(Q[:n]), 1 if algo == "kd_tree" else runs)
        print("sklearn_%s_qps %.0f" % (algo, n / t))
        print("sklearn_%s_accuracy %.4f" % (algo, float(numpy.mean(pred == QY[:n]))))
        print("sklearn_%s_single_median_ms %.4f" % (algo, median_latency(clf.predict)))
        _, idx = clf.kneighbors(Q[:min(n, 2000)])
        print("sklearn_%s_same_neighbours %.4f" % (algo, same_sets(idx, min(n, 2000))))
except ImportError as e:
    print("sklearn_missing", e)

try:
    import faiss
    print("faiss_version", getattr(faiss, "__version__", "?"), "omp_threads", faiss.omp_get_max_threads())
    index = faiss.IndexFlatL2(X.shape[1])
    index.add(numpy.ascontiguousarray(X))
    nclasses = int(Y.max()) + 1

    def faiss_predict(q):
        _, idx = index.search(q, k)
        votes = numpy.zeros((len(q), nclasses), dtype=numpy.int32)
        numpy.add.at(votes, (numpy.repeat(numpy.arange(len(q)), k), Y[idx].ravel()), 1)
        return votes.argmax(axis=1), idx

    t, (pred, idx) = best_of(lambda: faiss_predict(Q))
    print("faiss_flat_qps %.0f" % (nq / t))
    print("faiss_flat_accuracy %.4f" % float(numpy.mean(pred == QY)))
    print("faiss_flat_single_median_ms %.4f" % median_latency(faiss_predict))
    print("faiss_flat_same_neighbours %.4f" % same_sets(idx, nq))
    t, _ = best_of(lambda: index.search(Q, k))
    print("faiss_flat_search_qps %.0f" % (nq / t))
except ImportError as e:
    print("faiss_missing", e)
