/*
 * chart.c — a k-curve as an ASCII chart, for scripts and plain terminals.
 *
 * The chart is W columns by H rows of characters: '*' the mean at each k, ':' the
 * mean ± one standard error (the band the one-standard-error rule reads), 'o' the best
 * k; a y axis labelled with values (within 0..1), an x axis with k.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"

#define W 60
#define H 12

char *cmd_chart_curve(json_t *curve)
{
    json_t *pts = json_object_get(curve, "points");
    size_t n = json_array_size(pts);
    if (n == 0)
        return NULL;
    int best = (int)json_integer_value(json_object_get(curve, "best_k"));
    int kmin = (int)json_integer_value(json_object_get(json_array_get(pts, 0), "k"));
    int kmax = (int)json_integer_value(json_object_get(json_array_get(pts, n - 1), "k"));
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pts, i);
        double m = json_number_value(json_object_get(p, "mean"));
        double sd = json_number_value(json_object_get(p, "se"));
        lo = fmin(lo, fmax(0, m - sd));
        hi = fmax(hi, fmin(1, m + sd));
    }
    if (!(hi > lo)) {
        lo -= 0.005;
        hi += 0.005;
    }
    char grid[H][W + 1];
    for (int r = 0; r < H; r++) {
        memset(grid[r], ' ', W);
        grid[r][W] = 0;
    }
#define ROW(v) ((int)lround((hi - (v)) / (hi - lo) * (H - 1)))
#define COL(k) (kmax > kmin ? (int)lround((double)((k) - kmin) / (kmax - kmin) * (W - 1)) : 0)
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pts, i);
        int k = (int)json_integer_value(json_object_get(p, "k"));
        double m = json_number_value(json_object_get(p, "mean"));
        double sd = json_number_value(json_object_get(p, "se"));
        int c = COL(k);
        for (int r = ROW(m + sd); r <= ROW(m - sd); r++)
            if (r >= 0 && r < H && grid[r][c] == ' ')
                grid[r][c] = ':';
    }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pts, i);
        int k = (int)json_integer_value(json_object_get(p, "k"));
        int r = ROW(json_number_value(json_object_get(p, "mean")));
        if (r >= 0 && r < H)
            grid[r][COL(k)] = k == best ? 'o' : '*';
    }
    size_t cap = (size_t)(H + 4) * (W + 16);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    for (int r = 0; r < H; r++) {
        double v = hi - (hi - lo) * r / (H - 1);
        o += (size_t)snprintf(out + o, cap - o, "%7.4f |%s\n", v, grid[r]);
    }
    o += (size_t)snprintf(out + o, cap - o, "        +");
    for (int c = 0; c < W && o < cap; c++)
        out[o++] = '-';
    char axis[W + 2];
    memset(axis, ' ', W + 1);
    axis[W + 1] = 0;
    char num[16];
    int w = snprintf(num, sizeof num, "%d", kmin);
    memcpy(axis, num, (size_t)w);
    w = snprintf(num, sizeof num, "%d", kmax);
    if (W - w >= 0)
        memcpy(axis + W - w, num, (size_t)w);
    if (best > 0) {
        w = snprintf(num, sizeof num, "%d", best);
        int c = COL(best) - w / 2;
        if (c > 3 && c + w < W - 4)
            memcpy(axis + c, num, (size_t)w);
    }
    snprintf(out + o, cap - o, "\n         %s k\n", axis);
#undef ROW
#undef COL
    return out;
}
