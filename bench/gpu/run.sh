#!/usr/bin/env bash
# run.sh — validates se-inject on a GPU machine with no network, from the unpacked bundle that pack.sh
# makes (README.md). Needs only bash, tar, xz and coreutils; Node and every package travel in the bundle.
#
# For each skeleton in models/: refill seeded weights (fill.mjs), then insert SE with --init preserve and
# validate on ONNX Runtime with --ep webgpu, --ep cuda, --ep cpu (1 thread, the reference) and --ep cpu
# with CPU_THREADS threads. Each run's stdout (the --json report) and stderr land in $OUT; so do the
# machine's GPU facts (env.txt) and verbose ORT logs of opening webgpu and cuda (probe.*.log), which say
# why a provider could not start. The last thing printed is the summary table (also $OUT/summary.md).
#
# Settings (environment): OUT (default ./results), RUNS (timed runs per model, 50), CPU_THREADS (16),
# GAIN (fill.mjs --gain: weights N(0, GAIN/fan_in), 2),
# STEP_TIMEOUT_S (one CLI run, 150), BUDGET_S (no run starts after this many seconds, 420; the whole
# script stays under ~8 minutes), KEEP_WORK=1 keeps the filled and injected models in work/.
# Exit status: 0 when every run that produced a report passed, 6 when one failed validation, 3 when the
# bundle itself cannot run (node does not start).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$PWD/results}
RUNS=${RUNS:-50}
CPU_THREADS=${CPU_THREADS:-16}
GAIN=${GAIN:-2}
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-150}
BUDGET_S=${BUDGET_S:-420}
WORK=$HERE/work
NODE=$HERE/bin/node
CLI=$HERE/dist/src/cli/main.js

mkdir -p "$OUT" "$WORK"
OUT=$(cd "$OUT" && pwd)
: > "$OUT/runs.tsv"

# The carried node needs glibc >= 2.28 and libstdc++; lib/ holds this build machine's libstdc++ and
# libgcc_s for a machine that lacks them (used only if node will not start without them).
if ! "$NODE" --version > /dev/null 2>&1; then
  export LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ! "$NODE" --version > /dev/null 2>"$OUT/node-start.txt"; then
    echo "run.sh: bin/node does not start on this machine, even with lib/ on LD_LIBRARY_PATH:" >&2
    cat "$OUT/node-start.txt" >&2
    exit 3
  fi
  echo "run.sh: bin/node needed the carried lib/ (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
fi

section() { printf '\n## %s\n' "$1"; }
maybe() { if command -v "$1" > /dev/null 2>&1; then "$@" 2>&1; else echo "$1: not installed"; fi; }

record_machine() {
  section 'date'; date -u
  section 'uname -a'; uname -a
  section '/etc/os-release'; cat /etc/os-release 2>&1
  section 'glibc'; getconf GNU_LIBC_VERSION 2>&1
  section 'cpu and memory'; echo "nproc: $(nproc)"; head -3 /proc/meminfo
  section 'node'; "$NODE" --version; echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  section 'bundle'; cat "$HERE/BUNDLE.txt" 2>&1
  section 'nvidia-smi'; maybe nvidia-smi
  section '/dev/nvidia* and /dev/dri'; ls -l /dev/nvidia* /dev/dri 2>&1
  # WebGPU on Linux is Dawn over Vulkan: it needs libvulkan.so.1 and an ICD (for NVIDIA, nvidia_icd.json
  # pointing at libGLX_nvidia.so.0, which containers get only with NVIDIA_DRIVER_CAPABILITIES=...graphics).
  section 'Vulkan ICDs'; ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
  section 'Vulkan, NVIDIA and CUDA libraries (ldconfig -p)'
  if command -v ldconfig > /dev/null 2>&1; then
    ldconfig -p 2>&1 | grep -Ei 'vulkan|nvidia|libcuda|cudart|cublas|cudnn' || echo '(none)'
  else
    echo 'ldconfig: not installed'
  fi
  section 'environment (GPU related)'; env | grep -E '^(NVIDIA|CUDA|VK_|XDG_|LD_LIBRARY_PATH|DISPLAY)' | sort || true
  # What --ep auto decides from (src/validate/software-adapter.ts): a software adapter is passed over.
  section 'WebGPU adapter: software or GPU (what --ep auto sees)'
  "$NODE" --input-type=module -e "const m = await import('$HERE/dist/src/validate/software-adapter.js'); console.log(JSON.stringify({ vulkanDrivers: m.vulkanDrivers(m.thisMachine), gpus: m.hardwareGpus(m.thisMachine), software: m.softwareAdapterReason() ?? null }, null, 1))" 2>&1
}

# run_one MODEL LABEL CLI-ARGS... : one se-inject run, indexed in runs.tsv for summary.mjs.
run_one() {
  local model=$1 label=$2; shift 2
  local left=$((BUDGET_S - SECONDS))
  if ((left < 20)); then
    printf '%s\t%s\tskip\t0\n' "$model" "$label" >> "$OUT/runs.tsv"
    echo "  $label: skipped (time budget spent)"
    return
  fi
  local limit=$((left < STEP_TIMEOUT_S ? left : STEP_TIMEOUT_S)) start=$SECONDS rc
  local cmd=("$NODE" "$CLI" "$WORK/$model.onnx" -o "$WORK/$model.se.onnx" --force --init preserve --validate --runs "$RUNS" --json "$@")
  echo "${cmd[*]}" >> "$OUT/commands.txt"
  timeout -k 10 "$limit" "${cmd[@]}" > "$OUT/$model.$label.json" 2> "$OUT/$model.$label.stderr"
  rc=$?
  [ -s "$OUT/$model.$label.json" ] || rm -f "$OUT/$model.$label.json" # no report: the reason is in .stderr
  printf '%s\t%s\t%s\t%s\n' "$model" "$label" "$rc" "$((SECONDS - start))" >> "$OUT/runs.tsv"
  echo "  $label: exit $rc after $((SECONDS - start)) s"
}

cd "$HERE"
echo "run.sh: results go to $OUT"
record_machine > "$OUT/env.txt" 2>&1
for ep in webgpu cuda; do
  timeout -k 5 60 "$NODE" "$HERE/probe.mjs" "$ep" > "$OUT/probe.$ep.log" 2>&1
  echo "probe $ep: $(grep -E "^$ep: " "$OUT/probe.$ep.log" | tail -1 | cut -c1-300)"
done

: > "$OUT/commands.txt"
for skeleton in "$HERE"/models/*.onnx; do
  model=$(basename "$skeleton" .onnx)
  echo "$model (t = ${SECONDS} s)"
  if ! "$NODE" "$HERE/fill.mjs" "$skeleton" "$WORK/$model.onnx" --gain "$GAIN" 2> "$OUT/$model.fill.log"; then
    echo "  fill failed: $(tail -1 "$OUT/$model.fill.log")"
    continue
  fi
  run_one "$model" webgpu --ep webgpu
  run_one "$model" cuda --ep cuda
  run_one "$model" cpu --ep cpu
  run_one "$model" "cpu$CPU_THREADS" --ep cpu --threads "$CPU_THREADS"
  [ "${KEEP_WORK:-0}" = 1 ] || rm -f "$WORK/$model.onnx" "$WORK/$model.se.onnx"
done

echo
echo "summary (t = ${SECONDS} s; $OUT/summary.md):"
"$NODE" "$HERE/summary.mjs" "$OUT" | tee "$OUT/summary.txt"
if cut -f3 "$OUT/runs.tsv" | grep -qx 6; then exit 6; fi
exit 0
