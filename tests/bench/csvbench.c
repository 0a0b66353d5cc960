/*
 * csvbench.c — mlwb's CSV parse alone, timed (tests/bench/run.sh builds it against
 * build/libmlwb.a).
 *
 * csvbench FILE [THREADS [REPEAT [CHUNK_MB]]] loads FILE with csv_load_file REPEAT times
 * (default 3), with CHUNK_MB MB windows (default: the parser's own, 4)
 * and prints one line per run and a summary line:
 *   parse  SECONDS  MB/s  ROWS x COLS  HASH
 *   best SECONDS mbps MB/S peak_rss_kb KB matrix_mb MB
 * THREADS 0 (default) means all cores.  Peak RSS is the process's (getrusage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "mlwb/core/csv.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: csvbench FILE [THREADS [REPEAT [CHUNK_MB]]]\n");
        return 2;
    }
    csv_opts o = {.threads = argc > 2 ? atoi(argv[2]) : 0};
    int repeat = argc > 3 ? atoi(argv[3]) : 3;
    if (argc > 4)
        o.chunk_size = (size_t)atoi(argv[4]) << 20;
    struct stat sb;
    if (stat(argv[1], &sb) != 0) {
        perror(argv[1]);
        return 1;
    }
    double mb = (double)sb.st_size / 1e6, best = 1e30, matrix_mb = 0;
    for (int r = 0; r < repeat; r++) {
        ds *d = NULL;
        char *err = NULL;
        double t0 = now();
        mlwb_status st = csv_load_file(argv[1], &o, &d, &err);
        double t = now() - t0;
        if (st != MLWB_OK) {
            fprintf(stderr, "csvbench: %s\n", err ? err : "error");
            return 1;
        }
        printf("parse  %.3f s  %.0f MB/s  %zu x %zu  %s\n", t, mb / t, d->rows, d->cols,
               d->hash);
        matrix_mb = (double)d->rows * (double)d->cols * 4 / 1e6;
        if (t < best)
            best = t;
        ds_release(&d);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("best %.3f mbps %.0f peak_rss_kb %ld matrix_mb %.1f\n", best, mb / best,
           ru.ru_maxrss, matrix_mb);
    return 0;
}
