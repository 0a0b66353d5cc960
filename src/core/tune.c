/*
 * tune.c — the k-curve of KNN from one neighbour search per held-out row (see
 * mlwb/core/tune.h for the contract: folds, figures, tie rule, tie counts).
 *
 * Design.  For each fold: gather (and, for scale=zscore, scale with statistics of the
 * training part alone) the training rows in data set order, build one knn_index, then
 * take the held-out rows in blocks of TUNE_BLOCK: one knn_index_search for the block's
 * nn = min(kmax + 1, training rows) nearest, then a par_for over the block's rows reads
 * the vote for every k = 1..kmax off each row's sorted list (tune_vote_row: running
 * class counts or weights and the running winner, in the calling thread's own scratch)
 * and writes one byte of flags per row and k (correct, vote tie, distance tie, set
 * tie).  The block's bytes are then summed on the calling thread in row
 * order, so every figure is the same for any thread count.  The (k+1)-th neighbour is
 * searched only to see whether the k-th boundary is a distance tie.
 *
 * Leave-one-out is the same loop with a single index over all rows, each query row
 * excluded from its own search; each row counts as a fold.
 *
 * Cancellation and progress: the callback runs after every block and after every fold;
 * a cancel is seen within one block's search.
 */
#include "mlwb/core/tune.h"

#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/parfor.h"

enum { TUNE_BLOCK = 2048 };  /* held-out rows per search call */

/* bits of a row's flag byte in a block (the first three are the public KNN_TIE_*) */
#define TUNE_CORRECT 8u

/* --- folds ----------------------------------------------------------------------- */

mlwb_status knn_curve_folds(const ds *d, int folds, unsigned long seed, int32_t *fold,
                            char **err)
{
    if (!d->y || d->nclasses < 1)
        return err_set(err, MLWB_ERR_INVALID, "folds: the data set has no labels");
    if (folds < 2 || (size_t)folds > d->rows)
        return err_set(err, MLWB_ERR_INVALID, "folds=%d: need 2 .. %zu (the rows)", folds,
                       d->rows);
    size_t *start = calloc(d->nclasses + 1, sizeof *start);
    size_t *order = malloc(d->rows * sizeof *order);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    mlwb_status st = MLWB_OK;
    if (!start || !order || !r) {
        st = err_set(err, MLWB_ERR_NOMEM, "folds: out of memory for %zu rows", d->rows);
        goto out;
    }
    /* counting sort of the rows by class, each class in row order, then shuffled */
    for (size_t i = 0; i < d->rows; i++)
        start[d->y[i] + 1]++;
    for (size_t c = 0; c < d->nclasses; c++)
        start[c + 1] += start[c];
    for (size_t i = 0; i < d->rows; i++)
        order[start[d->y[i]]++] = i;
    for (size_t c = d->nclasses; c > 0; c--)
        start[c] = start[c - 1];
    start[0] = 0;
    gsl_rng_set(r, seed);
    size_t next = 0;
    for (size_t c = 0; c < d->nclasses; c++) {
        size_t n = start[c + 1] - start[c];
        if (n > 1)
            gsl_ran_shuffle(r, order + start[c], n, sizeof *order);
        for (size_t j = 0; j < n; j++)
            fold[order[start[c] + j]] = (int32_t)(next++ % (size_t)folds);
    }
out:
    if (r)
        gsl_rng_free(r);
    free(start);
    free(order);
    return st;
}

/* --- the vote for every k off one sorted neighbour list --------------------------- */

typedef struct tune_scratch {
    double *counts;       /* nclasses: running votes (or weights) */
    int *fixed, *runc;    /* nclasses each: tune_set_tie's counts */
    unsigned char *tied;  /* nn: tied[j] = neighbours j and j+1 are tied in distance */
    unsigned char *run;   /* nn: RUN_* flags of j's tied run */
    int *rstart, *rend;   /* nn: first and last position of j's tied run */
} tune_scratch;

#define RUN_MIXED 1u  /* the run holds two classes */
#define RUN_OPEN 2u   /* the run reaches the end of the list and rows exist beyond it */

