/* Micro-kernels of the crossbar GEMM, one per instruction set, chosen at run time.
 *
 * Each computes one panel: acc[m][0..nw) = sum_k xb[m][k] * d[k][j] with xb in {0, 1} and
 * |d| <= 15.  The package is compiled for the baseline x86-64 ISA; the AVX2 and AVX-512
 * kernels carry target attributes and run only if the CPU reports the extension.
 */
#include <string.h>

#include "crossbar.h"

#define PORTABLE_NW 32

/* Plain C, one weight row per k (no interleave).  Four bit-plane rows share each
 * weight row, widened once to int16; every set input bit adds it into that row's int16
 * accumulators (zero bits, about half, cost nothing).  Compilers vectorise the j loops
 * with the baseline SIMD of any target.  int16 holds PORTABLE_KCHUNK rows of |15|. */
#define PORTABLE_MR 4
#define PORTABLE_KCHUNK 2048 /* 2048 * 15 < 32768 */

static void panel_portable(const uint8_t *xb, ptrdiff_t ldx, int mrows, int kgroups,
                           const int8_t *panel, int32_t *acc)
{
    for (int m0 = 0; m0 < mrows; m0 += PORTABLE_MR) {
        int32_t *a = acc + (size_t)m0 * PORTABLE_NW;
        memset(a, 0, PORTABLE_MR * PORTABLE_NW * sizeof(int32_t));
        for (int k0 = 0; k0 < kgroups; k0 += PORTABLE_KCHUNK) {
            const int k1 = k0 + PORTABLE_KCHUNK < kgroups ? k0 + PORTABLE_KCHUNK : kgroups;
            int16_t sums[PORTABLE_MR][PORTABLE_NW] = {{0}};
            for (int k = k0; k < k1; k++) {
                int16_t d[PORTABLE_NW];
                for (int j = 0; j < PORTABLE_NW; j++)
                    d[j] = panel[(size_t)k * PORTABLE_NW + j];
                for (int i = 0; i < PORTABLE_MR; i++) {
                    if (!xb[(m0 + i) * ldx + k])
                        continue;
                    for (int j = 0; j < PORTABLE_NW; j++)
                        sums[i][j] = (int16_t)(sums[i][j] + d[j]);
                }
            }
            for (int i = 0; i < PORTABLE_MR; i++)
                for (int j = 0; j < PORTABLE_NW; j++)
                    a[i * PORTABLE_NW + j] += sums[i][j];
        }
    }
}

/* Scalar interleave of kg rows; also the tail (width < nw) of the SIMD packers. */
static void pack_scalar(int8_t *dst, const uint8_t *const *pos, const uint8_t *const *neg,
                        int width, int kg)
{
    for (int j = 0; j < width; j++)
        for (int q = 0; q < kg; q++)
            dst[j * kg + q] = (int8_t)(pos[q][j] - neg[q][j]);
}

static void pack_portable(int8_t *dst, const uint8_t *const *pos, const uint8_t *const *neg,
                          int width)
{
    pack_scalar(dst, pos, neg, width, 1);
}

static const crossbar_isa ISA_PORTABLE = {
    "portable", 1, PORTABLE_NW, PORTABLE_MR, panel_portable, pack_portable,
};

const crossbar_isa *crossbar_isa_portable(void) { return &ISA_PORTABLE; }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* AVX2: vpmaddubsw multiplies the broadcast pair (x[k], x[k+1]) with 16 column pairs
 * (d[k][j], d[k+1][j]) and adds each pair into int16; int16 accumulators hold
 * AVX2_KCHUNK pairs of |30| before they are widened into the int32 panel. */
#define AVX2_MR 4
#define AVX2_NW 32
#define AVX2_KCHUNK 1024 /* 1024 * 2 * 15 < 32768 */

__attribute__((target("avx2"))) static inline __m256i broadcast_pair(const uint8_t *p)
{
    int16_t pair;
    memcpy(&pair, p, sizeof pair);
    return _mm256_set1_epi16(pair);
}

__attribute__((target("avx2"))) static inline void
widen_add(int32_t *dst, __m256i v16, int first)
{
    __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v16));
    __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(v16, 1));
    if (!first) {
        lo = _mm256_add_epi32(lo, _mm256_loadu_si256((const __m256i *)dst));
        hi = _mm256_add_epi32(hi, _mm256_loadu_si256((const __m256i *)(dst + 8)));
    }
    _mm256_storeu_si256((__m256i *)dst, lo);
    _mm256_storeu_si256((__m256i *)(dst + 8), hi);
}

