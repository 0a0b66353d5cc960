/* samples_data.S — the bundled sample CSV files, embedded with .incbin (see samples.c).
 * Paths are relative to the top of the tree, where make runs. */
#define SAMPLE(name, file)          \
    .global mlwb_sample_##name;     \
    .global mlwb_sample_##name##_end; \
mlwb_sample_##name:                 \
    .incbin file;                   \
mlwb_sample_##name##_end:           \
    .byte 0

    .section .rodata
SAMPLE(iris, "samples/data/iris.csv")
SAMPLE(wine, "samples/data/wine.csv")
SAMPLE(breast_cancer, "samples/data/breast_cancer.csv")
SAMPLE(digits, "samples/data/digits.csv")
    .section .note.GNU-stack,"",@progbits
