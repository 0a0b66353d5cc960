/*
 * blas.h — the two BLAS products mlwb uses, through OpenBLAS or, where OpenBLAS cannot
 * be trusted, a plain loop.
 *
 * OpenBLAS takes a 128 MB work buffer (mmap) for each concurrent call, and when that
 * mapping fails (a process under an address-space limit, setrlimit(RLIMIT_AS) or
 * `ulimit -v`) it retries for ever: the program hangs instead of failing.  So under such
 * a limit (or with MLWB_NO_BLAS=1 in the environment) these functions never call it; the
 * loops give the same products to float rounding, more slowly.  Every out-of-memory
 * failure then comes from mlwb's own allocations, which fail with a clear error.
 */
#ifndef MLWB_CORE_BLAS_H
#define MLWB_CORE_BLAS_H

#include <stdbool.h>
#include <stddef.h>

/* C (m x n, row stride ldc) = A (m x k, stride lda) * B^T (B: n x k, stride ldb). */
void blas_sgemm_nt(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                   size_t ldb, float *c, size_t ldc);
/* y (m) = A (m x k, stride lda) * x (k). */
void blas_sgemv(size_t m, size_t k, const float *a, size_t lda, const float *x, float *y);
/* True when OpenBLAS is used (no address-space limit, MLWB_NO_BLAS unset). */
bool blas_native(void);

#endif
