/* Internal interface of the crossbar kernel (see docs/runtime.md).
 *
 * The tile contract (docs/semantics.md) is a batch of small integer GEMMs:
 * for every input bit b and weight slice s, I[b,s] = X_b @ (Lp_s - Ln_s) with X_b the
 * 0/1 bit-plane of the activations, followed by the ADC and a shift-add into int64.
 * The GEMM is done on packed operands:
 *
 *   bit-planes  xb[m][k]          uint8 0/1, m = image * input_bits + bit, k = row,
 *                                 rows padded with zeros to a multiple of the ISA's k-group
 *   weights     d[s][p][g][j][q]  int8 Lp - Ln of row g*kg+q, column p*nw+j of slice s,
 *                                 zero-padded; one panel (s,p) is contiguous so that the
 *                                 micro-kernel streams it linearly (no power-of-two strides).
 */
#ifndef SPINTRON_CROSSBAR_H
#define SPINTRON_CROSSBAR_H

#include <stddef.h>
#include <stdint.h>

/* acc[m][j] = sum_k xb[m][k] * d[k][j] for m < mrows (a multiple of isa->mr), j < isa->nw.
 * kgroups groups of isa->kg rows; ldx is the row pitch of xb in bytes. */
typedef void (*panel_fn)(const uint8_t *xb, ptrdiff_t ldx, int mrows, int kgroups,
                         const int8_t *panel, int32_t *acc);

/* dst[j][q] = pos[q][j] - neg[q][j] for j < width (<= nw), q < kg: one k-group of a panel. */
typedef void (*pack_fn)(int8_t *dst, const uint8_t *const *pos, const uint8_t *const *neg,
                        int width);

typedef struct {
    const char *name;   /* "avx512-vnni", "avx2", "portable" */
    int kg;             /* rows interleaved per weight group */
    int nw;             /* columns per panel */
    int mr;             /* bit-plane rows per micro-kernel step */
    panel_fn panel;
    pack_fn pack;
} crossbar_isa;

/* The best ISA this CPU supports, or the one named (NULL if unknown or unsupported). */
const crossbar_isa *crossbar_select_isa(const char *name);
const crossbar_isa *crossbar_isa_portable(void);
const crossbar_isa *crossbar_isa_avx2(void);
const crossbar_isa *crossbar_isa_avx512(void);

typedef struct {
    int slices, rows, cols;       /* S, R, C of the tile */
    int cell_bits;
    int kgroups, panels;          /* ceil(R / kg), ceil(C / nw) */
    const crossbar_isa *isa;
    int8_t *data;                 /* slices * panels * kgroups * kg * nw bytes */
} crossbar_weights;

size_t crossbar_weights_bytes(const crossbar_isa *isa, int slices, int rows, int cols);

/* Packs Lp - Ln; returns the (s, r, c) flat index of the first level above 2**cell_bits-1,
 * or -1 if all levels are in range. */
ptrdiff_t crossbar_pack_weights(crossbar_weights *w, const uint8_t *levels_pos,
                                const uint8_t *levels_neg);

typedef struct {
    int input_bits;
    int adc_bits;                 /* 0 = ideal ADC (no clamp, shift 0) */
    int adc_shift;
} crossbar_adc;

/* --- activations (crossbar_input.c) ------------------------------------------------- */

typedef struct {
    const void *data;             /* [batch][rows] integers, C order */
    int itemsize, is_signed;      /* 1, 2, 4 or 8 bytes */
    int batch, rows, input_bits;
} crossbar_input;

/* The flat index of the first value outside [0, 2**input_bits), or -1. */
ptrdiff_t crossbar_check_input(const crossbar_input *x);

/* input_bits planes of image n, LSB first: dst[b * pitch + r] = bit b of x[n][r], and zero
 * for r in [rows, pitch). */
void crossbar_image_planes(const crossbar_input *x, int n, uint8_t *dst, ptrdiff_t pitch);

/* Bytes per plane: rows padded for the micro-kernels and away from 4 KiB multiples. */
ptrdiff_t crossbar_plane_pitch(int rows, int kg);

/* --- threads (crossbar_pool.c) ------------------------------------------------------- */

typedef void (*crossbar_task_fn)(void *context, int task);

/* Runs fn(context, t) for every t < tasks on the calling thread and up to threads - 1 pool
 * workers; returns when all tasks are done, without waiting for workers that never
 * started one.  Tasks must write disjoint outputs. */
void crossbar_parallel(crossbar_task_fn fn, void *context, int tasks, int threads);
int crossbar_has_threads(void);

/* Threads worth using for `work` multiply-adds in `tasks` pieces: waking a worker costs
 * microseconds, so small calls stay on the calling thread. */
#define CROSSBAR_WORK_PER_THREAD (1 << 21)
int crossbar_thread_count(int requested, double work, int tasks);

/* out[n][c] (int64, overwritten) for the (checked) images of x, on at most `threads`
 * threads.  Returns 0, or -1 if out of memory. */
int crossbar_matvec(const crossbar_weights *w, const crossbar_input *x, const crossbar_adc *adc,
                    int64_t *out, int threads);


/* --- the int64 path: noise (backends/sim/noise.py) and cells wider than 4 bits --------- */

#define CROSSBAR_NOISE_Q 16

typedef struct {
    int enabled;
    uint64_t seed, tile_id, sample_offset;
    int64_t variation_q16, read_q16;   /* sigmas in Q16 */
    uint64_t stuck_zero, stuck_one;    /* thresholds on a uint32 draw */
} crossbar_noise;

/* cells[r][s * cols + c] = current(pos) - current(neg) in level units, or in Q16 level
 * units with the static non-idealities of noise when noise->enabled.  Returns the flat
 * (s, r, c) index of the first level above 2**cell_bits - 1, or -1. */
ptrdiff_t crossbar_wide_cells(int slices, int rows, int cols, int cell_bits,
                              const uint8_t *levels_pos, const uint8_t *levels_neg,
                              const crossbar_noise *noise, int64_t *cells, int threads);

/* out[n][c] (overwritten) from the (checked) images of x and the cells above, adding read
 * noise and using the Q16 ADC shift when noise->enabled.  Returns 0, or -1 if out of memory. */
int crossbar_matvec_wide(int slices, int cols, int cell_bits, const int64_t *cells,
                         const crossbar_input *x, const crossbar_adc *adc,
                         const crossbar_noise *noise, int64_t *out, int threads);

#endif
