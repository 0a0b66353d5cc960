/*
 * km_bench.c — times mlwb's k-means sweep (km_fit for k = kmin..kmax, one k-means++
 * initialisation each) and cs_silhouette on a fixed sample, for tests/bench/km_run.sh
 * (see docs/BENCHMARKS.md, "k-means").  Not part of the program.
 *
 *   km_bench [n=100000] [d=16] [classes=10] [spread=1] [box=10] [data_seed=42]
 *            [kmin=2] [kmax=16] [seed=0] [runs=3] [sil=1] [seeds=1] [sample=10000]
 *            [threads=cores] [out=DIR] [starts=FILE]
 *
 * Data: mlwb's `load synth blobs` generator (synth_blobs: `classes` isotropic Gaussian
 * blobs of standard deviation `spread`, centres uniform in [-box, box]^d).  The
 * silhouette sample is `sample` distinct rows drawn with GSL's MT19937 seeded with
 * data_seed (gsl_ran_choose: in increasing row order).
 *
 * Timed: the sweep with km_fit seed `seed`, `runs` times (the result is the same each
 * time; runs=0: none); then, with sil=1 (and runs >= 1), cs_silhouette of each k's
 * labels on the sample, `runs` times per k.  Then, untimed, the inertia of the sweep for
 * seeds seed .. seed+seeds-1 (seeds=0: none; the timed sweep serves for `seed`).
 *
 * With out=DIR (and runs >= 1): DIR/x.f32 (n x d float32, row-major), DIR/sample.i32
 * (the sample's row indices) and DIR/labels.i32 (for each k in order, the sample rows'
 * labels from the timed sweep), so that km_peers.py uses the same bytes and labels.
 *
 * With starts=FILE it does only this: FILE holds float32 starting centres, for each of
 * `seeds` seeds and each k in order k x d of them (km_peers.py writes scikit-learn's
 * k-means++ centres there), and km_fit runs from each (untimed), printing
 *   f SEED K INERTIA ITERATIONS
 * so that both sides can be compared from the same start.
 *
 * Prints "key value..." lines:
 *   sweep RUN SECONDS                      each timed run of the whole sweep
 *   best SECONDS threads T                 the best of them
 *   k K SECONDS INERTIA ITERATIONS         per k, the best of the runs' times
 *   sil K SECONDS SCORE                    per k, the best of `runs`
 *   q SEED K INERTIA                       per seed and k
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlwb/core/cluster_scores.h"
#include "mlwb/core/kmeans.h"
#include "mlwb/core/parfor.h"
#include "mlwb/core/synth.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
            return argv[i] + len + 1;
    return def;
}

static int write_file(const char *dir, const char *name, const void *p, size_t size,
                      size_t count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    int ok = fwrite(p, size, count, f) == count;
    if (fclose(f) != 0 || !ok) {
        perror(path);
        return -1;
    }
    return 0;
}

static void die(const char *what, char *err)
{
    fprintf(stderr, "km_bench: %s: %s\n", what, err ? err : "failed");
    exit(1);
}

/* km_fit from the centres in `path` (see the top). */
static int from_starts(ds *data, int kmin, int kmax, unsigned long seed, int seeds,
                       const char *path)
{
    size_t d = data->cols;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    float *c = malloc((size_t)kmax * d * sizeof *c);
    char *err = NULL;
    for (int s = 0; s < seeds; s++)
        for (int k = kmin; k <= kmax; k++) {
            if (!c || fread(c, sizeof *c, (size_t)k * d, f) != (size_t)k * d) {
                fprintf(stderr, "km_bench: %s: short file\n", path);
                return 1;
            }
            km_opts o = {.k = k, .init = c};
            km_result res;
            if (km_fit(data->x, data->rows, d, &o, &res, NULL, NULL, &err) != MLWB_OK)
                die("km_fit", err);
            printf("f %lu %d %.10g %d\n", seed + (unsigned long)s, k, res.inertia,
                   res.iterations);
            km_result_clear(&res);
        }
    fclose(f);
    free(c);
    ds_release(&data);
    return 0;
}

