/* distrinas int8 kernels: integer-only inference with the arithmetic of CMSIS-NN's
 * reference kernels (arm_nn_requantize with single rounding, arm_elementwise_add_s8,
 * arm_avgpool_s8), written for the export. Plain C99, no dynamic allocation, no
 * floating point. Activations are channel-last int8; a 1-D tensor [T, C] runs as
 * [T, 1, C]. See docs/export.md. */
#ifndef DN_KERNELS_H
#define DN_KERNELS_H

#include <stdint.h>

/* Window geometry: input rows/cols/channels, output rows/cols, kernel, stride,
 * dilation, padding before the first row/col. */
typedef struct {
    int32_t ih, iw, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
} dn_geom;

/* Output code and clamp of one step: y = clamp(requant(acc) + out_zero). */
typedef struct {
    int32_t in_zero, out_zero, act_min, act_max;
} dn_quant;

/* round(v * real) with real = mult * 2^(shift - 31), halves rounded up. */
int32_t dn_requantize(int32_t v, int32_t mult, int32_t shift);

/* Convolution, weights [cout][kh][kw][cin], per-channel bias/mult/shift. */
void dn_conv_s8(const int8_t *x, int8_t *y, const dn_geom *g, int32_t cout,
                const int8_t *w, const int32_t *bias, const int32_t *mult,
                const int32_t *shift, const dn_quant *q);
/* Depthwise convolution (multiplier 1), weights [kh][kw][c]. */
void dn_depthwise_s8(const int8_t *x, int8_t *y, const dn_geom *g, const int8_t *w,
                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                     const dn_quant *q);
/* Fully connected, weights [nout][nin]. */
void dn_dense_s8(const int8_t *x, int8_t *y, int32_t nin, int32_t nout, const int8_t *w,
                 const int32_t *bias, const int32_t *mult, const int32_t *shift,
                 const dn_quant *q);
/* Max / average pooling over the cells inside the input (codes unchanged). */
void dn_maxpool_s8(const int8_t *x, int8_t *y, const dn_geom *g, const dn_quant *q);
void dn_avgpool_s8(const int8_t *x, int8_t *y, const dn_geom *g, const dn_quant *q);
void dn_global_avgpool_s8(const int8_t *x, int8_t *y, int32_t spatial, int32_t c,
                          const dn_quant *q);
/* Elementwise clamp to [act_min, act_max] (ReLU, ReLU6; a copy for Flatten). */
void dn_clamp_s8(const int8_t *x, int8_t *y, int32_t n, const dn_quant *q);
/* Residual addition: a in code (q->in_zero), b in code (b_zero). */
void dn_add_s8(const int8_t *a, const int8_t *b, int8_t *y, int32_t n, int32_t a_mult,
               int32_t a_shift, int32_t b_zero, int32_t b_mult, int32_t b_shift,
               int32_t out_mult, int32_t out_shift, const dn_quant *q);

#endif
