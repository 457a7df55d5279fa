#!/usr/bin/env bash
# setup-torchsharp.sh OUTPUT_DIR
# Makes a built TorchSharp(-cpu 0.107.0) app runnable on Debian 12 (libstdc++ from GCC 12,
# GLIBCXX <= 3.4.30). libLibTorchSharp.so is built with GCC 13 and lists GLIBCXX_3.4.32 in its
# version-needs table only because GCC 13's <iostream> emits `.globl std::ios_base_library_init()`
# to pin the libstdc++ version; no relocation uses that symbol, so nothing ever calls it.
# Fix: in each copy of libLibTorchSharp.so in OUTPUT_DIR, clear that symbol's version (patchelf)
# and mark the version requirement WEAK (ELF VER_FLG_WEAK: ld.so then ignores it if absent).
# Refuses to patch if any missing-version symbol is actually referenced by a relocation.
# Idempotent; needs only Debian packages (patchelf, binutils). No runtime env vars needed.
# The harness runs it itself (TorchSharpSetup.cs) before its first TorchSharp call, on the directory it runs from, since a
# build copies the original library back and the projects BenchmarkDotNet generates import no Directory.Build files.
set -euo pipefail

OUT=${1:?usage: $0 <app output dir, e.g. bin/Release/net10.0>}
[ -d "$OUT" ] || { echo "error: $OUT is not a directory" >&2; exit 1; }
LIBSTDCXX=${LIBSTDCXX:-/usr/lib/x86_64-linux-gnu/libstdc++.so.6}

need=()
command -v patchelf >/dev/null || need+=(patchelf)
command -v readelf  >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# version names the system libstdc++ defines
have=$(readelf -VW "$LIBSTDCXX" | sed -n "/Version definition section/,/^\$/p" | grep -oE '(GLIBCXX|CXXABI)_[0-9.]+' | sort -u)

mapfile -t libs < <(find "$OUT" -name 'libLibTorchSharp.so' -type f | sort)
[ ${#libs[@]} -gt 0 ] || { echo "error: no libLibTorchSharp.so under $OUT (build the app first)" >&2; exit 1; }

for lib in "${libs[@]}"; do
  echo "== $lib"
  vr_off=$(readelf -SW "$lib" | sed 's/\[ *[0-9]*\]//' | awk '$1==".gnu.version_r"{print $4}')
  [ -n "$vr_off" ] || { echo "   no .gnu.version_r, nothing to do"; continue; }
  # lines like: "  0x0140:   Name: GLIBCXX_3.4.32  Flags: none  Version: 18" (libstdc++.so.6 block only)
  entries=$(readelf -VW "$lib" | sed -n "/Version needs section/,/^\$/p" \
            | awk '/File:/{f=($0 ~ /File: libstdc\+\+\.so\.6/)} f && /Name:/{print $1, $3, $5}')
  changed=0
  while read -r off ver flags; do
    [ -n "${off:-}" ] || continue
    grep -qx "$ver" <<<"$have" && continue              # system provides it
    if [ "$flags" = "WEAK" ]; then echo "   $ver: already weak (ok)"; continue; fi
    syms=$(readelf -W --dyn-syms "$lib" | awk -v v="@$ver" 'index($8, v) {sub(/@.*/, "", $8); print $8}' | sort -u)
    for s in $syms; do
      if readelf -rW "$lib" | awk '{print $5}' | grep -qx "${s}@${ver}\|${s}"; then
        echo "error: $s@$ver is referenced by a relocation; this patch is not safe for this build" >&2; exit 2
      fi
      echo "   $s@$ver: no relocation uses it -> clearing symbol version"
      patchelf --clear-symbol-version "$s" "$lib"
    done
    # re-read offsets (patchelf may have rewritten the file) and set vna_flags = VER_FLG_WEAK (2)
    vr_off=$(readelf -SW "$lib" | sed 's/\[ *[0-9]*\]//' | awk '$1==".gnu.version_r"{print $4}')
    off=$(readelf -VW "$lib" | sed -n "/Version needs section/,/^\$/p" \
          | awk -v v="$ver" '/File:/{f=($0 ~ /File: libstdc\+\+\.so\.6/)} f && $3==v {sub(":", "", $1); print $1}')
    pos=$(( 0x$vr_off + off + 4 ))
    printf '\x02\x00' | dd of="$lib" bs=1 seek="$pos" conv=notrunc status=none
    echo "   $ver: requirement marked WEAK (byte offset $pos)"
    changed=1
  done <<<"$entries"
  [ $changed = 1 ] || echo "   nothing to change"
  # verify: resolve against the app's own libtorch copies
  if ldd_out=$(LD_LIBRARY_PATH="$(dirname "$lib")" ldd "$lib" 2>&1) && ! grep -qE "not found" <<<"$ldd_out"; then
    echo "   ok: loads with $(basename "$(readlink -f "$LIBSTDCXX")")"
  else
    grep -E "not found" <<<"$ldd_out" | grep -v "weak version" >&2 && { echo "error: still not loadable" >&2; exit 3; }
    echo "   ok: loads ($(grep -c 'weak version' <<<"$ldd_out") weak version(s) absent, harmless)"
  fi
done

echo "Done: no environment variables are needed at run time."
