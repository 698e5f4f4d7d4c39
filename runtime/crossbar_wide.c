/* The int64 path of the kernel: seeded non-idealities (bit for bit the counter-based
 * generator of backends/sim/noise.py) and cells too wide for the int8 micro-kernels.
 *
 * Every random number is a pure function of (seed, tile_id, stream, index), so the
 * result does not depend on the thread count or on the order of the loops. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crossbar.h"


#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

enum { STREAM_VARIATION_POS = 1, STREAM_VARIATION_NEG = 2, STREAM_STUCK_POS = 3,
       STREAM_STUCK_NEG = 4, STREAM_READ = 5 };

static const uint64_t GAMMA = 0x9E3779B97F4A7C15ull;
static const int64_t IRWIN_HALL_MEAN = 6 * 0xFFFF;

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t stream_key(const crossbar_noise *noise, uint64_t stream)
{
    return mix64(mix64(mix64(noise->seed) ^ noise->tile_id) ^ stream);
}

static inline uint64_t random_u64(uint64_t key, uint64_t index)
{
    return mix64(key + (index + 1) * GAMMA);
}

/* A standard Gaussian in Q16: the 12 16-bit lanes of draws 3i..3i+2, minus their mean. */
static inline int64_t gaussian_q16(uint64_t key, uint64_t index)
{
    int64_t total = 0;
    for (uint64_t draw = 0; draw < 3; draw++) {
        uint64_t word = random_u64(key, index * 3 + draw);
        total += (int64_t)(word & 0xFFFF) + (int64_t)((word >> 16) & 0xFFFF) +
                 (int64_t)((word >> 32) & 0xFFFF) + (int64_t)(word >> 48);
    }
    return total - IRWIN_HALL_MEAN;
}

static inline int64_t round_q16(int64_t value)
{
    return (value + (1 << (CROSSBAR_NOISE_Q - 1))) >> CROSSBAR_NOISE_Q;
}

/* Read current of one cell (index = flat (s, r, c)) in Q16 level units. */
static inline int64_t cell_current_q16(int64_t level, uint64_t index, int64_t max_level,
                                       uint64_t variation_key, uint64_t stuck_key,
                                       const crossbar_noise *noise)
{
    if (noise->stuck_zero | noise->stuck_one) {
        uint64_t u32 = random_u64(stuck_key, index) >> 32;
        if (u32 < noise->stuck_zero)
            level = 0;
        else if (u32 < noise->stuck_zero + noise->stuck_one)
            level = max_level;
    }
    int64_t current = level << CROSSBAR_NOISE_Q;
    if (noise->variation_q16)
        current += round_q16(level * noise->variation_q16 * gaussian_q16(variation_key, index));
    return current > 0 ? current : 0;
}

typedef struct {
    int slices, rows, cols;
    const uint8_t *levels_pos, *levels_neg;
    const crossbar_noise *noise;
    uint64_t keys[5];
    int64_t max_level;
    int64_t *cells;
} cells_job;

/* One task: row r of every slice. */
static void cells_task(void *context, int r)
{
    const cells_job *job = context;
    const int64_t width = (int64_t)job->slices * job->cols;
    for (int s = 0; s < job->slices; s++)
        for (int c = 0; c < job->cols; c++) {
            size_t i = ((size_t)s * job->rows + r) * job->cols + c;
            int64_t pos = job->levels_pos[i], neg = job->levels_neg[i];
            if (job->noise->enabled) {
                pos = cell_current_q16(pos, i, job->max_level, job->keys[STREAM_VARIATION_POS],
                                       job->keys[STREAM_STUCK_POS], job->noise);
                neg = cell_current_q16(neg, i, job->max_level, job->keys[STREAM_VARIATION_NEG],
                                       job->keys[STREAM_STUCK_NEG], job->noise);
            }
            job->cells[r * width + (int64_t)s * job->cols + c] = pos - neg;
        }
}

