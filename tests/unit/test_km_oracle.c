/* test_km_oracle.c — k-means (kmeans.h) and the cluster scores (cluster_scores.h) against
 * scikit-learn on the four bundled samples (iris, wine, breast_cancer, digits; raw
 * features, no scaling), from the fixtures tests/oracle/km_*.csv written by
 * tests/oracle/make_km_fixtures.py (read from the top of the tree):
 *
 * - inertia: for k = 2..10, the median over seeds 0..29 (digits: 0..9) of km_fit's best
 *   of n_init = 10 (max_iter and tol at their defaults) is no more than 1% above the
 *   median over as many random_states of sklearn's best of 10 (KMeans(k, n_init=10, algorithm="lloyd"));
 *   lower is fine.  A single best-of-10 is a random draw (mlwb's k-means++ draws from
 *   GSL's MT19937, sklearn's from numpy's RandomState) that varies by several per cent on
 *   data with many local minima, so one seed against one seed would test luck; the next
 *   test pins down everything but the random numbers (tests/oracle/README.md).
 * - Lloyd alone: from each of sklearn's own k-means++ starts (km_starts.csv), km_fit
 *   reaches sklearn's inertia (see lloyd_from_sklearn_starts_equals_sklearn).
 * - scores: on three fixed labelings (the classes; sklearn's k = 3 labels from
 *   km_labels.csv; row index % 4), cs_silhouette, cs_davies_bouldin, cs_ari and cs_nmi
 *   equal sklearn's to 1e-6 absolute, cs_calinski_harabasz to 1e-6 relative (its values
 *   run to the thousands).
 *
 * Both sides see the same float32-rounded features (see tests/oracle/README.md).  About
 * 10 s with the -O2 build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/cluster_scores.h"
#include "mlwb/core/csv.h"
#include "mlwb/core/dataset.h"
#include "mlwb/core/kmeans.h"
#include "mlwb/core/samples.h"

#define KMIN 2
#define KMAX 10
#define NSETS 4
#define INERTIA_SLACK 1.01  /* the bound: within 1% of sklearn's */
#define SCORE_TOL 1e-6

static const char *const SETS[NSETS] = {"iris", "wine", "breast_cancer", "digits"};

/* --- loading ---------------------------------------------------------------------- */

static ds *sample(const char *name)
{
    sample_info s;
    assert_true(sample_find(name, &s));
    ds *d = NULL;
    assert_int_equal(csv_parse(s.data, s.len, name, NULL, &d, NULL), MLWB_OK);
    return d;
}

static FILE *open_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/oracle/%s", name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s: run the unit tests from the top of the tree", path);
    return f;
}

/* Next data line of a fixture (skips the comment and the header), or NULL. */
static char *fixture_line(FILE *f, char *buf, size_t len)
{
    while (fgets(buf, (int)len, f))
        if (buf[0] != '#' && strncmp(buf, "dataset,", 8) != 0)
            return buf;
    return NULL;
}

/* --- inertia ---------------------------------------------------------------------- */

/* km_inertia.csv: per data set, sklearn's best-of-10 inertia for k = 2..10 (recomputed
 * in float64, and sklearn's own inertia_, which must agree with it to rounding). */
static void load_inertia(const char *name, double ref[KMAX + 1])
{
    char line[256], set[64];
    for (int k = 0; k <= KMAX; k++)
        ref[k] = NAN;
    FILE *f = open_fixture("km_inertia.csv");
    while (fixture_line(f, line, sizeof line)) {
        int k, iters;
        double ours, theirs;
        assert_int_equal(sscanf(line, "%63[^,],%d,%lf,%lf,%d", set, &k, &ours, &theirs, &iters),
                         5);
        if (strcmp(set, name) != 0)
            continue;
        assert_true(k >= KMIN && k <= KMAX);
        assert_true(ours > 0 && fabs(ours - theirs) <= 1e-12 * ours);
        ref[k] = ours;
    }
    fclose(f);
    for (int k = KMIN; k <= KMAX; k++)
        if (!(ref[k] > 0))
            fail_msg("km_inertia.csv: no row for %s, k=%d", name, k);
}

#define NSEEDS 30  /* in km_inertia_seeds.csv */
/* seeds used per data set: 30, but 10 for digits (slow, and stable from seed to seed) */
static const int SEEDS_USED[NSETS] = {30, 30, 30, 10};

