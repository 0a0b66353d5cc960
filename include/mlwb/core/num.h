/*
 * num.h — numbers as people read them.
 *
 * A float32 widened to double prints as 5.099999904632568; num_f32 gives the double
 * of the float's shortest decimal that reads back as the same float (5.1), so JSON and
 * logs show what the user typed.  Thread-safety: reentrant; needs LC_NUMERIC "C"
 * (main sets it).
 */
#ifndef MLWB_CORE_NUM_H
#define MLWB_CORE_NUM_H

double num_f32(float f);

#endif
