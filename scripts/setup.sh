#!/usr/bin/env bash
# Sets up a fresh machine (Node 20 + npm present) for this repository:
# pnpm (pinned), the SentencePiece trainer (Debian package, used by @asam/nmt), all npm dependencies, and the
# native kernels of @asam/engine (g++ + Debian's libdnnl-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  echo "[setup] installing pnpm@$want"
  npm install -g "pnpm@$want" >/dev/null
fi
if ! command -v spm_train >/dev/null 2>&1; then
  echo "[setup] installing the SentencePiece trainer (apt: sentencepiece)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq sentencepiece >/dev/null \
    || echo "[setup] warning: could not install sentencepiece; NMT tokenizer training will fail until spm_train is on PATH"
fi
if ! command -v clang >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
  # Optional: the engine's WebAssembly-SIMD kernels are committed prebuilt (packages/engine/src/generated);
  # with clang + lld the test suite also checks that a fresh build of native/training_kernels.c gives the same bytes.
  echo "[setup] installing clang + lld (optional: rebuild check of the engine's wasm kernels)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang lld >/dev/null \
    || echo "[setup] note: clang/lld not installed; the wasm rebuild check will be skipped"
fi
if ! command -v redis-server >/dev/null 2>&1; then
  # The queued sweep (bench --queue, bench:worker) and its test need a Redis >= 6.2; the test starts its own server.
  echo "[setup] installing redis-server (queued sweeps over several machines; the queue test)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
    || echo "[setup] note: redis-server not installed; the queue test will be skipped"
fi
if [ ! -x /usr/bin/chromium ]; then
  # Optional: @asam/core's browser example is tested end to end in headless Debian Chromium (driven by playwright-core).
  echo "[setup] installing chromium (optional: end-to-end test of the browser example)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
    || echo "[setup] note: chromium not installed; the browser example's end-to-end test will be skipped"
fi
if ! command -v g++ >/dev/null 2>&1 || [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ]; then
  # The native kernel tier of @asam/engine (oneDNN convolutions and matrix products in place on the wasm heap).
  echo "[setup] installing g++ + libdnnl-dev (oneDNN: the engine's native kernels)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++ libdnnl-dev >/dev/null \
    || echo "[setup] note: g++/libdnnl-dev not installed; training uses the WebAssembly-SIMD kernels"
fi
pnpm install --frozen-lockfile
# Never from an install hook: a failed build leaves the SIMD kernels in place and says why.
node packages/engine/scripts/build-native.mjs