ptrdiff_t crossbar_wide_cells(int slices, int rows, int cols, int cell_bits,
                              const uint8_t *levels_pos, const uint8_t *levels_neg,
                              const crossbar_noise *noise, int64_t *cells, int threads)
{
    cells_job job = {slices, rows, cols, levels_pos, levels_neg, noise, {0},
                     ((int64_t)1 << cell_bits) - 1, cells};
    const size_t count = (size_t)slices * rows * cols;
    for (size_t i = 0; i < count; i++)
        if (levels_pos[i] > job.max_level || levels_neg[i] > job.max_level)
            return (ptrdiff_t)i;
    if (noise->enabled)
        for (int stream = STREAM_VARIATION_POS; stream <= STREAM_STUCK_NEG; stream++)
            job.keys[stream] = stream_key(noise, (uint64_t)stream);
    /* About 60 operations per noisy cell: 2 x 3 draws of the generator. */
    threads = crossbar_thread_count(threads, noise->enabled ? 60.0 * count : 0.0, rows);
    crossbar_parallel(cells_task, &job, rows, threads);
    return -1;
}

MULTIVERSION static void add_row(int64_t *acc, const int64_t *cells, int64_t width)
{
    for (int64_t j = 0; j < width; j++)
        acc[j] += cells[j];
}

typedef struct {
    int slices, cols, cell_bits;
    const int64_t *cells;
    const crossbar_input *x;
    const crossbar_adc *adc;
    const crossbar_noise *noise;
    int64_t *out;
    int shift;
    int64_t half, lo, hi;
    uint64_t read_key;
    atomic_int out_of_memory;
} wide_job;

/* One task: image n, all bits and slices. */
static void wide_task(void *context, int n)
{
    wide_job *job = context;
    const int nb = job->x->input_bits, rows = job->x->rows, cols = job->cols;
    const int64_t width = (int64_t)job->slices * cols;
    const ptrdiff_t pitch = crossbar_plane_pitch(rows, 1);
    int64_t *result = job->out + (size_t)n * cols;
    int64_t *acc = malloc((size_t)(width ? width : 1) * sizeof(int64_t));
    uint8_t *planes = malloc((size_t)nb * pitch);
    if (acc == NULL || planes == NULL) {
        atomic_store(&job->out_of_memory, 1);
        free(acc);
        free(planes);
        return;
    }
    crossbar_image_planes(job->x, n, planes, pitch);
    memset(result, 0, (size_t)cols * sizeof(int64_t));
    for (int b = 0; b < nb; b++) {
        const uint8_t *bits = planes + (size_t)b * pitch;
        memset(acc, 0, (size_t)width * sizeof(int64_t));
        for (int r = 0; r < rows; r++)
            if (bits[r])
                add_row(acc, job->cells + (size_t)r * width, width);
        /* Read (n, b, s, c) draws index ((sample_offset + n) * nb + b) * S * C + s * C + c. */
        uint64_t first_read =
            ((job->noise->sample_offset + (uint64_t)n) * (uint64_t)nb + (uint64_t)b) * (uint64_t)width;
        for (int s = 0; s < job->slices; s++) {
            const int weight_shift = job->adc->adc_shift + b + s * job->cell_bits;
            for (int c = 0; c < cols; c++) {
                int64_t current = acc[(int64_t)s * cols + c];
                if (job->noise->read_q16)
                    current += round_q16(job->noise->read_q16 *
                                         gaussian_q16(job->read_key, first_read + (uint64_t)s * cols + c));
                int64_t code = (current + job->half) >> job->shift;
                code = code < job->lo ? job->lo : code > job->hi ? job->hi : code;
                result[c] += (int64_t)((uint64_t)code << weight_shift);
            }
        }
    }
    free(acc);
    free(planes);
}

int crossbar_matvec_wide(int slices, int cols, int cell_bits, const int64_t *cells,
                         const crossbar_input *x, const crossbar_adc *adc,
                         const crossbar_noise *noise, int64_t *out, int threads)
{
    const int shift = adc->adc_shift + (noise->enabled ? CROSSBAR_NOISE_Q : 0);
    wide_job job = {slices, cols, cell_bits, cells, x, adc, noise, out, shift,
                    shift > 0 ? (int64_t)1 << (shift - 1) : 0,
                    adc->adc_bits ? -((int64_t)1 << (adc->adc_bits - 1)) : INT64_MIN,
                    adc->adc_bits ? ((int64_t)1 << (adc->adc_bits - 1)) - 1 : INT64_MAX,
                    noise->enabled ? stream_key(noise, STREAM_READ) : 0, 0};
    if (cols == 0)
        return 0;
    threads = crossbar_thread_count(
        threads, (double)x->batch * x->input_bits * x->rows * slices * cols, x->batch);
    crossbar_parallel(wide_task, &job, x->batch, threads);
    return atomic_load(&job.out_of_memory) ? -1 : 0;
}