__attribute__((target("avx2"))) static void
panel_avx2(const uint8_t *xb, ptrdiff_t ldx, int mrows, int kgroups, const int8_t *panel,
           int32_t *acc)
{
    for (int m0 = 0; m0 < mrows; m0 += AVX2_MR) {
        const uint8_t *x0 = xb + m0 * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
        int32_t *a = acc + (size_t)m0 * AVX2_NW;
        for (int g0 = 0; g0 == 0 || g0 < kgroups; g0 += AVX2_KCHUNK) { /* R = 0 still zeroes acc */
            int g1 = g0 + AVX2_KCHUNK < kgroups ? g0 + AVX2_KCHUNK : kgroups;
            __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00;
            __m256i s20 = s00, s21 = s00, s30 = s00, s31 = s00;
            const int8_t *d = panel + (size_t)g0 * AVX2_NW * 2;
            for (int g = g0; g < g1; g++, d += AVX2_NW * 2) {
                __m256i d0 = _mm256_loadu_si256((const __m256i *)d);
                __m256i d1 = _mm256_loadu_si256((const __m256i *)(d + 32));
                __m256i b = broadcast_pair(x0 + 2 * g);
                s00 = _mm256_add_epi16(s00, _mm256_maddubs_epi16(b, d0));
                s01 = _mm256_add_epi16(s01, _mm256_maddubs_epi16(b, d1));
                b = broadcast_pair(x1 + 2 * g);
                s10 = _mm256_add_epi16(s10, _mm256_maddubs_epi16(b, d0));
                s11 = _mm256_add_epi16(s11, _mm256_maddubs_epi16(b, d1));
                b = broadcast_pair(x2 + 2 * g);
                s20 = _mm256_add_epi16(s20, _mm256_maddubs_epi16(b, d0));
                s21 = _mm256_add_epi16(s21, _mm256_maddubs_epi16(b, d1));
                b = broadcast_pair(x3 + 2 * g);
                s30 = _mm256_add_epi16(s30, _mm256_maddubs_epi16(b, d0));
                s31 = _mm256_add_epi16(s31, _mm256_maddubs_epi16(b, d1));
            }
            int first = g0 == 0;
            widen_add(a + 0 * AVX2_NW, s00, first);
            widen_add(a + 0 * AVX2_NW + 16, s01, first);
            widen_add(a + 1 * AVX2_NW, s10, first);
            widen_add(a + 1 * AVX2_NW + 16, s11, first);
            widen_add(a + 2 * AVX2_NW, s20, first);
            widen_add(a + 2 * AVX2_NW + 16, s21, first);
            widen_add(a + 3 * AVX2_NW, s30, first);
            widen_add(a + 3 * AVX2_NW + 16, s31, first);
        }
    }
}

__attribute__((target("avx2"))) static inline __m256i
level_difference(const uint8_t *pos, const uint8_t *neg)
{
    return _mm256_sub_epi8(_mm256_loadu_si256((const __m256i *)pos),
                           _mm256_loadu_si256((const __m256i *)neg));
}

/* 32 columns x 2 rows: byte-interleave within 128-bit lanes, then put the lanes in order. */
__attribute__((target("avx2"))) static void
pack_avx2(int8_t *dst, const uint8_t *const *pos, const uint8_t *const *neg, int width)
{
    if (width == 32) {
        __m256i d0 = level_difference(pos[0], neg[0]), d1 = level_difference(pos[1], neg[1]);
        __m256i lo = _mm256_unpacklo_epi8(d0, d1), hi = _mm256_unpackhi_epi8(d0, d1);
        _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + 32), _mm256_permute2x128_si256(lo, hi, 0x31));
        return;
    }
    pack_scalar(dst, pos, neg, width, 2);
}

static const crossbar_isa ISA_AVX2 = {
    "avx2", 2, AVX2_NW, AVX2_MR, panel_avx2, pack_avx2,
};

/* AVX-512 VNNI: vpdpbusd adds four u8*s8 products straight into int32 lanes, so there is
 * no int16 stage; 8 bit-plane rows x 32 columns = 16 zmm accumulators. */
#define AVX512_MR 8
#define AVX512_NW 32
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

AVX512_TARGET static inline __m512i broadcast_quad(const uint8_t *p)
{
    int32_t quad;
    memcpy(&quad, p, sizeof quad);
    return _mm512_set1_epi32(quad);
}

