/*
 * knn.h — k-nearest-neighbour classification (Euclidean, brute force).
 *
 * A knn_model owns a copy of the training rows it needs (never a pointer into the
 * data set it was fitted on) and is immutable after knn_fit, so any number of threads
 * may call knn_predict on one model at once.  Ties: among equal distances the lower
 * training row index wins; among equal vote counts the lower class index wins.
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

typedef struct knn_model knn_model;

typedef struct knn_params {
    int k;  /* number of neighbours, >= 1 */
} knn_params;

mlwb_status knn_fit(const ds *train, const knn_params *p, knn_model **out, char **err);
void knn_free(knn_model **m);

/* Classify one row of knn_dims(m) features.  *label gets the class index and
 * *confidence the share of the k votes it won. */
void knn_predict(const knn_model *m, const float *x, int32_t *label, float *confidence);

size_t knn_dims(const knn_model *m);
size_t knn_rows(const knn_model *m);
int knn_k(const knn_model *m);
size_t knn_nclasses(const knn_model *m);
const char *knn_class_name(const knn_model *m, size_t c);
const char *knn_feature_name(const knn_model *m, size_t j);

/* Called now and then with the fraction done; a non-zero return cancels the work
 * (which then returns MLWB_ERR_CANCELLED). */
typedef int (*knn_progress_fn)(void *ud, double fraction);

/* Stratified `folds`-fold cross-validated accuracy of k-NN with parameters p on d
 * (deterministic: rows are dealt to folds in order within each class).  progress may
 * be NULL. */
mlwb_status knn_cv_accuracy(const ds *d, const knn_params *p, int folds, double *accuracy,
                            knn_progress_fn progress, void *ud, char **err);

/* A self-describing little-endian blob (magic "MLWBKNN1"); knn_deserialize checks every
 * size and index and rejects a truncated or corrupted blob with a message. */
mlwb_status knn_serialize(const knn_model *m, void **blob, size_t *len, char **err);
mlwb_status knn_deserialize(const void *blob, size_t len, knn_model **out, char **err);

#endif
