/* The activations: range check and 0/1 bit-planes of one image, for every integer dtype.
 *
 * Each dtype gets its own loops (a macro) so that gcc vectorises them; the kernel reads
 * x in place, whatever numpy handed over, instead of converting it first. */
#include <string.h>

#include "crossbar.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

ptrdiff_t crossbar_plane_pitch(int rows, int kg)
{
    /* Rows padded to the k-group, then to a cache line; a pitch that is a multiple of
     * 4 KiB would put every plane of a micro-kernel step in the same L1 set. */
    ptrdiff_t pitch = ((ptrdiff_t)rows + kg - 1) / kg * kg;
    pitch = (pitch + 63) / 64 * 64;
    if (pitch % 4096 == 0)
        pitch += 64;
    return pitch;
}

/* OR of all values viewed as unsigned: a value outside [0, 2**bits) has a bit at or above
 * `bits` (negative ones their sign bit), so one reduction checks the whole batch. */
#define INPUT_FUNCTIONS(name, type, utype)                                               \
    MULTIVERSION static utype or_all_##name(const type *x, size_t count)                 \
    {                                                                                    \
        utype any = 0;                                                                   \
        for (size_t i = 0; i < count; i++)                                               \
            any |= (utype)x[i];                                                          \
        return any;                                                                      \
    }                                                                                    \
    MULTIVERSION static void planes_##name(const type *x, int rows, int bits,            \
                                           uint8_t *dst, ptrdiff_t pitch)                \
    {                                                                                    \
        for (int b = 0; b < bits; b++) {                                                 \
            uint8_t *plane = dst + b * pitch;                                            \
            for (int r = 0; r < rows; r++)                                               \
                plane[r] = (uint8_t)(((utype)x[r] >> b) & 1);                            \
        }                                                                                \
    }

INPUT_FUNCTIONS(u8, uint8_t, uint8_t)
INPUT_FUNCTIONS(u16, uint16_t, uint16_t)
INPUT_FUNCTIONS(u32, uint32_t, uint32_t)
INPUT_FUNCTIONS(u64, uint64_t, uint64_t)
INPUT_FUNCTIONS(i8, int8_t, uint8_t)
INPUT_FUNCTIONS(i16, int16_t, uint16_t)
INPUT_FUNCTIONS(i32, int32_t, uint32_t)
INPUT_FUNCTIONS(i64, int64_t, uint64_t)

static int kind(const crossbar_input *x) { return x->itemsize * (x->is_signed ? -1 : 1); }

static uint64_t or_all(const crossbar_input *x)
{
    size_t count = (size_t)x->batch * x->rows;
    switch (kind(x)) {
    case 1: return or_all_u8(x->data, count);
    case 2: return or_all_u16(x->data, count);
    case 4: return or_all_u32(x->data, count);
    case 8: return or_all_u64(x->data, count);
    case -1: return or_all_i8(x->data, count);
    case -2: return or_all_i16(x->data, count);
    case -4: return or_all_i32(x->data, count);
    default: return or_all_i64(x->data, count);
    }
}

static int64_t value_at(const crossbar_input *x, size_t i)
{
    switch (kind(x)) {
    case 1: return ((const uint8_t *)x->data)[i];
    case 2: return ((const uint16_t *)x->data)[i];
    case 4: return ((const uint32_t *)x->data)[i];
    case 8: { uint64_t v = ((const uint64_t *)x->data)[i]; return v >> 62 ? -1 : (int64_t)v; }
    case -1: return ((const int8_t *)x->data)[i];
    case -2: return ((const int16_t *)x->data)[i];
    case -4: return ((const int32_t *)x->data)[i];
    default: return ((const int64_t *)x->data)[i];
    }
}

ptrdiff_t crossbar_check_input(const crossbar_input *x)
{
    const int width = 8 * x->itemsize;
    /* Signed types: the sign bit is at width - 1, so never look above it. */
    const int bits = x->input_bits < width - x->is_signed ? x->input_bits : width - x->is_signed;
    if (bits >= width || (or_all(x) >> bits) == 0)
        return -1;
    const size_t count = (size_t)x->batch * x->rows;
    for (size_t i = 0; i < count; i++) {
        int64_t value = value_at(x, i);
        if (value < 0 || (uint64_t)value >> x->input_bits)
            return (ptrdiff_t)i;
    }
    return -1;
}

void crossbar_image_planes(const crossbar_input *x, int n, uint8_t *dst, ptrdiff_t pitch)
{
    const size_t offset = (size_t)n * x->rows;
    for (int b = 0; b < x->input_bits; b++)
        memset(dst + b * pitch + x->rows, 0, (size_t)(pitch - x->rows));
    switch (kind(x)) {
    case 1: planes_u8((const uint8_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    case 2: planes_u16((const uint16_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    case 4: planes_u32((const uint32_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    case 8: planes_u64((const uint64_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    case -1: planes_i8((const int8_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    case -2: planes_i16((const int16_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    case -4: planes_i32((const int32_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    default: planes_i64((const int64_t *)x->data + offset, x->rows, x->input_bits, dst, pitch); break;
    }
}
