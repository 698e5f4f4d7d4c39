/* The kernel's driver: operand packing, the task loop over (panel, block of images), and
 * the ADC + shift-add epilogue.  The micro-kernels are in crossbar_kernels.c. */
#include <stdlib.h>
#include <string.h>

#include "crossbar.h"


/* gcc clones the hot scalar loops for AVX2 and picks one at load time (ifunc). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

#define BLOCK_TARGET_ROWS 64 /* bit-plane rows per task: 64 x R bytes stays in L1/L2 */
/* lcm(input_bits <= 16, mr <= 8) <= 120 rows; panels are at most 32 columns wide. */
#define MAX_BLOCK_ROWS 128
#define MAX_PANEL_WIDTH 32

static int round_up(int value, int step) { return (value + step - 1) / step * step; }

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

size_t crossbar_weights_bytes(const crossbar_isa *isa, int slices, int rows, int cols)
{
    size_t kgroups = (size_t)(rows + isa->kg - 1) / isa->kg;
    size_t panels = (size_t)(cols + isa->nw - 1) / isa->nw;
    return (size_t)slices * panels * kgroups * isa->kg * isa->nw;
}

MULTIVERSION static uint8_t or_all(const uint8_t *values, size_t count)
{
    uint8_t any = 0;
    for (size_t i = 0; i < count; i++)
        any |= values[i];
    return any;
}

ptrdiff_t crossbar_pack_weights(crossbar_weights *w, const uint8_t *levels_pos,
                                const uint8_t *levels_neg)
{
    const int kg = w->isa->kg, nw = w->isa->nw, R = w->rows, C = w->cols;
    const size_t count = (size_t)w->slices * R * C;
    const size_t panel_bytes = (size_t)w->kgroups * kg * nw;
    /* A level above 2**cell_bits - 1 has a bit at or above cell_bits. */
    if ((or_all(levels_pos, count) | or_all(levels_neg, count)) >> w->cell_bits) {
        for (size_t i = 0; i < count; i++)
            if ((levels_pos[i] | levels_neg[i]) >> w->cell_bits)
                return (ptrdiff_t)i;
    }
    if (C % nw != 0)
        memset(w->data, 0, panel_bytes * w->panels * w->slices); /* zero columns of the last panel */
    for (int s = 0; s < w->slices; s++) {
        for (int g = 0; g < w->kgroups; g++) {
            /* Rows past R read the same row as pos and neg: difference 0 (zero padding). */
            const uint8_t *pos[4], *neg[4];
            for (int q = 0; q < kg; q++) {
                int r = g * kg + q < R ? g * kg + q : R - 1;
                const uint8_t *level_row = levels_pos + ((size_t)s * R + r) * C;
                pos[q] = level_row;
                neg[q] = g * kg + q < R ? levels_neg + ((size_t)s * R + r) * C : level_row;
            }
            for (int p = 0; p < w->panels; p++) {
                int8_t *dst = w->data + ((size_t)s * w->panels + p) * panel_bytes +
                              (size_t)g * kg * nw;
                int c0 = p * nw, width = C - c0 < nw ? C - c0 : nw;
                const uint8_t *pos_p[4], *neg_p[4];
                for (int q = 0; q < kg; q++) {
                    pos_p[q] = pos[q] + c0;
                    neg_p[q] = neg[q] + c0;
                }
                w->isa->pack(dst, pos_p, neg_p, width);
            }
        }
    }
    return -1;
}

int crossbar_bitplane_rows(const crossbar_isa *isa, int batch, int input_bits)
{
    return round_up(batch * input_bits, isa->mr);
}

ptrdiff_t crossbar_bitplane_pitch(const crossbar_isa *isa, int rows)
{
    /* A pitch that is a multiple of 4 KiB would map every bit-plane row of a micro-kernel
     * step to the same L1 set; one extra cache line breaks the conflict. */
    ptrdiff_t pitch = round_up(rows, isa->kg);
    pitch = (pitch + 63) / 64 * 64;
    if (pitch % 4096 == 0)
        pitch += 64;
    return pitch;
}

#define BITPLANES_FROM(type)                                                             \
    do {                                                                                 \
        const type *v = (const type *)x;                                                 \
        for (int n = 0; n < batch; n++)                                                  \
            for (int r = 0; r < rows; r++) {                                             \
                type value = v[(size_t)n * rows + r];                                    \
                if (value < 0 || (uint64_t)value >> input_bits)                          \
                    return (ptrdiff_t)n * rows + r;                                      \
                for (int b = 0; b < input_bits; b++)                                     \
                    xb[((size_t)n * input_bits + b) * pitch + r] = (uint8_t)((value >> b) & 1); \
            }                                                                            \
    } while (0)

ptrdiff_t crossbar_bitplanes(const crossbar_isa *isa, const void *x, int itemsize, int is_signed,
                             int batch, int rows, int input_bits, uint8_t *xb)
{
    ptrdiff_t pitch = crossbar_bitplane_pitch(isa, rows);
    memset(xb, 0, (size_t)crossbar_bitplane_rows(isa, batch, input_bits) * pitch);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"
    switch (itemsize * (is_signed ? -1 : 1)) {
    case 1: BITPLANES_FROM(uint8_t); break;
    case 2: BITPLANES_FROM(uint16_t); break;
    case 4: BITPLANES_FROM(uint32_t); break;
    case 8: BITPLANES_FROM(uint64_t); break;
    case -1: BITPLANES_FROM(int8_t); break;
    case -2: BITPLANES_FROM(int16_t); break;
    case -4: BITPLANES_FROM(int32_t); break;
    case -8: BITPLANES_FROM(int64_t); break;
    default: return 0;
    }
#pragma GCC diagnostic pop
    return -1;
}