/* km_inertia_seeds.csv: sklearn's best-of-10 inertia for random_state 0..29. */
static void load_seeds(const char *name, double ref[KMAX + 1][NSEEDS])
{
    char buf[512];
    int got[KMAX + 1] = {0};
    FILE *f = open_fixture("km_inertia_seeds.csv");
    while (fixture_line(f, buf, sizeof buf)) {
        char ds_[64];
        int k, seed;
        double v;
        if (sscanf(buf, "%63[^,],%d,%d,%lf", ds_, &k, &seed, &v) != 4)
            fail_msg("km_inertia_seeds.csv: bad line %s", buf);
        if (strcmp(ds_, name) == 0 && k >= KMIN && k <= KMAX && seed >= 0 && seed < NSEEDS) {
            ref[k][seed] = v;
            got[k]++;
        }
    }
    fclose(f);
    for (int k = KMIN; k <= KMAX; k++)
        if (got[k] != NSEEDS)
            fail_msg("km_inertia_seeds.csv: %d rows for %s, k=%d, want %d", got[k], name, k,
                     NSEEDS);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The check, made fair: one best-of-10 is one random draw, and on a data set
 * with many local minima (breast_cancer, k = 8) it ranges over several per cent from one
 * seed to the next, for sklearn as for mlwb.  So the median over seeds 0..S-1 of mlwb's
 * best-of-10 (km_fit, n_init = 10) must be within 1% of the median of sklearn's
 * best-of-10 over random_state 0..S-1 (S = SEEDS_USED); lower is fine.  The
 * single-seed ratio (seed 0 on both sides) is printed too, for the record. */
static void inertia_within_1pct_of_sklearn(void **state)
{
    (void)state;
    int bad = 0;
    for (int t = 0; t < NSETS; t++) {
        ds *d = sample(SETS[t]);
        double ref0[KMAX + 1], sk[KMAX + 1][NSEEDS], worst = 0, worst0 = 0;
        int worst_k = 0;
        char report[512];
        size_t at = 0;
        load_inertia(SETS[t], ref0);
        load_seeds(SETS[t], sk);
        for (int k = KMIN; k <= KMAX; k++) {
            double ours[NSEEDS];
            int ns = SEEDS_USED[t];
            for (int seed = 0; seed < ns; seed++) {
                km_opts o = {.k = k, .n_init = 10, .seed = (unsigned long)seed};
                km_result r;
                assert_int_equal(km_fit(d->x, d->rows, d->cols, &o, &r, NULL, NULL, NULL),
                                 MLWB_OK);
                ours[seed] = r.inertia;
                if (seed == 0 && r.inertia / ref0[k] > worst0)
                    worst0 = r.inertia / ref0[k];
                km_result_clear(&r);
            }
            double mine = median(ours, ns), theirs = median(sk[k], ns);
            double ratio = mine / theirs;
            at += (size_t)snprintf(report + at, sizeof report - at, " %d:%.4f", k, ratio);
            if (ratio > worst) {
                worst = ratio;
                worst_k = k;
            }
            if (!(ratio <= INERTIA_SLACK)) {
                print_error("%s, k=%d: mlwb's median best-of-10 inertia %.17g is %.4f%% above "
                            "sklearn's %.17g\n", SETS[t], k, mine, (ratio - 1) * 100, theirs);
                bad++;
            }
        }
        print_message("  %-13s median inertia mlwb/sklearn, k:ratio%s; worst %.4f (k=%d); "
                      "seed 0 alone: worst %.4f\n", SETS[t], report, worst, worst_k, worst0);
        ds_release(&d);
    }
    if (bad)
        fail_msg("%d fits more than 1%% above sklearn's inertia (see tests/oracle/README.md)",
                 bad);
}

/* km_starts.csv: the 10 k-means++ starts behind each of those fits (as data rows) and
 * what sklearn's Lloyd made of each.  This checks everything but the random numbers
 * (inertia_within_1pct_of_sklearn adds mlwb's own k-means++ draws): from the same start,
 * with the same tol and max_iter,
 * - iris, wine, breast_cancer: mlwb reaches the same inertia (relative 1e-9; only the
 *   order of additions differs) in the same number of iterations, so its best of the
 *   10 is sklearn's best;
 * - digits (small integers): a row can be exactly as far from two centres.  mlwb gives
 *   it to the lower index (kmeans.h); sklearn's choice falls out of the rounding of
 *   |x|^2 - 2 x.c + |c|^2 on the centred rows.  In 10 of the 90 runs that sends the two
 *   down different paths (one iteration more or less, or a nearby local minimum: at most
 *   1.3e-4 apart, either way), so here every run and the best of 10 must be within DIGITS_SLACK of
 *   sklearn's and the runs that differ are counted, not asserted. */
#define EXACT_REL 1e-9
#define DIGITS_SLACK 1e-3

static void lloyd_from_sklearn_starts_equals_sklearn(void **state)
{
    (void)state;
    for (int t = 0; t < NSETS; t++) {
        ds *d = sample(SETS[t]);
        int ties = strcmp(SETS[t], "digits") == 0;
        double tol = ties ? DIGITS_SLACK : EXACT_REL;
        double ref[KMAX + 1], best[KMAX + 1], worst = 0, worst_best = 0;
        int runs = 0, differ = 0;
        load_inertia(SETS[t], ref);
        for (int k = 0; k <= KMAX; k++)
            best[k] = INFINITY;
        float *c = malloc((size_t)KMAX * d->cols * sizeof *c);
        assert_non_null(c);
        char line[512], set[64];
        FILE *f = open_fixture("km_starts.csv");
        while (fixture_line(f, line, sizeof line)) {
            int k, init, used = 0, iters;
            assert_int_equal(sscanf(line, "%63[^,],%d,%d,%n", set, &k, &init, &used), 3);
            if (strcmp(set, SETS[t]) != 0)
                continue;
            assert_true(k >= KMIN && k <= KMAX && used > 0);
            char *p = line + used;
            for (int j = 0; j < k; j++) {
                char *end;
                unsigned long row = strtoul(p, &end, 10);
                assert_true(end != p && row < d->rows);
                memcpy(c + (size_t)j * d->cols, d->x + row * d->cols, d->cols * sizeof *c);
                p = end;
            }
            double want;
            assert_int_equal(sscanf(p, ",%lf,%d", &want, &iters), 2);
            km_opts o = {.k = k, .init = c};
            km_result r;
            assert_int_equal(km_fit(d->x, d->rows, d->cols, &o, &r, NULL, NULL, NULL), MLWB_OK);
            double dev = fabs(r.inertia - want) / want;
            if (dev > worst)
                worst = dev;
            int same = dev <= EXACT_REL && r.iterations == iters;
            differ += !same;
            if (!same && (!ties || !(dev <= tol)))
                fail_msg("%s, k=%d, start %d: mlwb %.17g in %d iterations, sklearn %.17g in %d",
                         SETS[t], k, init, r.inertia, r.iterations, want, iters);
            if (r.inertia < best[k])
                best[k] = r.inertia;
            runs++;
            km_result_clear(&r);
        }
        fclose(f);
        assert_int_equal(runs, (KMAX - KMIN + 1) * 10);
        for (int k = KMIN; k <= KMAX; k++) {
            double dev = fabs(best[k] - ref[k]) / ref[k];
            if (dev > worst_best)
                worst_best = dev;
            if (!(dev <= tol))
                fail_msg("%s, k=%d: best of sklearn's 10 starts %.17g, sklearn's %.17g", SETS[t],
                         k, best[k], ref[k]);
        }
        print_message("  %-13s %d runs from sklearn's starts, %d on another path (tied "
                      "distances); inertia within %.2g of sklearn's per run, best of 10 within %.2g\n", SETS[t], runs,
                      differ, worst, worst_best);
        free(c);
        ds_release(&d);
    }
}

/* --- scores ----------------------------------------------------------------------- */

/* km_labels.csv: sklearn's k = 3 labels of data set `name`, every row once. */
static void load_km3(const char *name, size_t rows, int32_t *lab)
{
    char line[256], set[64];
    size_t seen = 0;
    for (size_t i = 0; i < rows; i++)
        lab[i] = -1;
    FILE *f = open_fixture("km_labels.csv");
    while (fixture_line(f, line, sizeof line)) {
        size_t row;
        int label;
        assert_int_equal(sscanf(line, "%63[^,],%zu,%d", set, &row, &label), 3);
        if (strcmp(set, name) != 0)
            continue;
        assert_true(row < rows);
        assert_true(lab[row] == -1);
        assert_true(label >= 0 && label < 3);
        lab[row] = label;
        seen++;
    }
    fclose(f);
    assert_int_equal(seen, rows);
}

typedef struct worst_dev {
    double sil, ch_rel, db, ari, nmi;
} worst_dev;

static void check(const char *set, const char *lab, const char *what, double got, double want,
                  double tol, double *worst)
{
    double dev = fabs(got - want);
    if (tol == 0)  /* relative */
        dev /= fabs(want);
    if (dev > *worst)
        *worst = dev;
    if (!(dev <= SCORE_TOL))
        fail_msg("%s, %s: %s is %.17g, sklearn's %.17g (%s deviation %.3g > %g)", set, lab, what,
                 got, want, tol == 0 ? "relative" : "absolute", dev, SCORE_TOL);
}

static void scores_equal_sklearn(void **state)
{
    (void)state;
    for (int t = 0; t < NSETS; t++) {
        ds *d = sample(SETS[t]);
        size_t n = d->rows;
        int32_t *km3 = malloc(n * sizeof *km3), *mod4 = malloc(n * sizeof *mod4);
        assert_non_null(km3);
        assert_non_null(mod4);
        load_km3(SETS[t], n, km3);
        for (size_t i = 0; i < n; i++)
            mod4[i] = (int32_t)(i % 4);
        worst_dev w = {0, 0, 0, 0, 0};
        int found = 0;
        char line[512], set[64], lname[16];
        FILE *f = open_fixture("km_scores.csv");
        while (fixture_line(f, line, sizeof line)) {
            int clusters;
            double sil, ch, db, ari, nmi;
            assert_int_equal(sscanf(line, "%63[^,],%15[^,],%d,%lf,%lf,%lf,%lf,%lf", set, lname,
                                    &clusters, &sil, &ch, &db, &ari, &nmi), 8);
            if (strcmp(set, SETS[t]) != 0)
                continue;
            const int32_t *lab = strcmp(lname, "truth") == 0 ? d->y
                                 : strcmp(lname, "km3") == 0 ? km3
                                 : strcmp(lname, "mod4") == 0 ? mod4 : NULL;
            if (!lab)
                fail_msg("km_scores.csv: unknown labeling '%s'", lname);
            found++;
            if (lab == d->y)
                assert_int_equal(clusters, (int)d->nclasses);
            double s;
            assert_int_equal(cs_silhouette(d->x, n, d->cols, lab, &s, NULL, NULL), MLWB_OK);
            check(set, lname, "silhouette", s, sil, SCORE_TOL, &w.sil);
            assert_int_equal(cs_calinski_harabasz(d->x, n, d->cols, lab, &s, NULL), MLWB_OK);
            check(set, lname, "Calinski-Harabasz", s, ch, 0, &w.ch_rel);
            assert_int_equal(cs_davies_bouldin(d->x, n, d->cols, lab, &s, NULL), MLWB_OK);
            check(set, lname, "Davies-Bouldin", s, db, SCORE_TOL, &w.db);
            assert_int_equal(cs_ari(d->y, lab, n, &s, NULL), MLWB_OK);
            check(set, lname, "ARI", s, ari, SCORE_TOL, &w.ari);
            assert_int_equal(cs_nmi(d->y, lab, n, &s, NULL), MLWB_OK);
            check(set, lname, "NMI", s, nmi, SCORE_TOL, &w.nmi);
        }
        fclose(f);
        assert_int_equal(found, 3);
        print_message("  %-13s scores on truth, km3, mod4: largest deviation from sklearn: "
                      "silhouette %.2g, CH %.2g (relative), DB %.2g, ARI %.2g, NMI %.2g\n",
                      SETS[t], w.sil, w.ch_rel, w.db, w.ari, w.nmi);
        free(km3);
        free(mod4);
        ds_release(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inertia_within_1pct_of_sklearn),
        cmocka_unit_test(lloyd_from_sklearn_starts_equals_sklearn),
        cmocka_unit_test(scores_equal_sklearn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
