/*
 * normal.c: the inverse of the standard-normal CDF.
 *
 * Peter J. Acklam's rational approximations (relative error below 1.15e-9
 * over the whole range), followed by one step of Halley's method against the
 * CDF computed with erfc from <math.h>, which brings the result to within a
 * few units in the last place. Any coverage level works, not a table of 80
 * and 95.
 */
#include "normal.h"

#include <math.h>

/* Coefficients of the central region's rational function. */
static const double A[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                            -2.759285104469687e+02, 1.383577518672690e+02,
                            -3.066479806614716e+01, 2.506628277459239e+00};
static const double B[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                            -1.556989798598866e+02, 6.680131188771972e+01,
                            -1.328068155288572e+01};
/* Coefficients of the tails' rational function. */
static const double C[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                            -2.400758277161838e+00, -2.549732539343734e+00,
                            4.374664141464968e+00,  2.938163982698783e+00};
static const double D[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                            2.445134137142996e+00, 3.754408661907416e+00};

/* Where the central region ends. */
#define P_LOW 0.02425
/* sqrt(2), sqrt(2 pi) and sqrt(pi / 2): <math.h> has no portable
 * constants for them. */
#define SQRT2 1.41421356237309504880
#define SQRT2PI 2.50662827463100050242
#define SQRT_HALF_PI 1.25331413731550025121

/* The lower tail, p in (0, P_LOW). */
static double lower_tail(double p) {
    double q = sqrt(-2.0 * log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
           ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0);
}

/* Acklam's approximation, p in (0, 1). */
static double acklam(double p) {
    if (p < P_LOW) {
        return lower_tail(p);
    }
    if (p > 1.0 - P_LOW) {
        return -lower_tail(1.0 - p);
    }
    double q = p - 0.5;
    double r = q * q;
    return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
           (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0);
}

double normal_quantile(double p) {
    if (!(p > 0.0 && p < 1.0)) {
        return NAN;
    }
    double x = acklam(p);
    /* One Halley step on F(x) - p = 0, with F(x) = erfc(-x / sqrt 2) / 2.
     * Working on the smaller tail keeps erfc away from cancellation. */
    double e = p <= 0.5 ? 0.5 * erfc(-x / SQRT2) - p : (1.0 - p) - 0.5 * erfc(x / SQRT2);
    double u = e * SQRT2PI * exp(x * x / 2.0);
    return x - u / (1.0 + x * u / 2.0);
}

double normal_central_z(double level) {
    if (!(level > 0.0 && level < 100.0)) {
        return NAN;
    }
    /* Start from the quantile of the upper tail, (100 - level) / 200 ... */
    double z = -acklam((100.0 - level) / 200.0);
    /* ... and take one Halley step on the coverage itself: P(|Z| < z) =
     * erf(z / sqrt 2) = level / 100. Using erf below 50% and erfc above keeps
     * every digit at both ends: tiny levels (where a tail near 0.5 would
     * cancel) and levels near 100. The derivative is 2 phi(z), and the
     * second derivative over the first is -z. */
    double f = level < 50.0 ? erf(z / SQRT2) - level / 100.0
                            : (100.0 - level) / 100.0 - erfc(z / SQRT2);
    double u = f * SQRT_HALF_PI * exp(z * z / 2.0);
    return z - u / (1.0 + z * u / 2.0);
}