/* out[j] += adc(acc[j]) << weight_shift for one bit-plane row of one panel.  The left
 * shift runs on uint64 so that it is defined for negative codes (two's complement). */
MULTIVERSION static void adc_shift_add(const int32_t *acc, int width, const crossbar_adc *adc,
                                       int weight_shift, int64_t *out)
{
    if (adc->adc_bits == 0) {
        for (int j = 0; j < width; j++)
            out[j] += (int64_t)((uint64_t)(int64_t)acc[j] << weight_shift);
        return;
    }
    const int32_t lo = -(1 << (adc->adc_bits - 1)), hi = (1 << (adc->adc_bits - 1)) - 1;
    const int shift = adc->adc_shift;
    const int32_t half = shift > 0 ? 1 << (shift - 1) : 0;
    for (int j = 0; j < width; j++) {
        int32_t code = (int32_t)(((int64_t)acc[j] + half) >> shift);
        code = code < lo ? lo : code > hi ? hi : code;
        out[j] += (int64_t)((uint64_t)(int64_t)code << weight_shift);
    }
}

int crossbar_thread_count(int requested, double work, int tasks)
{
    int threads = requested > 0 ? requested : 1;
    double useful = work / CROSSBAR_WORK_PER_THREAD;
    if (threads > useful)
        threads = (int)useful;
    if (threads > tasks)
        threads = tasks;
    return threads < 1 ? 1 : threads;
}

typedef struct {
    const crossbar_weights *w;
    const uint8_t *xb;
    ptrdiff_t ldx;
    const crossbar_adc *adc;
    int64_t *out;
    int rows_total, padded_rows, block_rows, blocks;
} matvec_job;

/* One task: one panel of columns for one block of whole images, all slices. */
static void matvec_task(void *context, int task)
{
    const matvec_job *job = context;
    const crossbar_weights *w = job->w;
    const crossbar_isa *isa = w->isa;
    const crossbar_adc *adc = job->adc;
    const int nb = adc->input_bits, C = w->cols, nw = isa->nw;
    const size_t panel_bytes = (size_t)w->kgroups * isa->kg * nw;
    _Alignas(64) int32_t acc[MAX_BLOCK_ROWS * MAX_PANEL_WIDTH];
    /* Panel-major order: consecutive tasks reuse the same weight panels. */
    const int p = task / job->blocks, block = task % job->blocks;
    const int m0 = block * job->block_rows;
    const int m_end = m0 + job->block_rows < job->rows_total ? m0 + job->block_rows : job->rows_total;
    const int m_rows =
        (m0 + job->block_rows < job->padded_rows ? m0 + job->block_rows : job->padded_rows) - m0;
    const int c0 = p * nw, width = C - c0 < nw ? C - c0 : nw;
    for (int n = m0 / nb; n < m_end / nb; n++)
        memset(job->out + (size_t)n * C + c0, 0, width * sizeof(int64_t));
    for (int s = 0; s < w->slices; s++) {
        const int8_t *panel = w->data + ((size_t)s * w->panels + p) * panel_bytes;
        isa->panel(job->xb + (size_t)m0 * job->ldx, job->ldx, m_rows, w->kgroups, panel, acc);
        for (int m = m0; m < m_end; m++) {
            int weight_shift = adc->adc_shift + m % nb + s * w->cell_bits;
            adc_shift_add(acc + (size_t)(m - m0) * nw, width, adc, weight_shift,
                          job->out + (size_t)(m / nb) * C + c0);
        }
    }
}

int crossbar_matvec(const crossbar_weights *w, const uint8_t *xb, ptrdiff_t ldx, int batch,
                    const crossbar_adc *adc, int64_t *out, int threads)
{
    const crossbar_isa *isa = w->isa;
    const int nb = adc->input_bits;
    matvec_job job = {w, xb, ldx, adc, out, batch * nb, crossbar_bitplane_rows(isa, batch, nb), 0, 0};
    if (job.rows_total == 0 || w->cols == 0)
        return 0;
    /* A block holds whole images (its epilogue owns their outputs) and whole micro-kernel
     * steps, so it is a multiple of lcm(input_bits, mr). */
    const int step = nb / gcd(nb, isa->mr) * isa->mr;
    job.block_rows = step * (BLOCK_TARGET_ROWS > step ? BLOCK_TARGET_ROWS / step : 1);
    job.blocks = (job.rows_total + job.block_rows - 1) / job.block_rows;
    const int tasks = job.blocks * w->panels;
    threads = crossbar_thread_count(
        threads, (double)job.padded_rows * w->slices * w->kgroups * isa->kg * w->panels * isa->nw,
        tasks);
    crossbar_parallel(matvec_task, &job, tasks, threads);
    return 0;
}