int main(int argc, char **argv)
{
    synth_blobs_opts so = {
        .n = strtoul(opt(argc, argv, "n", "100000"), NULL, 10),
        .d = strtoul(opt(argc, argv, "d", "16"), NULL, 10),
        .classes = strtoul(opt(argc, argv, "classes", "10"), NULL, 10),
        .spread = strtod(opt(argc, argv, "spread", "1"), NULL),
        .box = strtod(opt(argc, argv, "box", "10"), NULL),
        .seed = strtoul(opt(argc, argv, "data_seed", "42"), NULL, 10),
    };
    int kmin = atoi(opt(argc, argv, "kmin", "2")), kmax = atoi(opt(argc, argv, "kmax", "16"));
    unsigned long seed = strtoul(opt(argc, argv, "seed", "0"), NULL, 10);
    int runs = atoi(opt(argc, argv, "runs", "3"));
    int sil = atoi(opt(argc, argv, "sil", "1"));
    int seeds = atoi(opt(argc, argv, "seeds", "1"));
    size_t ns = strtoul(opt(argc, argv, "sample", "10000"), NULL, 10);
    const char *out = opt(argc, argv, "out", NULL);
    const char *starts = opt(argc, argv, "starts", NULL);
    par_set_threads(atoi(opt(argc, argv, "threads", "0")));
    if (kmin < 2 || kmax < kmin || runs < 0 || seeds < 0 || (runs == 0 && (sil || out))) {
        fprintf(stderr, "km_bench: need 2 <= kmin <= kmax, runs >= 0, seeds >= 0, and"
                        " runs >= 1 for sil=1 or out=\n");
        return 2;
    }

    ds *data = NULL;
    char *err = NULL;
    if (synth_blobs(&so, &data, &err) != MLWB_OK)
        die("synth_blobs", err);
    size_t n = data->rows, d = data->cols, nk = (size_t)(kmax - kmin + 1);
    if (starts)
        return from_starts(data, kmin, kmax, seed, seeds, starts);
    if (ns > n)
        ns = n;

    /* the silhouette sample */
    size_t *all = malloc(n * sizeof *all), *pick = malloc(ns * sizeof *pick);
    float *xs = malloc(ns * d * sizeof *xs);
    int32_t *slab = malloc(nk * ns * sizeof *slab), *sidx = malloc(ns * sizeof *sidx);
    double *kt = malloc(nk * sizeof *kt), *kin = malloc(nk * sizeof *kin);
    int *kit = malloc(nk * sizeof *kit);
    if (!all || !pick || !xs || !slab || !sidx || !kt || !kin || !kit)
        die("allocation", NULL);
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, so.seed);
    gsl_ran_choose(rng, pick, ns, all, n, sizeof *all);
    gsl_rng_free(rng);
    for (size_t i = 0; i < ns; i++) {
        sidx[i] = (int32_t)pick[i];
        memcpy(xs + i * d, data->x + pick[i] * d, d * sizeof *xs);
    }

    /* the timed sweep */
    double best = 1e30;
    for (size_t j = 0; j < nk; j++)
        kt[j] = 1e30;
    for (int r = 0; r < runs; r++) {
        double total = 0;
        for (int k = kmin; k <= kmax; k++) {
            km_opts o = {.k = k, .n_init = 1, .seed = seed};
            km_result res;
            double t0 = now();
            if (km_fit(data->x, n, d, &o, &res, NULL, NULL, &err) != MLWB_OK)
                die("km_fit", err);
            double t = now() - t0;
            size_t j = (size_t)(k - kmin);
            total += t;
            if (t < kt[j])
                kt[j] = t;
            kin[j] = res.inertia;
            kit[j] = res.iterations;
            for (size_t i = 0; i < ns; i++)
                slab[j * ns + i] = res.labels[pick[i]];
            km_result_clear(&res);
        }
        printf("sweep %d %.4f\n", r, total);
        fflush(stdout);
        if (total < best)
            best = total;
    }
    if (runs > 0) {
        printf("best %.4f threads %d\n", best, par_threads());
        for (size_t j = 0; j < nk; j++)
            printf("k %d %.4f %.10g %d\n", kmin + (int)j, kt[j], kin[j], kit[j]);
    }

    /* silhouettes on the sample */
    for (size_t j = 0; sil && j < nk; j++) {
        double bt = 1e30, score = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = now();
            if (cs_silhouette(xs, ns, d, slab + j * ns, &score, NULL, &err) != MLWB_OK)
                die("cs_silhouette", err);
            double t = now() - t0;
            if (t < bt)
                bt = t;
        }
        printf("sil %d %.4f %.10f\n", kmin + (int)j, bt, score);
        fflush(stdout);
    }

    /* the inertia of each seed (untimed) */
    for (size_t j = 0; runs > 0 && seeds > 0 && j < nk; j++)
        printf("q %lu %d %.10g\n", seed, kmin + (int)j, kin[j]);
    for (int s = runs > 0 ? 1 : 0; s < seeds; s++)
        for (int k = kmin; k <= kmax; k++) {
            km_opts o = {.k = k, .n_init = 1, .seed = seed + (unsigned long)s};
            km_result res;
            if (km_fit(data->x, n, d, &o, &res, NULL, NULL, &err) != MLWB_OK)
                die("km_fit", err);
            printf("q %lu %d %.10g\n", seed + (unsigned long)s, k, res.inertia);
            km_result_clear(&res);
        }

    if (out && (write_file(out, "x.f32", data->x, sizeof(float), n * d) != 0 ||
                write_file(out, "sample.i32", sidx, sizeof *sidx, ns) != 0 ||
                write_file(out, "labels.i32", slab, sizeof *slab, nk * ns) != 0))
        return 1;
    free(all);
    free(pick);
    free(xs);
    free(slab);
    free(sidx);
    free(kt);
    free(kin);
    free(kit);
    ds_release(&data);
    return 0;
}
