/*
 * knn.h — k-nearest-neighbour classification over an exact search (knn_search.h).
 *
 * A knn_model owns a copy of the training rows it needs (never a pointer into the
 * data set it was fitted on), held in a knn_index, and is immutable after knn_fit, so
 * any number of threads may call knn_predict/knn_explain on one model at once.
 *
 * Parameters: the metric (Euclidean, Manhattan, cosine), the weights (KNN_UNIFORM: each
 * of the k neighbours one vote, confidence = the winner's share; KNN_DISTANCE: each
 * neighbour votes 1/distance, confidence = the winner's share of the weight, and when
 * any neighbour is at distance 0 only those exact matches vote), and the scaling
 * (KNN_SCALE_ZSCORE: each feature's mean and standard deviation — population sd, as
 * scikit-learn's StandardScaler — fitted on the training rows only and stored with the
 * model; a column with sd 0 keeps sd 1; queries are scaled the same way).  A
 * zero-initialised knn_params means Euclidean, uniform, no scaling.
 *
 * Ties: among equal distances the lower training row index wins (the search's rule);
 * among equal vote totals the lower class index wins.
 *
 * Ownership: knn_fit and knn_deserialize return a new model; knn_free(&m) frees it and
 * clears the pointer.  knn_serialize returns a malloc'd blob the caller frees.
 */
#ifndef MLWB_CORE_KNN_H
#define MLWB_CORE_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"
#include "mlwb/core/knn_search.h"

typedef struct knn_model knn_model;

enum { KNN_UNIFORM = 0, KNN_DISTANCE = 1 };          /* knn_params.weights */
enum { KNN_SCALE_NONE = 0, KNN_SCALE_ZSCORE = 1 };   /* knn_params.scale */

typedef struct knn_params {
    int k;              /* number of neighbours, >= 1 */
    knn_metric metric;  /* KNN_EUCLIDEAN (0), KNN_MANHATTAN, KNN_COSINE */
    int weights;        /* KNN_UNIFORM (0) or KNN_DISTANCE */
    int scale;          /* KNN_SCALE_NONE (0) or KNN_SCALE_ZSCORE */
} knn_params;

mlwb_status knn_fit(const ds *train, const knn_params *p, knn_model **out, char **err);
void knn_free(knn_model **m);

/* Classify one row of knn_dims(m) features (unscaled: the model scales it).  *label
 * gets the class index and *confidence the winner's share of the vote (> 0).  When
 * scratch memory cannot be had, *label is 0 and *confidence 0. */
void knn_predict(const knn_model *m, const float *x, int32_t *label, float *confidence);

/* Classify n rows (row-major) on par_threads() threads; the same answers as knn_predict
 * row by row.  MLWB_ERR_NOMEM when scratch memory cannot be had. */
mlwb_status knn_predict_batch(const knn_model *m, const float *x, size_t n, int32_t *labels,
                              float *confidence);

/* The knn_k(m) neighbours of one row x, nearest first: their training row numbers
 * (0 .. knn_rows(m)-1, in the order of the data set the model was fitted on) and their
 * distances in the model's (scaled) space.  MLWB_ERR_NOMEM when out of memory. */
mlwb_status knn_explain(const knn_model *m, const float *x, int32_t *idx, float *dist);

/* The class index of training row i (as numbered by knn_explain), or -1. */
int32_t knn_row_label(const knn_model *m, size_t i);

size_t knn_dims(const knn_model *m);
size_t knn_rows(const knn_model *m);
int knn_k(const knn_model *m);
size_t knn_nclasses(const knn_model *m);
const char *knn_class_name(const knn_model *m, size_t c);
const char *knn_feature_name(const knn_model *m, size_t j);
knn_metric knn_model_metric(const knn_model *m);
int knn_model_weights(const knn_model *m);
int knn_model_scale(const knn_model *m);
/* The fitted scaling of feature j: (x_j - mean) / sd.  Without scaling: 0 and 1. */
double knn_scale_mean(const knn_model *m, size_t j);
double knn_scale_sd(const knn_model *m, size_t j);

/* Names as the command language spells them: "euclidean", "manhattan", "cosine";
 * "uniform", "distance"; "none", "zscore".  An unknown value gives "?". */
const char *knn_metric_name(knn_metric metric);
const char *knn_weights_name(int weights);
const char *knn_scale_name(int scale);
/* The inverse: 0 and *out set when `name` is one of those names, else -1. */
int knn_metric_parse(const char *name, knn_metric *out);
int knn_weights_parse(const char *name, int *out);
int knn_scale_parse(const char *name, int *out);

/* Called now and then with the fraction done; a non-zero return cancels the work
 * (which then returns MLWB_ERR_CANCELLED). */
typedef int (*knn_progress_fn)(void *ud, double fraction);

/* Stratified `folds`-fold cross-validated accuracy of k-NN with parameters p on d
 * (deterministic: rows are dealt to folds in order within each class; the scaling, when
 * asked for, is fitted on each fold's training part only).  progress may be NULL. */
mlwb_status knn_cv_accuracy(const ds *d, const knn_params *p, int folds, double *accuracy,
                            knn_progress_fn progress, void *ud, char **err);

/* A self-describing little-endian blob (magic "MLWBKNN2": parameters, scaling, names,
 * the scaled training rows and labels).  knn_deserialize also reads "MLWBKNN1" blobs
 * (older stores: Euclidean, uniform, no scaling); it checks every size, index and value
 * and rejects a truncated or corrupted blob of either kind with a message. */
mlwb_status knn_serialize(const knn_model *m, void **blob, size_t *len, char **err);
mlwb_status knn_deserialize(const void *blob, size_t len, knn_model **out, char **err);

#endif