AVX512_TARGET static void
panel_avx512(const uint8_t *xb, ptrdiff_t ldx, int mrows, int kgroups, const int8_t *panel,
             int32_t *acc)
{
    for (int m0 = 0; m0 < mrows; m0 += AVX512_MR) {
        const uint8_t *x = xb + m0 * ldx;
        __m512i s[AVX512_MR][2];
        for (int i = 0; i < AVX512_MR; i++)
            s[i][0] = s[i][1] = _mm512_setzero_si512();
        const int8_t *d = panel;
        for (int g = 0; g < kgroups; g++, d += AVX512_NW * 4) {
            __m512i d0 = _mm512_loadu_si512((const void *)d);
            __m512i d1 = _mm512_loadu_si512((const void *)(d + 64));
            for (int i = 0; i < AVX512_MR; i++) {
                __m512i b = broadcast_quad(x + i * ldx + 4 * g);
                s[i][0] = _mm512_dpbusd_epi32(s[i][0], b, d0);
                s[i][1] = _mm512_dpbusd_epi32(s[i][1], b, d1);
            }
        }
        int32_t *a = acc + (size_t)m0 * AVX512_NW;
        for (int i = 0; i < AVX512_MR; i++) {
            _mm512_storeu_si512((void *)(a + i * AVX512_NW), s[i][0]);
            _mm512_storeu_si512((void *)(a + i * AVX512_NW + 16), s[i][1]);
        }
    }
}

/* 32 columns x 4 rows: bytes to pairs to quads within lanes, then the lanes in order. */
__attribute__((target("avx2"))) static void
pack_quads_avx2(int8_t *dst, const uint8_t *const *pos, const uint8_t *const *neg, int width)
{
    if (width == 32) {
        __m256i d0 = level_difference(pos[0], neg[0]), d1 = level_difference(pos[1], neg[1]);
        __m256i d2 = level_difference(pos[2], neg[2]), d3 = level_difference(pos[3], neg[3]);
        __m256i p01lo = _mm256_unpacklo_epi8(d0, d1), p01hi = _mm256_unpackhi_epi8(d0, d1);
        __m256i p23lo = _mm256_unpacklo_epi8(d2, d3), p23hi = _mm256_unpackhi_epi8(d2, d3);
        __m256i q0 = _mm256_unpacklo_epi16(p01lo, p23lo); /* columns 0-3 | 16-19 */
        __m256i q1 = _mm256_unpackhi_epi16(p01lo, p23lo); /* columns 4-7 | 20-23 */
        __m256i q2 = _mm256_unpacklo_epi16(p01hi, p23hi); /* columns 8-11 | 24-27 */
        __m256i q3 = _mm256_unpackhi_epi16(p01hi, p23hi); /* columns 12-15 | 28-31 */
        _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(q0, q1, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + 32), _mm256_permute2x128_si256(q2, q3, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + 64), _mm256_permute2x128_si256(q0, q1, 0x31));
        _mm256_storeu_si256((__m256i *)(dst + 96), _mm256_permute2x128_si256(q2, q3, 0x31));
        return;
    }
    pack_scalar(dst, pos, neg, width, 4);
}

static const crossbar_isa ISA_AVX512 = {
    "avx512-vnni", 4, AVX512_NW, AVX512_MR, panel_avx512, pack_quads_avx2,
};

static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static int cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

const crossbar_isa *crossbar_isa_avx2(void) { return cpu_has_avx2() ? &ISA_AVX2 : NULL; }
const crossbar_isa *crossbar_isa_avx512(void) { return cpu_has_avx512() ? &ISA_AVX512 : NULL; }

#else
const crossbar_isa *crossbar_isa_avx2(void) { return NULL; }
const crossbar_isa *crossbar_isa_avx512(void) { return NULL; }
#endif

const crossbar_isa *crossbar_select_isa(const char *name)
{
    if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) {
        const crossbar_isa *isa = crossbar_isa_avx512();
        if (isa == NULL)
            isa = crossbar_isa_avx2();
        return isa ? isa : crossbar_isa_portable();
    }
    if (strcmp(name, "avx512-vnni") == 0)
        return crossbar_isa_avx512();
    if (strcmp(name, "avx2") == 0)
        return crossbar_isa_avx2();
    if (strcmp(name, "portable") == 0)
        return crossbar_isa_portable();
    return NULL;
}