typedef struct tune_block {
    /* the fold */
    const int32_t *ytr;      /* labels of the index rows */
    const double *trnorm;    /* norms of the index rows (Euclidean L2, Manhattan L1) */
    size_t ntrain;           /* rows the search may return (leave-one-out: rows - 1) */
    size_t nclasses;
    knn_metric metric;
    int weights;
    int kmax, nn;
    /* the block */
    const size_t *qrow;      /* data set row of each query */
    const double *qnorm;
    const int32_t *ytrue;    /* the data set's labels, by data set row */
    const int32_t *idx;      /* nq * nn */
    const float *dist;       /* nq * nn */
    unsigned char *flags;    /* nq * kmax */
    int32_t *pred;           /* NULL, or the result's rows * kmax */
    uint8_t *tie;            /* NULL, or the result's rows * kmax */
    tune_scratch *scratch;   /* per thread */
    int nthreads;
    atomic_int failed;
} tune_block;

/* Could rounding of float32 data, or an exact tie, put neighbours a and b (distances
 * da <= db) in either order?  See tune.h. */
static int tune_tied(const tune_block *bk, double qn, int32_t a, int32_t b, float da, float db)
{
    double tol;
    if (bk->metric == KNN_COSINE)
        tol = FLT_EPSILON * (4.0 + db);
    else
        tol = FLT_EPSILON * (qn + 0.5 * (bk->trnorm[a] + bk->trnorm[b]) + db);
    return (double)db - (double)da <= tol;
}

/* A distance tie at the k boundary, inside the run [a, b] of tied neighbours: may the
 * choice of which k - a of the run's members are among the k nearest change the
 * winner `top`?  With uniform votes (or distance weights among exact matches, which
 * vote 1 each) count, for every class, the fewest and the most votes any choice gives
 * it; the choice cannot matter when `top` at its fewest still beats every other class
 * at its most (the lower class winning an equal count).  Otherwise (distance weights,
 * or a run that may go on past the searched list) assume it may. */
static int tune_set_tie(const tune_block *bk, tune_scratch *s, const int32_t *idx,
                        const float *dist, int k, int32_t top, int uniform, int zero)
{
    int a = s->rstart[k], b = s->rend[k];
    if (!(s->run[k] & (RUN_MIXED | RUN_OPEN)))
        return 0;
    if (zero && dist[a] > 0.0f)
        return 0;  /* only exact matches vote, and these are not */
    if (s->run[k] & RUN_OPEN || (!uniform && !zero))
        return 1;
    const int32_t *ytr = bk->ytr;
    size_t nc = bk->nclasses;
    memset(s->fixed, 0, nc * sizeof *s->fixed);
    memset(s->runc, 0, nc * sizeof *s->runc);
    for (size_t c = 0; c < nc; c++)
        s->fixed[c] = (int)s->counts[c];
    for (int j = a; j < k; j++)
        s->fixed[ytr[idx[j]]]--;
    for (int j = a; j <= b; j++)
        s->runc[ytr[idx[j]]]++;
    int len = b - a + 1, m = k - a;
    int lo_top = s->fixed[top] + (m - (len - s->runc[top]) > 0 ? m - (len - s->runc[top]) : 0);
    for (size_t c = 0; c < nc; c++) {
        if ((int32_t)c == top)
            continue;
        int hi = s->fixed[c] + (s->runc[c] < m ? s->runc[c] : m);
        if (hi > lo_top || (hi == lo_top && (int32_t)c < top))
            return 1;
    }
    return 0;
}

