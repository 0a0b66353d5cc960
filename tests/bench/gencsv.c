/*
 * gencsv.c — a deterministic CSV for the load benchmark (tests/bench/run.sh).
 *
 * gencsv ROWS FEATURES [SEED] > file.csv writes a header (f1..fN,label) and ROWS rows of
 * N numbers with five decimals (e.g. -3.14159) and a text label (class0..class4): five
 * blobs whose centres differ per class.  Integer arithmetic only (splitmix64 and an
 * Irwin-Hall sum for the noise), so the same arguments give the same bytes everywhere.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state;

static uint64_t next(void)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Append v / 100000 with five decimals. */
static char *put_fixed(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    int64_t ip = v / 100000, fp = v % 100000;
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (n)
        *p++ = tmp[--n];
    *p++ = '.';
    for (int64_t d = 10000; d; d /= 10)
        *p++ = (char)('0' + (fp / d) % 10);
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gencsv ROWS FEATURES [SEED]\n");
        return 2;
    }
    long rows = atol(argv[1]), nf = atol(argv[2]);
    state = argc > 3 ? strtoull(argv[3], NULL, 10) : 42;
    static char buf[1 << 16];
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    for (long j = 0; j < nf; j++)
        printf("f%ld,", j + 1);
    printf("label\n");
    for (long i = 0; i < rows; i++) {
        int c = (int)(next() % 5);
        char *p = buf;
        for (long j = 0; j < nf; j++) {
            int64_t centre = (int64_t)(((c * 7 + j * 3) % 11) - 5) * 100000;
            int64_t noise = 0;
            for (int k = 0; k < 4; k++)
                noise += (int64_t)(next() % 200001) - 100000;
            p = put_fixed(p, centre + noise);
            *p++ = ',';
        }
        p += sprintf(p, "class%d\n", c);
        fwrite(buf, 1, (size_t)(p - buf), stdout);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
