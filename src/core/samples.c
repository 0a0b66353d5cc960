/*
 * samples.c — the table of data sets bundled into the binary (see mlwb/core/samples.h).
 * The bytes come from samples/data/NAME.csv through samples_data.S; provenance and licences
 * are in samples/data/README.md.  Read-only: safe from any thread.
 */
#include "mlwb/core/samples.h"

#include <string.h>

extern const char mlwb_sample_iris[], mlwb_sample_iris_end[];

static const struct {
    const char *name, *description;
    const char *start, *end;
} table[] = {
    {"iris", "Fisher's iris: 150 flowers, 4 measurements, 3 species", mlwb_sample_iris,
     mlwb_sample_iris_end},
};

int sample_at(size_t i, sample_info *out)
{
    if (i >= sizeof table / sizeof table[0])
        return 0;
    out->name = table[i].name;
    out->description = table[i].description;
    out->data = table[i].start;
    out->len = (size_t)(table[i].end - table[i].start);
    return 1;
}

int sample_find(const char *name, sample_info *out)
{
    for (size_t i = 0; sample_at(i, out); i++)
        if (strcmp(out->name, name) == 0)
            return 1;
    return 0;
}
