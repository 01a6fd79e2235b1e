/*
 * crc32c.c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of Kafka's RecordBatch v2.
 *
 * Design note
 *  - Every byte of every produced batch goes through here once (the CRC check
 *    in brook_records_validate), so the hardware path matters. On x86-64 with
 *    SSE4.2 we use the crc32 instruction, 8 bytes at a time. One crc32 has a
 *    latency of 3 cycles but a throughput of 1 per cycle, so a single dependent
 *    chain runs at a third of the possible speed. For long inputs we therefore
 *    run three independent chains over three adjacent lanes of L bytes and
 *    merge them:  crc(A|B|C) = shift(shift(crcA, L) ^ crcB, L) ^ crcC,  where
 *    shift(r, L) is what the raw CRC register r becomes after L zero bytes.
 *    That map is linear in r (GF(2)), so it is four table lookups (one per
 *    byte of r) into a table built once from the 32 basis vectors.
 *  - Everything works on the *raw* register (no pre/post inversion inside);
 *    the public function inverts once on entry and once on exit, so chaining
 *    brook_crc32c(brook_crc32c(0, a), b) == brook_crc32c(0, a|b).
 *  - Without SSE4.2 (or off x86) a portable slicing-by-8 table loop is used.
 *  - Dispatch is decided once (pthread_once) and cached in a function pointer;
 *    the tables are written before the pointer is published (release store).
 * Bounds: the tables take 8 KiB (slicing) + 3 x 4 KiB (lane shifts); the
 * one-time setup costs ~32 x 9 KiB of crc32 instructions.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "batch.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_CRC 1
#include <nmmintrin.h>
#endif

#define POLY 0x82F63B78u /* reflected Castagnoli */

/* Slicing-by-8: sl[0] is the classic byte table; sl[k][v] is the register
 * contribution of byte v seen k bytes before the end of an 8-byte word. */
static uint32_t sl[8][256];

typedef uint32_t (*crc_fn)(uint32_t raw, const uint8_t *p, size_t n);
static crc_fn impl;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static inline uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Portable path: raw register in, raw register out. */
static uint32_t crc_sw(uint32_t r, const uint8_t *p, size_t n) {
  while (n && ((uintptr_t)p & 7)) {
    r = sl[0][(r ^ *p++) & 0xff] ^ (r >> 8);
    n--;
  }
  while (n >= 8) {
    uint32_t lo = r ^ le32(p), hi = le32(p + 4);
    r = sl[7][lo & 0xff] ^ sl[6][(lo >> 8) & 0xff] ^ sl[5][(lo >> 16) & 0xff] ^ sl[4][lo >> 24] ^
        sl[3][hi & 0xff] ^ sl[2][(hi >> 8) & 0xff] ^ sl[1][(hi >> 16) & 0xff] ^ sl[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) r = sl[0][(r ^ *p++) & 0xff] ^ (r >> 8);
  return r;
}

#ifdef HAVE_X86_CRC
/* Lane sizes for the three-chain loop, largest first. Each needs one shift
 * table; smaller lanes pick up what the larger ones leave. Multiples of 8. */
#define NLANES 3
static const size_t lane_len[NLANES] = {8192, 1024, 128};
static uint32_t lane_shift[NLANES][4][256];

static inline uint32_t shift_by(const uint32_t t[4][256], uint32_t r) {
  return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* x86 is little-endian, which is the order crc32 wants */
  return v;
}

__attribute__((target("sse4.2"))) static uint32_t zeros_hw(uint32_t r, size_t n) {
  uint64_t c = r;
  for (size_t i = 0; i < n; i += 8) c = _mm_crc32_u64(c, 0);
  return (uint32_t)c;
}

__attribute__((target("sse4.2"))) static void build_lane_tables(void) {
  for (int l = 0; l < NLANES; l++) {
    uint32_t basis[32];
    for (int k = 0; k < 32; k++) basis[k] = zeros_hw(1u << k, lane_len[l]);
    for (int b = 0; b < 4; b++)
      for (int v = 0; v < 256; v++) {
        uint32_t s = 0;
        for (int bit = 0; bit < 8; bit++)
          if (v & (1 << bit)) s ^= basis[b * 8 + bit];
        lane_shift[l][b][v] = s;
      }
  }
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t r, const uint8_t *p, size_t n) {
  uint64_t c = r;
  while (n && ((uintptr_t)p & 7)) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    n--;
  }
  for (int l = 0; l < NLANES; l++) {
    size_t len = lane_len[l];
    while (n >= 3 * len) {
      uint64_t a = c, b = 0, d = 0;
      const uint8_t *pa = p, *pb = p + len, *pd = p + 2 * len;
      for (size_t i = 0; i < len; i += 8) {
        a = _mm_crc32_u64(a, load64(pa + i));
        b = _mm_crc32_u64(b, load64(pb + i));
        d = _mm_crc32_u64(d, load64(pd + i));
      }
      uint32_t m = shift_by(lane_shift[l], (uint32_t)a) ^ (uint32_t)b;
      c = shift_by(lane_shift[l], m) ^ (uint32_t)d;
      p += 3 * len;
      n -= 3 * len;
    }
  }
  while (n >= 8) {
    c = _mm_crc32_u64(c, load64(p));
    p += 8;
    n -= 8;
  }
  while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
  return (uint32_t)c;
}
#endif

#ifdef HAVE_X86_CRC
static bool hw_ok(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

static void init_once(void) {
  for (uint32_t v = 0; v < 256; v++) {
    uint32_t r = v;
    for (int k = 0; k < 8; k++) r = (r & 1) ? (r >> 1) ^ POLY : r >> 1;
    sl[0][v] = r;
  }
  for (int k = 1; k < 8; k++)
    for (int v = 0; v < 256; v++) sl[k][v] = (sl[k - 1][v] >> 8) ^ sl[0][sl[k - 1][v] & 0xff];
  crc_fn f = crc_sw;
#ifdef HAVE_X86_CRC
  if (hw_ok()) {
    build_lane_tables();
    f = crc_hw;
  }
#endif
  __atomic_store_n(&impl, f, __ATOMIC_RELEASE);
}

static inline crc_fn get_impl(void) {
  crc_fn f = __atomic_load_n(&impl, __ATOMIC_ACQUIRE);
  if (__builtin_expect(f == NULL, 0)) {
    pthread_once(&once, init_once);
    f = __atomic_load_n(&impl, __ATOMIC_ACQUIRE);
  }
  return f;
}

uint32_t brook_crc32c(uint32_t crc, const void *p, size_t n) {
  return ~get_impl()(~crc, (const uint8_t *)p, n);
}

uint32_t brook_crc32c_portable(uint32_t crc, const void *p, size_t n) {
  (void)get_impl(); /* tables */
  return ~crc_sw(~crc, (const uint8_t *)p, n);
}

bool brook_crc32c_has_hw(void) { return get_impl() != crc_sw; }
