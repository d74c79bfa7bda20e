/* Reference xoshiro128** (Blackman & Vigna 2018, public-domain algorithm, transcribed from
 * https://prng.di.unimi.it/xoshiro128starstar.c). Prints the first 12 outputs for state {1,2,3,4} and for
 * state {0x9e3779b9, 0x243f6a88, 0xb7e15162, 0xdeadbeef} as JSON.
 * Build + run: gcc -O2 -o /tmp/x xoshiro128ss-ref.c && /tmp/x > ../test/fixtures/xoshiro128ss.json */
#include <stdint.h>
#include <stdio.h>
static inline uint32_t rotl(const uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static uint32_t s[4];
uint32_t next(void) {
  const uint32_t result = rotl(s[1] * 5, 7) * 9;
  const uint32_t t = s[1] << 9;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}
int main(void) {
  uint32_t init[2][4] = {{1, 2, 3, 4}, {0x9e3779b9u, 0x243f6a88u, 0xb7e15162u, 0xdeadbeefu}};
  printf("[\n");
  for (int c = 0; c < 2; c++) {
    for (int i = 0; i < 4; i++) s[i] = init[c][i];
    printf("  {\"state\": [%u, %u, %u, %u], \"outputs\": [", init[c][0], init[c][1], init[c][2], init[c][3]);
    for (int i = 0; i < 12; i++) printf("%s%u", i ? ", " : "", next());
    printf("]}%s\n", c ? "" : ",");
  }
  printf("]\n");
  return 0;
}