static void tune_vote_one(tune_block *bk, tune_scratch *s, size_t b)
{
    const int nn = bk->nn, kmax = bk->kmax;
    const int32_t *idx = bk->idx + b * (size_t)nn;
    const float *dist = bk->dist + b * (size_t)nn;
    const int32_t *ytr = bk->ytr;
    size_t row = bk->qrow[b];
    int32_t truth = bk->ytrue[row];

    /* distance ties between neighbours j and j+1, and the runs they chain into */
    for (int j = 0; j + 1 < nn; j++)
        s->tied[j] = (unsigned char)tune_tied(bk, bk->qnorm[b], idx[j], idx[j + 1], dist[j],
                                              dist[j + 1]);
    for (int start = 0; start < nn;) {
        int end = start;
        unsigned flags = 0;
        while (end + 1 < nn && s->tied[end])
            end++;
        for (int j = start + 1; j <= end && !flags; j++)
            if (ytr[idx[j]] != ytr[idx[start]])
                flags = RUN_MIXED;
        if (end == nn - 1 && (size_t)nn < bk->ntrain)
            flags |= RUN_OPEN;
        for (int j = start; j <= end; j++) {
            s->run[j] = (unsigned char)flags;
            s->rstart[j] = start;
            s->rend[j] = end;
        }
        start = end + 1;
    }

    memset(s->counts, 0, bk->nclasses * sizeof *s->counts);
    int32_t top = 0;
    double topc = 0;
    int nmax = 0;  /* classes at the top count */
    /* distance weights: when the nearest is at distance 0, only exact matches vote;
     * when it is infinitely far, so are all: they vote one each (as knn.c) */
    int zero = bk->weights == KNN_DISTANCE && dist[0] == 0.0f;
    int uniform = bk->weights != KNN_DISTANCE || isinf(dist[0]);
    unsigned char *fl = bk->flags + b * (size_t)kmax;
    for (int k = 1; k <= kmax; k++) {
        int j = k - 1;
        int32_t c = ytr[idx[j]];
        double w = uniform ? 1.0
                   : zero  ? (dist[j] == 0.0f ? 1.0 : 0.0)
                           : 1.0 / (double)dist[j];
        if (w > 0) {
            double v = (s->counts[c] += w);
            if (v > topc) {
                topc = v;
                top = c;
                nmax = 1;
            } else if (v == topc) {
                nmax++;
                if (c < top)
                    top = c;
            }
        }
        unsigned f = 0;
        if (nmax > 1)
            f |= KNN_TIE_VOTE;
        if (k < nn && s->tied[j]) {
            f |= KNN_TIE_DIST;
            if (tune_set_tie(bk, s, idx, dist, k, top, uniform, zero))
                f |= KNN_TIE_SET;
        }
        if (bk->tie)
            bk->tie[row * (size_t)kmax + (size_t)j] = (uint8_t)f;
        if (bk->pred)
            bk->pred[row * (size_t)kmax + (size_t)j] = top;
        if (top == truth)
            f |= TUNE_CORRECT;
        fl[j] = (unsigned char)f;
    }
}

static void tune_scratch_free(tune_scratch *s)
{
    free(s->counts);
    free(s->fixed);
    free(s->runc);
    free(s->tied);
    free(s->run);
    free(s->rstart);
    free(s->rend);
    memset(s, 0, sizeof *s);
}

static int tune_scratch_alloc(tune_scratch *s, size_t nclasses, int nn)
{
    s->counts = malloc(nclasses * sizeof *s->counts);
    s->fixed = malloc(nclasses * sizeof *s->fixed);
    s->runc = malloc(nclasses * sizeof *s->runc);
    s->tied = malloc((size_t)nn);
    s->run = malloc((size_t)nn);
    s->rstart = malloc((size_t)nn * sizeof *s->rstart);
    s->rend = malloc((size_t)nn * sizeof *s->rend);
    if (s->counts && s->fixed && s->runc && s->tied && s->run && s->rstart && s->rend)
        return 0;
    tune_scratch_free(s);
    return -1;
}

static void tune_vote_row(void *arg, size_t b, int tid)
{
    tune_block *bk = arg;
    if (tid < bk->nthreads) {
        tune_vote_one(bk, &bk->scratch[tid], b);
        return;
    }
    /* the thread count went up since the scratch was sized: private scratch */
    tune_scratch own = {0};
    if (tune_scratch_alloc(&own, bk->nclasses, bk->nn)) {
        atomic_store(&bk->failed, 1);
        return;
    }
    tune_vote_one(bk, &own, b);
    tune_scratch_free(&own);
}

