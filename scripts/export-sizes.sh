#!/usr/bin/env bash
# Exports every final-trained member of a run's front, checks the host round trip
# (C logits = Rust int8 logits, C accuracy = front.json's int8_test_accuracy), and
# prints the memory table of docs/export.md: the cost model's SRAM and flash per
# partition beside the arena, the plan, the parameters, and the compiled sizes
# (host `cc -O2`; Cortex-M4 `arm-none-eabi-gcc -Os` when installed).
#
#   scripts/export-sizes.sh RUN_DIR [OUT_DIR]
set -euo pipefail
run=${1:?usage: scripts/export-sizes.sh RUN_DIR [OUT_DIR]}
out=${2:-$run/export}
bin=${DISTRINAS:-target/release/distrinas}
arm=""
if command -v arm-none-eabi-gcc >/dev/null 2>&1; then arm=1; fi
mkdir -p "$out"
echo "| member | partition | device | layers | cost SRAM | arena | planned | cost flash | params | host text+data | M4 .text | M4 .data | M4 .bss | round trip |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for cand in "$run"/candidates/*.ron; do
    id=$(basename "$cand" .ron)
    [ -f "$run/candidates/$id.weights" ] || continue
    dir="$out/$id"
    "$bin" export "$cand" --out "$dir" >/dev/null
    make -s -C "$dir" >/dev/null
    "$dir/harness" --logits "$dir/c_logits.bin" >"$dir/harness.json"
    if cmp -s "$dir/c_logits.bin" "$dir/expected_logits.bin"; then same=1; else same=0; fi
    if [ -n "$arm" ]; then
        mkdir -p "$dir/m4"
        for src in "$dir"/partition_*.c; do
            arm-none-eabi-gcc -std=c99 -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections \
                -I"$dir" -c "$src" -o "$dir/m4/$(basename "$src" .c).o"
        done
    fi
    python3 - "$dir" "$run/front.json" "$id" "$same" "$arm" <<'PY'
import json, subprocess, sys
d, front, cid, same, arm = sys.argv[1:]
m = json.load(open(f"{d}/manifest.json"))
h = json.load(open(f"{d}/harness.json"))
member = next(x for x in json.load(open(front))["front"] if x["candidate_file"] == f"candidates/{cid}.ron")
ok = same == "1" and h["accuracy"] == member.get("int8_test_accuracy")
def size(tool, obj):
    row = subprocess.run([tool, "-A", obj], capture_output=True, text=True).stdout.split("\n")
    sec = {}
    for line in row:
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            name = f[0]
            key = "text" if name.startswith((".text", ".rodata")) else "data" if name.startswith(".data") else "bss" if name.startswith(".bss") else None
            if key:
                sec[key] = sec.get(key, 0) + int(f[1])
    return sec
for p in m["partitions"]:
    k = p["index"]
    host = subprocess.run(["size", f"{d}/partition_{k}.o"], capture_output=True, text=True).stdout.split("\n")[1].split()
    hf = int(host[0]) + int(host[1])
    if arm:
        s = size("arm-none-eabi-size", f"{d}/m4/partition_{k}.o")
        m4 = (s.get("text", 0), s.get("data", 0), s.get("bss", 0))
    else:
        m4 = ("-", "-", "-")
    print(f"| {cid} | {k} | {p['device']} | {p['layers'][0]}..{p['layers'][1]} | {p['cost_model_sram_bytes']} | {p['arena_bytes']} | {p['planned_bytes']} | {p['cost_model_flash_bytes']} | {p['parameter_bytes']} | {hf} | {m4[0]} | {m4[1]} | {m4[2]} | {'exact, acc ' + format(h['accuracy'], '.3f') if ok else 'MISMATCH'} |")
PY
done
if [ -n "$arm" ]; then
    kernels="$out/dn_kernels_m4.o"
    first=$(ls -d "$out"/*/ | head -1)
    arm-none-eabi-gcc -std=c99 -Os -mcpu=cortex-m4 -mthumb -c "$first/dn_kernels.c" -o "$kernels"
    echo
    echo "dn_kernels.c on Cortex-M4 (-Os):"
    arm-none-eabi-size "$kernels"
fi
