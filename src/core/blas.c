/*
 * blas.c — see blas.h.  The decision is taken once, on the first call.
 */
#include "mlwb/core/blas.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool native;

static void decide(void)
{
    struct rlimit rl;
    const char *off = getenv("MLWB_NO_BLAS");
    bool limited = getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
    native = !limited && !(off && *off && strcmp(off, "0") != 0);
}

bool blas_native(void)
{
    pthread_once(&once, decide);
    return native;
}

void blas_sgemm_nt(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                   size_t ldb, float *c, size_t ldc)
{
    if (blas_native()) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, a,
                    (int)lda, b, (int)ldb, 0.0f, c, (int)ldc);
        return;
    }
    for (size_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        float *ci = c + i * ldc;
        for (size_t j = 0; j < n; j++) {
            const float *bj = b + j * ldb;
            float s = 0;
            for (size_t t = 0; t < k; t++)
                s += ai[t] * bj[t];
            ci[j] = s;
        }
    }
}

void blas_sgemv(size_t m, size_t k, const float *a, size_t lda, const float *x, float *y)
{
    if (blas_native()) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0f, a, (int)lda, x, 1,
                    0.0f, y, 1);
        return;
    }
    for (size_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        float s = 0;
        for (size_t t = 0; t < k; t++)
            s += ai[t] * x[t];
        y[i] = s;
    }
}