/* --- figures ---------------------------------------------------------------------- */

/* best_k and k_1se from the points' mean and se */
static void tune_pick(knn_curve_result *c)
{
    int best = 1;
    for (int k = 2; k <= c->kmax; k++)
        if (c->points[k - 1].mean > c->points[best - 1].mean)
            best = k;
    double bar = c->points[best - 1].mean - c->points[best - 1].se;
    int k1 = best;
    for (int k = 1; k < best; k++)
        if (c->points[k - 1].mean >= bar) {
            k1 = k;
            break;
        }
    c->best_k = best;
    c->k_1se = k1;
}

/* k-fold: mean, sd and se over the first folds_done folds */
static void tune_summarize_folds(knn_curve_result *c)
{
    int nf = c->folds_done;
    for (int k = 1; k <= c->kmax; k++) {
        double sum = 0, ss = 0;
        for (int f = 0; f < nf; f++)
            sum += c->fold_acc[(size_t)f * (size_t)c->kmax + (size_t)(k - 1)];
        double mean = sum / nf;
        for (int f = 0; f < nf; f++) {
            double t = c->fold_acc[(size_t)f * (size_t)c->kmax + (size_t)(k - 1)] - mean;
            ss += t * t;
        }
        knn_curve_point *p = &c->points[k - 1];
        p->mean = mean;
        p->sd = nf > 1 ? sqrt(ss / (nf - 1)) : 0.0;
        p->se = p->sd / sqrt((double)nf);
    }
    tune_pick(c);
}

/* leave-one-out: figures from the correct counts over the first `done` rows */
static void tune_summarize_loo(knn_curve_result *c, const size_t *correct, size_t done)
{
    double n = (double)done;
    for (int k = 1; k <= c->kmax; k++) {
        knn_curve_point *p = &c->points[k - 1];
        double acc = (double)correct[k - 1] / n;
        p->mean = acc;
        p->sd = done > 1 ? sqrt(acc * (1 - acc) * n / (n - 1)) : 0.0;
        p->se = p->sd / sqrt(n);
    }
    c->folds_done = (int)done;
    tune_pick(c);
}

/* --- the driver ------------------------------------------------------------------- */

typedef struct tune_work {
    float *train;       /* ntrain_max * cols: a fold's training part (scaled) */
    int32_t *ytr;
    double *trnorm;
    size_t *trow;       /* held-out rows of a fold, in data set order */
    float *q;           /* TUNE_BLOCK * cols: a block of held-out rows (scaled) */
    double *qnorm;
    size_t *qrow;
    int64_t *exclude;   /* leave-one-out */
    int32_t *idx;
    float *dist;
    unsigned char *flags;
    size_t *correct;    /* kmax: correct rows of the current fold (LOO: so far) */
    double *mean, *sd;  /* cols: z-score */
    tune_scratch *scratch;
    int nthreads;
} tune_work;

static double tune_norm(knn_metric m, const float *x, size_t cols)
{
    double s = 0;
    if (m == KNN_MANHATTAN) {
        for (size_t j = 0; j < cols; j++)
            s += fabs((double)x[j]);
        return s;
    }
    for (size_t j = 0; j < cols; j++)
        s += (double)x[j] * (double)x[j];
    return sqrt(s);
}

/* z-score statistics of the rows of d not in fold f (fold_of[i] != f): mean and
 * population sd (1 for a constant column), in double, two passes — computed as knn.c's
 * knn_fit computes them, so that the curve's scaled rows are the model's, bit for bit. */
