/*
 * num.c — shortest round-trip decimals for float32 (see mlwb/core/num.h).
 */
#include "mlwb/core/num.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double num_f32(float f)
{
    if (!isfinite(f))
        return (double)f;
    char buf[32];
    for (int prec = 6; prec < 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return strtod(buf, NULL);
    }
    snprintf(buf, sizeof buf, "%.9g", (double)f);
    return strtod(buf, NULL);
}
