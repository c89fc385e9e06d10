/* distrinas int8 kernels (see dn_kernels.h). Right shifts of negative values are
 * arithmetic, as on every compiler distrinas targets (GCC, Clang, Arm). */
#include "dn_kernels.h"

#define DN_ADD_LEFT_SHIFT 20

int32_t dn_requantize(int32_t v, int32_t mult, int32_t shift) {
    const int64_t total = 31 - (int64_t)shift;
    int64_t r = (int64_t)v * (int64_t)mult;
    r = ((r >> (total - 1)) + 1) >> 1;
    if (r > INT32_MAX) return INT32_MAX;
    if (r < INT32_MIN) return INT32_MIN;
    return (int32_t)r;
}

static int8_t dn_clamp(int32_t v, const dn_quant *q) {
    if (v < q->act_min) v = q->act_min;
    if (v > q->act_max) v = q->act_max;
    return (int8_t)v;
}

/* Input row of output row o and tap k, or -1 outside the input. */
static int32_t dn_row(const dn_geom *g, int32_t o, int32_t k) {
    int32_t i = o * g->sh + k * g->dh - g->ph;
    return (i >= 0 && i < g->ih) ? i : -1;
}

static int32_t dn_col(const dn_geom *g, int32_t o, int32_t k) {
    int32_t i = o * g->sw + k * g->dw - g->pw;
    return (i >= 0 && i < g->iw) ? i : -1;
}

void dn_conv_s8(const int8_t *x, int8_t *y, const dn_geom *g, int32_t cout,
                const int8_t *w, const int32_t *bias, const int32_t *mult,
                const int32_t *shift, const dn_quant *q) {
    const int32_t k = g->kh * g->kw * g->c;
    for (int32_t oy = 0; oy < g->oh; oy++) {
        for (int32_t ox = 0; ox < g->ow; ox++) {
            int8_t *out = y + (oy * g->ow + ox) * cout;
            for (int32_t co = 0; co < cout; co++) {
                const int8_t *wc = w + co * k;
                int32_t acc = bias[co];
                for (int32_t ky = 0; ky < g->kh; ky++) {
                    int32_t iy = dn_row(g, oy, ky);
                    if (iy < 0) continue;
                    for (int32_t kx = 0; kx < g->kw; kx++) {
                        int32_t ix = dn_col(g, ox, kx);
                        if (ix < 0) continue;
                        const int8_t *xi = x + (iy * g->iw + ix) * g->c;
                        const int8_t *wi = wc + (ky * g->kw + kx) * g->c;
                        for (int32_t ci = 0; ci < g->c; ci++) {
                            acc += ((int32_t)xi[ci] - q->in_zero) * (int32_t)wi[ci];
                        }
                    }
                }
                out[co] = dn_clamp(dn_requantize(acc, mult[co], shift[co]) + q->out_zero, q);
            }
        }
    }
}

void dn_depthwise_s8(const int8_t *x, int8_t *y, const dn_geom *g, const int8_t *w,
                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                     const dn_quant *q) {
    for (int32_t oy = 0; oy < g->oh; oy++) {
        for (int32_t ox = 0; ox < g->ow; ox++) {
            int8_t *out = y + (oy * g->ow + ox) * g->c;
            for (int32_t c = 0; c < g->c; c++) {
                int32_t acc = bias[c];
                for (int32_t ky = 0; ky < g->kh; ky++) {
                    int32_t iy = dn_row(g, oy, ky);
                    if (iy < 0) continue;
                    for (int32_t kx = 0; kx < g->kw; kx++) {
                        int32_t ix = dn_col(g, ox, kx);
                        if (ix < 0) continue;
                        acc += ((int32_t)x[(iy * g->iw + ix) * g->c + c] - q->in_zero) *
                               (int32_t)w[(ky * g->kw + kx) * g->c + c];
                    }
                }
                out[c] = dn_clamp(dn_requantize(acc, mult[c], shift[c]) + q->out_zero, q);
            }
        }
    }
}

void dn_dense_s8(const int8_t *x, int8_t *y, int32_t nin, int32_t nout, const int8_t *w,
                 const int32_t *bias, const int32_t *mult, const int32_t *shift,
                 const dn_quant *q) {
    for (int32_t o = 0; o < nout; o++) {
        const int8_t *wo = w + o * nin;
        int32_t acc = bias[o];
        for (int32_t i = 0; i < nin; i++) {
            acc += ((int32_t)x[i] - q->in_zero) * (int32_t)wo[i];
        }
        y[o] = dn_clamp(dn_requantize(acc, mult[o], shift[o]) + q->out_zero, q);
    }
}

static int32_t dn_rounded_div(int32_t sum, int32_t count) {
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

static void dn_pool(const int8_t *x, int8_t *y, const dn_geom *g, const dn_quant *q,
                    int avg) {
    for (int32_t oy = 0; oy < g->oh; oy++) {
        for (int32_t ox = 0; ox < g->ow; ox++) {
            for (int32_t c = 0; c < g->c; c++) {
                int32_t acc = avg ? 0 : -128, count = 0;
                for (int32_t ky = 0; ky < g->kh; ky++) {
                    int32_t iy = dn_row(g, oy, ky);
                    if (iy < 0) continue;
                    for (int32_t kx = 0; kx < g->kw; kx++) {
                        int32_t ix = dn_col(g, ox, kx);
                        if (ix < 0) continue;
                        int32_t v = x[(iy * g->iw + ix) * g->c + c];
                        if (avg) {
                            acc += v;
                        } else if (v > acc) {
                            acc = v;
                        }
                        count++;
                    }
                }
                if (avg) acc = dn_rounded_div(acc, count > 0 ? count : 1);
                y[(oy * g->ow + ox) * g->c + c] = dn_clamp(acc, q);
            }
        }
    }
}

void dn_maxpool_s8(const int8_t *x, int8_t *y, const dn_geom *g, const dn_quant *q) {
    dn_pool(x, y, g, q, 0);
}

void dn_avgpool_s8(const int8_t *x, int8_t *y, const dn_geom *g, const dn_quant *q) {
    dn_pool(x, y, g, q, 1);
}

void dn_global_avgpool_s8(const int8_t *x, int8_t *y, int32_t spatial, int32_t c,
                          const dn_quant *q) {
    for (int32_t ch = 0; ch < c; ch++) {
        int32_t sum = 0;
        for (int32_t p = 0; p < spatial; p++) sum += x[p * c + ch];
        y[ch] = dn_clamp(dn_rounded_div(sum, spatial), q);
    }
}

void dn_clamp_s8(const int8_t *x, int8_t *y, int32_t n, const dn_quant *q) {
    for (int32_t i = 0; i < n; i++) y[i] = dn_clamp(x[i], q);
}

void dn_add_s8(const int8_t *a, const int8_t *b, int8_t *y, int32_t n, int32_t a_mult,
               int32_t a_shift, int32_t b_zero, int32_t b_mult, int32_t b_shift,
               int32_t out_mult, int32_t out_shift, const dn_quant *q) {
    for (int32_t i = 0; i < n; i++) {
        int32_t va = dn_requantize(((int32_t)a[i] - q->in_zero) * (1 << DN_ADD_LEFT_SHIFT),
                                   a_mult, a_shift);
        int32_t vb = dn_requantize(((int32_t)b[i] - b_zero) * (1 << DN_ADD_LEFT_SHIFT),
                                   b_mult, b_shift);
        y[i] = dn_clamp(dn_requantize(va + vb, out_mult, out_shift) + q->out_zero, q);
    }
}
