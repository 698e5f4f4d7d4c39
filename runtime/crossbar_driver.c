/* The kernel's driver: operand packing, the task loop over blocks of images, and
 * the ADC + shift-add epilogue.  The micro-kernels are in crossbar_kernels.c. */
#include <stdatomic.h>
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
/* A block is 64 / input_bits whole images (<= 64 rows) padded to mr <= 8 rows; panels
 * are at most 32 columns wide. */
#define MAX_BLOCK_ROWS 72
#define MAX_PANEL_WIDTH 32

static int round_up(int value, int step) { return (value + step - 1) / step * step; }

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

/* For one image and one panel: out[j] += (sum_b adc(acc[b][j]) << b) << base_shift.  The
 * bits are combined first so that out is read and written once per slice.  The ADC runs
 * in int32 (currents are below 2**30, checked in kernel.py); the left shifts run on
 * unsigned types so that they are defined for negative codes (two's complement wrap).
 * With narrow32, sum_b code_b << b fits in int32 and the loops run 8 lanes wide. */
MULTIVERSION static void adc_shift_add(int32_t *restrict acc, int input_bits, int width,
                                       const crossbar_adc *adc, int narrow32, int base_shift,
                                       int64_t *restrict out)
{
    const int count = input_bits * MAX_PANEL_WIDTH;
    if (adc->adc_bits != 0) {
        const int32_t lo = (int32_t)-((int64_t)1 << (adc->adc_bits - 1));
        const int32_t hi = (int32_t)(((int64_t)1 << (adc->adc_bits - 1)) - 1);
        const int shift = adc->adc_shift;
        const int32_t half = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
        for (int i = 0; i < count; i++) {
            int32_t code = (acc[i] + half) >> shift;
            acc[i] = code < lo ? lo : code > hi ? hi : code;
        }
    }
    if (narrow32) {
        int32_t total[MAX_PANEL_WIDTH] = {0};
        for (int b = 0; b < input_bits; b++)
            for (int j = 0; j < MAX_PANEL_WIDTH; j++)
                total[j] += (int32_t)((uint32_t)acc[b * MAX_PANEL_WIDTH + j] << b);
        for (int j = 0; j < width; j++)
            out[j] += (int64_t)((uint64_t)(int64_t)total[j] << base_shift);
    } else {
        int64_t total[MAX_PANEL_WIDTH] = {0};
        for (int b = 0; b < input_bits; b++)
            for (int j = 0; j < MAX_PANEL_WIDTH; j++)
                total[j] += (int64_t)((uint64_t)(int64_t)acc[b * MAX_PANEL_WIDTH + j] << b);
        for (int j = 0; j < width; j++)
            out[j] += (int64_t)((uint64_t)total[j] << base_shift);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* adc_shift_add for narrow32 on AVX2: 32 columns = 4 vectors of 8 int32 codes. */
__attribute__((target("avx2"))) static void
adc_shift_add_avx2(const int32_t *acc, int input_bits, int width, const crossbar_adc *adc,
                   int base_shift, int64_t *out)
{
    const int clamp = adc->adc_bits != 0;
    const int shift = clamp ? adc->adc_shift : 0;
    const __m128i shift_count = _mm_cvtsi32_si128(shift);
    const __m256i half = _mm256_set1_epi32(shift > 0 ? 1 << (shift - 1) : 0);
    const __m256i lo = _mm256_set1_epi32(clamp ? (int32_t)-((int64_t)1 << (adc->adc_bits - 1)) : 0);
    const __m256i hi = _mm256_set1_epi32(clamp ? (int32_t)(((int64_t)1 << (adc->adc_bits - 1)) - 1) : 0);
    __m256i total[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                        _mm256_setzero_si256()};
    for (int b = 0; b < input_bits; b++) {
        const __m128i bit_count = _mm_cvtsi32_si128(b);
        for (int v = 0; v < 4; v++) {
            __m256i code = _mm256_loadu_si256((const __m256i *)(acc + b * MAX_PANEL_WIDTH + 8 * v));
            if (clamp) {
                code = _mm256_sra_epi32(_mm256_add_epi32(code, half), shift_count);
                code = _mm256_max_epi32(_mm256_min_epi32(code, hi), lo);
            }
            total[v] = _mm256_add_epi32(total[v], _mm256_sll_epi32(code, bit_count));
        }
    }
    const __m128i base_count = _mm_cvtsi32_si128(base_shift);
    if (width == MAX_PANEL_WIDTH) {
        for (int v = 0; v < 4; v++)
            for (int half_v = 0; half_v < 2; half_v++) {
                __m128i part = half_v ? _mm256_extracti128_si256(total[v], 1)
                                      : _mm256_castsi256_si128(total[v]);
                __m256i wide = _mm256_sll_epi64(_mm256_cvtepi32_epi64(part), base_count);
                __m256i *dst = (__m256i *)(out + 8 * v + 4 * half_v);
                _mm256_storeu_si256(dst, _mm256_add_epi64(_mm256_loadu_si256(dst), wide));
            }
        return;
    }
    int32_t totals[MAX_PANEL_WIDTH];
    for (int v = 0; v < 4; v++)
        _mm256_storeu_si256((__m256i *)(totals + 8 * v), total[v]);
    for (int j = 0; j < width; j++)
        out[j] += (int64_t)((uint64_t)(int64_t)totals[j] << base_shift);
}

static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#else
#define adc_shift_add_avx2(...) ((void)0)
static int cpu_has_avx2(void) { return 0; }
#endif

/* Bits of the largest |code|: the ADC range, or for an ideal ADC the largest current. */
static int code_bits(const crossbar_weights *w, const crossbar_adc *adc)
{
    if (adc->adc_bits != 0)
        return adc->adc_bits;
    int64_t largest = (int64_t)w->rows * ((1 << w->cell_bits) - 1);
    int bits = 1;
    while (largest >> (bits - 1))
        bits++;
    return bits;
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
    const crossbar_input *x;
    const crossbar_adc *adc;
    int64_t *out;
    int images_per_block;
    int narrow32;  /* sum_b code_b << b fits in int32 */
    int simd_epilogue;  /* narrow32 and a SIMD ISA (the portable one stays plain C) */
    atomic_int out_of_memory;
} matvec_job;

/* One task: a block of whole images, all panels and slices.  Its bit-planes are made here,
 * into a buffer that stays in L1/L2, instead of for the whole batch up front. */
static void matvec_task(void *context, int block)
{
    matvec_job *job = context;
    const crossbar_weights *w = job->w;
    const crossbar_isa *isa = w->isa;
    const crossbar_input *x = job->x;
    const int nb = x->input_bits, C = w->cols, nw = isa->nw;
    const int n0 = block * job->images_per_block;
    const int images = x->batch - n0 < job->images_per_block ? x->batch - n0 : job->images_per_block;
    const int padded_rows = round_up(images * nb, isa->mr);
    const ptrdiff_t pitch = crossbar_plane_pitch(x->rows, isa->kg);
    const size_t panel_bytes = (size_t)w->kgroups * isa->kg * nw;
    _Alignas(64) int32_t acc[MAX_BLOCK_ROWS * MAX_PANEL_WIDTH];
    uint8_t *planes = aligned_alloc(64, (size_t)padded_rows * pitch);
    if (planes == NULL) {
        atomic_store(&job->out_of_memory, 1);
        return;
    }
    for (int i = 0; i < images; i++)
        crossbar_image_planes(x, n0 + i, planes + (size_t)i * nb * pitch, pitch);
    memset(planes + (size_t)images * nb * pitch, 0, (size_t)(padded_rows - images * nb) * pitch);
    for (int p = 0; p < w->panels; p++) {
        const int c0 = p * nw, width = C - c0 < nw ? C - c0 : nw;
        for (int i = 0; i < images; i++)
            memset(job->out + (size_t)(n0 + i) * C + c0, 0, width * sizeof(int64_t));
        for (int s = 0; s < w->slices; s++) {
            const int8_t *panel = w->data + ((size_t)s * w->panels + p) * panel_bytes;
            isa->panel(planes, pitch, padded_rows, w->kgroups, panel, acc);
            const int base_shift = job->adc->adc_shift + s * w->cell_bits;
            for (int i = 0; i < images; i++) {
                int64_t *image_out = job->out + (size_t)(n0 + i) * C + c0;
                if (job->simd_epilogue)
                    adc_shift_add_avx2(acc + (size_t)i * nb * nw, nb, width, job->adc, base_shift,
                                       image_out);
                else
                    adc_shift_add(acc + (size_t)i * nb * nw, nb, width, job->adc, job->narrow32,
                                  base_shift, image_out);
            }
        }
    }
    free(planes);
}

int crossbar_matvec(const crossbar_weights *w, const crossbar_input *x, const crossbar_adc *adc,
                    int64_t *out, int threads)
{
    const crossbar_isa *isa = w->isa;
    const int nb = x->input_bits;
    if (x->batch == 0 || w->cols == 0)
        return 0;
    matvec_job job = {w, x, adc, out, BLOCK_TARGET_ROWS / nb > 0 ? BLOCK_TARGET_ROWS / nb : 1,
                      code_bits(w, adc) + nb <= 31, 0, 0};
    job.simd_epilogue = job.narrow32 && isa != crossbar_isa_portable() && cpu_has_avx2();
    const int blocks = (x->batch + job.images_per_block - 1) / job.images_per_block;
    threads = crossbar_thread_count(
        threads, (double)x->batch * nb * w->slices * w->kgroups * isa->kg * w->panels * isa->nw,
        blocks);
    crossbar_parallel(matvec_task, &job, blocks, threads);
    return atomic_load(&job.out_of_memory) ? -1 : 0;
}
