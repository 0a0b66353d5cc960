/*
 * kmodel.h — a fitted k-means model: centroids, the scaling they live in, feature names.
 *
 * A km_model is what `train kmeans` publishes.  It owns copies of k centroids of d
 * features in the model's space (z-scored when the model scales, else raw), the scaling
 * (per feature mean and population sd, fitted on the training rows, a column with sd 0
 * keeping sd 1 — the same rule as knn.h), and the feature names.  It is immutable after
 * km_model_new, so any number of threads may predict with one model at once.
 *
 * Prediction scales the row, then answers the nearest centroid (ties: the lower index)
 * and the Euclidean distance to it in the model's space; km_model_distances gives the
 * distance to every centroid.
 *
 * km_scaling_fit / km_scaling_apply are the same z-score transform, for the trainer to
 * put the data in the model's space before clustering.
 *
 * Ownership: km_model_new and km_model_deserialize return a new model; km_model_free(&m)
 * frees it and clears the pointer.  km_model_serialize returns a malloc'd blob.
 */
#ifndef MLWB_CORE_KMODEL_H
#define MLWB_CORE_KMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

typedef struct km_model km_model;

/* Mean and population sd of each of the d columns of x (n rows), in double; an sd that
 * is 0 or not finite is stored as 1.  mean and sd have d entries each. */
void km_scaling_fit(const float *x, size_t n, size_t d, double *mean, double *sd);
/* out[i*d + j] = (x[i*d + j] - mean[j]) / sd[j] for n rows (out may equal x). */
void km_scaling_apply(const float *x, size_t n, size_t d, const double *mean,
                      const double *sd, float *out);

/* A model from k centroids (k * d floats in the model's space), the scaling (mean and sd
 * of d entries, or both NULL for none) and d feature names (NULL entries or a NULL array
 * give empty names).  Errors: MLWB_ERR_INVALID (k or d = 0, a non-finite centroid),
 * MLWB_ERR_NOMEM. */
mlwb_status km_model_new(const float *centroids, size_t k, size_t d, const double *mean,
                         const double *sd, const char *const *features, km_model **out,
                         char **err);
void km_model_free(km_model **m);

/* The nearest centroid to the unscaled row x (km_model_dims(m) floats) and the distance
 * to it; either output may be NULL. */
void km_model_predict(const km_model *m, const float *x, int32_t *cluster, double *distance);
/* dist gets km_model_k(m) distances from the unscaled row x to every centroid. */
void km_model_distances(const km_model *m, const float *x, double *dist);
/* n rows at once on par_threads() threads; distance may be NULL.  MLWB_ERR_NOMEM. */
mlwb_status km_model_predict_batch(const km_model *m, const float *x, size_t n,
                                   int32_t *cluster, double *distance);

size_t km_model_k(const km_model *m);
size_t km_model_dims(const km_model *m);
int km_model_scaled(const km_model *m);            /* 1 when the model z-scores its input */
const float *km_model_centroid(const km_model *m, size_t c);  /* in the model's space */
const char *km_model_feature_name(const km_model *m, size_t j);
double km_model_scale_mean(const km_model *m, size_t j);      /* 0 without scaling */
double km_model_scale_sd(const km_model *m, size_t j);        /* 1 without scaling */

/* A little-endian blob: "MLWBKM01", u64 k, u64 d, u32 scaled, d names (u32 length +
 * bytes), when scaled d f64 means and d f64 sds, k*d f32 centroids.  Deserializing checks
 * every size and value and rejects a truncated or corrupted blob with a message. */
mlwb_status km_model_serialize(const km_model *m, void **blob, size_t *len, char **err);
mlwb_status km_model_deserialize(const void *blob, size_t len, km_model **out, char **err);

#endif