static void tune_fit_zscore(const ds *d, const int32_t *fold_of, int f, double *mean,
                            double *sd)
{
    size_t cols = d->cols, n = 0;
    memset(mean, 0, cols * sizeof *mean);
    memset(sd, 0, cols * sizeof *sd);
    for (size_t i = 0; i < d->rows; i++)
        if (fold_of[i] != f) {
            n++;
            for (size_t j = 0; j < cols; j++)
                mean[j] += d->x[i * cols + j];
        }
    for (size_t j = 0; j < cols; j++)
        mean[j] /= (double)n;
    for (size_t i = 0; i < d->rows; i++)
        if (fold_of[i] != f)
            for (size_t j = 0; j < cols; j++) {
                double t = d->x[i * cols + j] - mean[j];
                sd[j] += t * t;
            }
    for (size_t j = 0; j < cols; j++) {
        double v = sqrt(sd[j] / (double)n);
        sd[j] = v > 0 && isfinite(v) ? v : 1.0;
    }
}

static void tune_copy_row(const ds *d, size_t i, const double *mean, const double *sd,
                          float *dst)
{
    const float *x = d->x + i * d->cols;
    if (!mean) {
        memcpy(dst, x, d->cols * sizeof *dst);
        return;
    }
    for (size_t j = 0; j < d->cols; j++)
        dst[j] = (float)(((double)x[j] - mean[j]) / sd[j]);
}

/* Search and vote one block of nq held-out rows: the queries q (data set rows qrow;
 * exclude, or NULL, as for knn_index_search); add the block's counts to the fold's
 * `correct` and to the result's tie counts. */
static mlwb_status tune_block_run(const ds *d, const knn_index *ix, const float *q,
                                  const size_t *qrow, const int64_t *exclude, size_t nq,
                                  tune_block *bk, tune_work *w, knn_curve_result *out,
                                  char **err)
{
    mlwb_status st = knn_index_search(ix, q, nq, bk->nn, exclude, w->idx, w->dist, err);
    if (st)
        return st;
    bk->qrow = qrow;
    for (size_t b = 0; b < nq; b++)
        w->qnorm[b] = tune_norm(bk->metric, q + b * d->cols, d->cols);
    bk->idx = w->idx;
    bk->dist = w->dist;
    bk->qnorm = w->qnorm;
    atomic_store(&bk->failed, 0);
    par_for(nq, tune_vote_row, bk);
    if (atomic_load(&bk->failed))
        return err_set(err, MLWB_ERR_NOMEM, "k-curve: out of memory for vote scratch");
    const int kmax = bk->kmax;
    for (size_t b = 0; b < nq; b++) {
        const unsigned char *fl = w->flags + b * (size_t)kmax;
        for (int j = 0; j < kmax; j++) {
            unsigned f = fl[j];
            w->correct[j] += (f & TUNE_CORRECT) != 0;
            out->points[j].vote_ties += (f & KNN_TIE_VOTE) != 0;
            out->points[j].dist_ties += (f & KNN_TIE_DIST) != 0;
            out->points[j].set_ties += (f & KNN_TIE_SET) != 0;
            out->points[j].tie_rows += (f & (KNN_TIE_VOTE | KNN_TIE_SET)) != 0;
        }
    }
    return MLWB_OK;
}

static void tune_work_free(tune_work *w)
{
    free(w->train);
    free(w->ytr);
    free(w->trnorm);
    free(w->trow);
    free(w->q);
    free(w->qnorm);
    free(w->qrow);
    free(w->exclude);
    free(w->idx);
    free(w->dist);
    free(w->flags);
    free(w->correct);
    free(w->mean);
    free(w->sd);
    if (w->scratch)
        for (int t = 0; t < w->nthreads; t++)
            tune_scratch_free(&w->scratch[t]);
    free(w->scratch);
    memset(w, 0, sizeof *w);
}

