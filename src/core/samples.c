/*
 * samples.c — the table of data sets bundled into the binary (see mlwb/core/samples.h).
 * The bytes come from samples/data/NAME.csv through samples_data.S; provenance and licences
 * are in samples/data/README.md.  Read-only: safe from any thread.
 */
#include "mlwb/core/samples.h"

#include <string.h>

extern const char mlwb_sample_iris[], mlwb_sample_iris_end[];
extern const char mlwb_sample_wine[], mlwb_sample_wine_end[];
extern const char mlwb_sample_breast_cancer[], mlwb_sample_breast_cancer_end[];
extern const char mlwb_sample_digits[], mlwb_sample_digits_end[];

static const struct {
    const char *name, *description;
    const char *start, *end;
} table[] = {
    {"iris", "Fisher's iris: 150 flowers, 4 measurements, 3 species", mlwb_sample_iris,
     mlwb_sample_iris_end},
    {"wine", "UCI wine: 178 wines, 13 chemical measurements, 3 cultivars", mlwb_sample_wine,
     mlwb_sample_wine_end},
    {"breast_cancer", "Wisconsin diagnostic breast cancer: 569 cases, 30 features, 2 classes",
     mlwb_sample_breast_cancer, mlwb_sample_breast_cancer_end},
    {"digits", "handwritten digits: 1797 8x8 images as 64 pixel counts, 10 classes",
     mlwb_sample_digits, mlwb_sample_digits_end},
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
    sample_info s;
    for (size_t i = 0; sample_at(i, &s); i++)
        if (strcmp(s.name, name) == 0) {
            *out = s;
            return 1;
        }
    return 0;
}
