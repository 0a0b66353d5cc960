/* samples_data.S — the bundled sample CSV files, embedded with .incbin (see samples.c). */
    .section .rodata
    .global mlwb_sample_iris
    .global mlwb_sample_iris_end
mlwb_sample_iris:
    .incbin "samples/data/iris.csv"
mlwb_sample_iris_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
