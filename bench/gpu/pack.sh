#!/usr/bin/env bash
# pack.sh — builds se-inject and packs everything a GPU machine without network needs to validate it into
# bench/gpu/out/se-inject-gpu.tar.xz (at most 64 MiB): this machine's node binary, package.json, dist/,
# the run-time node_modules (onnxruntime-node cut down to its linux/x64 binaries), weightless skeletons
# of four torchvision exports, and the scripts that refill and run them (README.md says why).
#
# Needs the exports in fixtures/cache/ (npm run fixtures). Usage: bash bench/gpu/pack.sh

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GPU=$ROOT/bench/gpu
OUTDIR=$GPU/out
STAGE=$OUTDIR/stage/se-inject-gpu
ARCHIVE=$OUTDIR/se-inject-gpu.tar.xz
LIMIT=$((64 * 1024 * 1024))
MODELS=(resnet50_op13 inception_v3_op13 mobilenet_v2_op13 shufflenet_v2_x1_0_op11)
ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6

cd "$ROOT"
for m in "${MODELS[@]}"; do
  [ -f "fixtures/cache/$m.onnx" ] || { echo "pack.sh: fixtures/cache/$m.onnx is missing; run \`npm run fixtures\` first" >&2; exit 1; }
done

echo "pack.sh: building"
npm run build --silent

rm -rf "$OUTDIR/stage"
mkdir -p "$STAGE/bin" "$STAGE/lib" "$STAGE/models" "$STAGE/node_modules"

NODE_BIN=$(node -p process.execPath)
cp "$NODE_BIN" "$STAGE/bin/node"
# The node binary needs only glibc (>= 2.28), libstdc++ and libgcc_s; carry the last two as a fallback
# that run.sh uses only if node will not start without them.
for lib in libstdc++.so.6 libgcc_s.so.1; do
  cp -L "$(ldd "$NODE_BIN" | awk -v l="$lib" '$1 == l { print $3 }')" "$STAGE/lib/$lib"
done

cp package.json "$STAGE/"
cp -r dist "$STAGE/dist"
while read -r dir; do
  mkdir -p "$STAGE/$(dirname "$dir")"
  cp -r "$dir" "$STAGE/$dir"
done < <(node "$GPU/deps.mjs")
# Only linux/x64 runs on the device: libonnxruntime.so.1 (CPU and WebGPU, Dawn linked in) and the binding.
# The CUDA provider libraries are fetched by onnxruntime-node's install step, skipped here (allowScripts, ONNXRUNTIME_NODE_INSTALL=skip).
find "$STAGE/$ORT_BIN" -mindepth 2 -maxdepth 2 -type d ! -path "*/linux/x64" -exec rm -rf {} +
find "$STAGE/$ORT_BIN" -mindepth 1 -maxdepth 1 -type d ! -name linux -exec rm -rf {} +

for m in "${MODELS[@]}"; do
  node "$GPU/skeleton.mjs" "fixtures/cache/$m.onnx" "$STAGE/models/$m.onnx"
done
cp "$GPU"/{run.sh,fill.mjs,probe.mjs,summary.mjs,library.mjs,README.md} "$STAGE/"
chmod +x "$STAGE/run.sh" "$STAGE/bin/node"

{
  echo "se-inject $(node -p "require('./package.json').version"), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' plus uncommitted changes')"
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  echo "node $("$NODE_BIN" --version), onnxruntime-node $(node -p "require('./node_modules/onnxruntime-node/package.json').version")"
  echo "models: ${MODELS[*]} (skeletons: float weights zeroed by skeleton.mjs; fill.mjs refills them)"
} > "$STAGE/BUNDLE.txt"

echo "pack.sh: staged $(du -sh "$STAGE" | cut -f1); compressing (xz -9e, a few minutes)"
tar -C "$OUTDIR/stage" --owner=0 --group=0 --numeric-owner --sort=name -cf - se-inject-gpu | xz -9e -T2 > "$ARCHIVE.tmp"
mv "$ARCHIVE.tmp" "$ARCHIVE"

size=$(stat -c %s "$ARCHIVE")
echo "pack.sh: $ARCHIVE: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB; limit 64 MiB)"
if ((size > LIMIT)); then
  echo "pack.sh: too large; what the staged bundle holds, largest first:" >&2
  du -ah "$STAGE" | sort -rh | head -15 >&2
  exit 1
fi
rm -rf "$OUTDIR/stage"
