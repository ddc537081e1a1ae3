/*
 * normal.h: standard-normal quantiles for prediction intervals.
 */
#ifndef STRATUS_C_EXAMPLE_NORMAL_H
#define STRATUS_C_EXAMPLE_NORMAL_H

/* The standard-normal quantile: the x with P(Z <= x) = p, for p in (0, 1);
 * NaN outside. Accurate to a few units in the last place. */
double normal_quantile(double p);

/* The half-width, in standard deviations, of a central interval covering
 * `level` percent of a normal distribution: 1.2816 for 80, 1.9600 for 95.
 * level must be in (0, 100); NaN otherwise. */
double normal_central_z(double level);

#endif /* STRATUS_C_EXAMPLE_NORMAL_H */