static mlwb_status tune_check(const ds *d, const knn_curve_opts *o, char **err)
{
    if (!d->y || d->nclasses < 1)
        return err_set(err, MLWB_ERR_INVALID,
                       "the data set has no labels; the k-curve needs a label column");
    if (d->nclasses < 2)
        return err_set(err, MLWB_ERR_INVALID,
                       "the data set has a single class ('%s'); a classifier needs at least two",
                       d->class_names[0]);
    if (d->rows < 2 || d->cols < 1)
        return err_set(err, MLWB_ERR_INVALID, "the data set has %zu rows x %zu features: too few",
                       d->rows, d->cols);
    if (d->rows > INT32_MAX)
        return err_set(err, MLWB_ERR_INVALID, "%zu rows: at most %d are supported", d->rows,
                       INT32_MAX);
    if (o->kmax < 0)
        return err_set(err, MLWB_ERR_INVALID, "kmax=%d: must be at least 1", o->kmax);
    if (o->metric != KNN_EUCLIDEAN && o->metric != KNN_MANHATTAN && o->metric != KNN_COSINE)
        return err_set(err, MLWB_ERR_INVALID, "unknown metric %d", (int)o->metric);
    if (o->weights != KNN_UNIFORM && o->weights != KNN_DISTANCE)
        return err_set(err, MLWB_ERR_INVALID, "unknown weights %d", (int)o->weights);
    if (o->scale != KNN_SCALE_NONE && o->scale != KNN_SCALE_ZSCORE)
        return err_set(err, MLWB_ERR_INVALID, "unknown scale %d", (int)o->scale);
    if (o->loo && o->scale == KNN_SCALE_ZSCORE)
        return err_set(err, MLWB_ERR_INVALID,
                       "folds=loo with scale=zscore would fit the scaling on the held-out "
                       "row; use scale=none, or folds=N");
    return MLWB_OK;
}

/* The fold of every row into fold_of (the caller's, validated, or stratified), the
 * fold count into *nf, the smallest training part into *min_train and the largest
 * held-out part into *max_held. */
static mlwb_status tune_plan(const ds *d, const knn_curve_opts *o, int32_t *fold_of, int *nf,
                             size_t *min_train, size_t *max_held, char **err)
{
    int folds = o->folds ? o->folds : KNN_CURVE_FOLDS;
    if (!o->fold_of) {
        mlwb_status st = knn_curve_folds(d, folds, o->seed, fold_of, err);
        if (st)
            return st;
    } else {
        if (folds < 1 || (size_t)folds > d->rows)
            return err_set(err, MLWB_ERR_INVALID, "folds=%d: need 1 .. %zu (the rows)", folds,
                           d->rows);
        for (size_t i = 0; i < d->rows; i++) {
            if (o->fold_of[i] < -1 || o->fold_of[i] >= folds)
                return err_set(err, MLWB_ERR_INVALID, "fold_of: row %zu: fold %d is not in -1 .. %d",
                               i, (int)o->fold_of[i], folds - 1);
            fold_of[i] = o->fold_of[i];
        }
    }
    size_t *held = calloc((size_t)folds, sizeof *held);
    if (!held)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->rows; i++)
        if (fold_of[i] >= 0)
            held[fold_of[i]]++;
    *min_train = d->rows;
    *max_held = 0;
    mlwb_status st = MLWB_OK;
    for (int f = 0; f < folds; f++) {
        if (held[f] == 0 || held[f] == d->rows) {
            st = err_set(err, MLWB_ERR_INVALID, "fold %d holds out %zu of %zu rows: every fold "
                         "needs a held-out row and a training row", f, held[f], d->rows);
            break;
        }
        if (d->rows - held[f] < *min_train)
            *min_train = d->rows - held[f];
        if (held[f] > *max_held)
            *max_held = held[f];
    }
    free(held);
    *nf = folds;
    return st;
}

