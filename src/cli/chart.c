/*
 * chart.c — a k-curve as an ASCII chart, for scripts and plain terminals.
 *
 * The chart is W columns by H rows of characters: '*' the value at each k, ':' the
 * value ± a band (for KNN the standard error the one-standard-error rule reads), 'o'
 * the marked k; a y axis labelled with values, an x axis with k.  Points whose value is
 * null (not defined) are left out.
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
    return cmd_chart(curve, "mean", "se", (int)json_integer_value(json_object_get(curve, "best_k")),
                     1);
}

char *cmd_chart(json_t *curve, const char *key, const char *band, int best, int clamp01)
{
    json_t *pts = json_object_get(curve, "points");
    size_t n = json_array_size(pts);
    if (n == 0)
        return NULL;
    int kmin = (int)json_integer_value(json_object_get(json_array_get(pts, 0), "k"));
    int kmax = (int)json_integer_value(json_object_get(json_array_get(pts, n - 1), "k"));
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pts, i);
        if (!json_is_number(json_object_get(p, key)))
            continue;
        double m = json_number_value(json_object_get(p, key));
        double sd = band ? json_number_value(json_object_get(p, band)) : 0;
        lo = fmin(lo, clamp01 ? fmax(0, m - sd) : m - sd);
        hi = fmax(hi, clamp01 ? fmin(1, m + sd) : m + sd);
    }
    if (!isfinite(lo) || !isfinite(hi))
        return NULL;
    if (!(hi > lo)) {
        double pad = fabs(lo) * 0.01 + 0.005;
        lo -= pad;
        hi += pad;
    }
    char grid[H][W + 1];
    for (int r = 0; r < H; r++) {
        memset(grid[r], ' ', W);
        grid[r][W] = 0;
    }
#define ROW(v) ((int)lround((hi - (v)) / (hi - lo) * (H - 1)))
#define COL(k) (kmax > kmin ? (int)lround((double)((k) - kmin) / (kmax - kmin) * (W - 1)) : 0)
    for (size_t i = 0; band && i < n; i++) {
        json_t *p = json_array_get(pts, i);
        if (!json_is_number(json_object_get(p, key)))
            continue;
        int k = (int)json_integer_value(json_object_get(p, "k"));
        double m = json_number_value(json_object_get(p, key));
        double sd = json_number_value(json_object_get(p, band));
        int c = COL(k);
        for (int r = ROW(m + sd); r <= ROW(m - sd); r++)
            if (r >= 0 && r < H && grid[r][c] == ' ')
                grid[r][c] = ':';
    }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pts, i);
        if (!json_is_number(json_object_get(p, key)))
            continue;
        int k = (int)json_integer_value(json_object_get(p, "k"));
        int r = ROW(json_number_value(json_object_get(p, key)));
        if (r >= 0 && r < H)
            grid[r][COL(k)] = k == best ? 'o' : '*';
    }
    size_t cap = (size_t)(H + 4) * (W + 16);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    /* axis labels: enough decimals that neighbouring rows differ (KNN: always 4) */
    int dec = 4, big = fmax(fabs(hi), fabs(lo)) >= 1e6;
    if (!clamp01) {
        dec = 2 - (int)floor(log10((hi - lo) / (H - 1)));
        dec = dec < 0 ? 0 : dec > 4 ? 4 : dec;
    }
    for (int r = 0; r < H; r++) {
        double v = hi - (hi - lo) * r / (H - 1);
        if (clamp01 || !big)
            o += (size_t)snprintf(out + o, cap - o, "%7.*f |%s\n", dec, v, grid[r]);
        else
            o += (size_t)snprintf(out + o, cap - o, "%7.3g |%s\n", v, grid[r]);
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