mlwb_status knn_curve(const ds *d, const knn_curve_opts *o, knn_curve_result *out,
                      knn_curve_fn progress, void *ud, char **err)
{
    static const knn_curve_opts defaults;
    if (!o)
        o = &defaults;
    memset(out, 0, sizeof *out);
    mlwb_status st = tune_check(d, o, err);
    if (st)
        return st;

    const size_t rows = d->rows, cols = d->cols;
    int32_t *fold_of = NULL;
    knn_index *ix = NULL;
    tune_work w = {0};
    int nf = 0;
    size_t min_train = 0, max_held = 0;
    if (o->loo) {
        nf = (int)rows;
        min_train = rows - 1;
        max_held = rows;
    } else {
        if (!(fold_of = malloc(rows * sizeof *fold_of))) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory for %zu rows", rows);
            goto out;
        }
        if ((st = tune_plan(d, o, fold_of, &nf, &min_train, &max_held, err)))
            goto out;
    }
    int kmax = o->kmax ? o->kmax : KNN_CURVE_KMAX;
    if ((size_t)kmax > min_train)
        kmax = (int)min_train;

    out->metric = o->metric;
    out->weights = o->weights;
    out->scale = o->scale;
    out->loo = o->loo != 0;
    out->seed = o->seed;
    out->rows = rows;
    out->nclasses = d->nclasses;
    out->kmax = kmax;
    out->folds = nf;
    size_t block = max_held < TUNE_BLOCK ? max_held : TUNE_BLOCK;
    size_t kz = (size_t)kmax, nnz = (size_t)kmax + 1;
    if (rows > SIZE_MAX / sizeof(int32_t) / nnz / 2 || rows > SIZE_MAX / sizeof(float) / cols)
        goto nomem;
    out->points = calloc(kz, sizeof *out->points);
    if (!o->loo)
        out->fold_acc = calloc((size_t)nf * kz, sizeof *out->fold_acc);
    if (o->keep_predictions) {
        out->pred = malloc(rows * kz * sizeof *out->pred);
        out->tie = calloc(rows * kz, sizeof *out->tie);
    }
    w.ytr = malloc(rows * sizeof *w.ytr);
    w.trnorm = malloc(rows * sizeof *w.trnorm);
    w.qnorm = malloc(block * sizeof *w.qnorm);
    w.qrow = malloc((o->loo ? rows : block) * sizeof *w.qrow);
    w.idx = malloc(block * nnz * sizeof *w.idx);
    w.dist = malloc(block * nnz * sizeof *w.dist);
    w.flags = malloc(block * kz);
    w.correct = calloc(kz, sizeof *w.correct);
    if (!out->points || (!o->loo && !out->fold_acc) ||
        (o->keep_predictions && (!out->pred || !out->tie)) || !w.ytr || !w.trnorm ||
        !w.qnorm || !w.qrow || !w.idx || !w.dist || !w.flags || !w.correct)
        goto nomem;
    if (o->loo) {
        if (!(w.exclude = malloc(rows * sizeof *w.exclude)))
            goto nomem;
    } else {
        w.train = malloc((rows - 1) * cols * sizeof *w.train);
        w.trow = malloc(max_held * sizeof *w.trow);
        w.q = malloc(block * cols * sizeof *w.q);
        if (!w.train || !w.trow || !w.q)
            goto nomem;
        if (o->scale == KNN_SCALE_ZSCORE) {
            w.mean = malloc(cols * sizeof *w.mean);
            w.sd = malloc(cols * sizeof *w.sd);
            if (!w.mean || !w.sd)
                goto nomem;
        }
    }
    if (out->pred)
        for (size_t i = 0; i < rows * kz; i++)
            out->pred[i] = -1;
    w.nthreads = par_threads();
    if (!(w.scratch = calloc((size_t)w.nthreads, sizeof *w.scratch)))
        goto nomem;
    for (int t = 0; t < w.nthreads; t++)
        if (tune_scratch_alloc(&w.scratch[t], d->nclasses, kmax + 1))
            goto nomem;
    for (int k = 1; k <= kmax; k++)
        out->points[k - 1].k = k;

    tune_block bk = {.nclasses = d->nclasses, .metric = o->metric, .weights = o->weights,
                     .kmax = kmax, .ytrue = d->y, .flags = w.flags, .pred = out->pred,
                     .tie = out->tie, .scratch = w.scratch, .nthreads = w.nthreads,
                     .ytr = w.ytr, .trnorm = w.trnorm};

    if (o->loo) {
        /* one index over every row; each row searched without itself */
        if ((st = knn_index_build(d->x, rows, cols, o->metric, &ix, err)))
            goto out;
        memcpy(w.ytr, d->y, rows * sizeof *w.ytr);
        for (size_t i = 0; i < rows; i++) {
            w.trnorm[i] = tune_norm(o->metric, d->x + i * cols, cols);
            w.qrow[i] = i;
            w.exclude[i] = (int64_t)i;
        }
        bk.ntrain = rows - 1;
        bk.nn = (size_t)kmax + 1 <= rows - 1 ? kmax + 1 : kmax;
        for (size_t s = 0; s < rows; s += block) {
            size_t nq = rows - s < block ? rows - s : block;
            if ((st = tune_block_run(d, ix, d->x + s * cols, w.qrow + s, w.exclude + s, nq,
                                     &bk, &w, out, err)))
                goto out;
            tune_summarize_loo(out, w.correct, s + nq);
            if (progress && progress(ud, out, (double)(s + nq) / (double)rows)) {
                st = err_set(err, MLWB_ERR_CANCELLED, "k-curve cancelled");
                goto out;
            }
        }
        goto done;
    }

    size_t held_total = 0, held_done = 0;
    for (size_t i = 0; i < rows; i++)
        held_total += fold_of[i] >= 0;
    for (int f = 0; f < nf; f++) {
        /* the fold's training part, in data set order, scaled with its own statistics */
        if (w.mean)
            tune_fit_zscore(d, fold_of, f, w.mean, w.sd);
        size_t ntr = 0, nheld = 0;
        for (size_t i = 0; i < rows; i++) {
            if (fold_of[i] == f) {
                w.trow[nheld++] = i;
                continue;
            }
            tune_copy_row(d, i, w.mean, w.sd, w.train + ntr * cols);
            w.trnorm[ntr] = tune_norm(o->metric, w.train + ntr * cols, cols);
            w.ytr[ntr++] = d->y[i];
        }
        if ((st = knn_index_build(w.train, ntr, cols, o->metric, &ix, err)))
            goto out;
        bk.ntrain = ntr;
        bk.nn = (size_t)kmax + 1 <= ntr ? kmax + 1 : kmax;
        memset(w.correct, 0, kz * sizeof *w.correct);
        for (size_t s = 0; s < nheld; s += block) {
            size_t nq = nheld - s < block ? nheld - s : block;
            for (size_t b = 0; b < nq; b++) {
                w.qrow[b] = w.trow[s + b];
                tune_copy_row(d, w.qrow[b], w.mean, w.sd, w.q + b * cols);
            }
            if ((st = tune_block_run(d, ix, w.q, w.qrow, NULL, nq, &bk, &w, out, err)))
                goto out;
            held_done += nq;
            if (progress && s + nq < nheld &&
                progress(ud, out, (double)held_done / (double)held_total)) {
                st = err_set(err, MLWB_ERR_CANCELLED, "k-curve cancelled");
                goto out;
            }
        }
        knn_index_free(&ix);
        for (int k = 1; k <= kmax; k++)
            out->fold_acc[(size_t)f * kz + (size_t)(k - 1)] =
                (double)w.correct[k - 1] / (double)nheld;
        out->folds_done = f + 1;
        tune_summarize_folds(out);
        if (progress && progress(ud, out, (double)held_done / (double)held_total)) {
            st = err_set(err, MLWB_ERR_CANCELLED, "k-curve cancelled");
            goto out;
        }
    }
done:
    st = MLWB_OK;
    goto out;
nomem:
    st = err_set(err, MLWB_ERR_NOMEM,
                 "k-curve: out of memory for %zu rows x %zu features, kmax=%d", rows, cols,
                 o->kmax ? o->kmax : KNN_CURVE_KMAX);
out:
    knn_index_free(&ix);
    tune_work_free(&w);
    free(fold_of);
    if (st)
        knn_curve_clear(out);
    return st;
}

void knn_curve_clear(knn_curve_result *c)
{
    free(c->points);
    free(c->fold_acc);
    free(c->pred);
    free(c->tie);
    memset(c, 0, sizeof *c);
}
