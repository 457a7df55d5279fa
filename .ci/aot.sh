#!/usr/bin/env bash
# NativeAOT: publish samples/MnistAot (samples/Mnist's own sources, net10.0, PublishAot) as one native binary, with any
# trim or AOT warning failing the publish, then run the binary on a short budget and check its test accuracy.
# The .NET 10 SDK restores the NativeAOT packages it needs (the ILCompiler and the net10.0 NativeAOT runtime pack) itself.
#
# Needs a C toolchain to link: clang (or clang-NN, passed as CppCompilerAndLinker); if there is none, it installs clang
# with apt-get, and failing that lets the SDK fall back to gcc. zlib is not needed: the NativeAOT runtime pack links its own libz.a.
#
# Environment: AOT_STEPS (default 300) training steps, AOT_MIN_ACCURACY (default 0.95) the accuracy to reach.
# Ends with "aot: PASS (...)" (exit 0) or "aot: FAIL (...)" (exit 1).
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
steps=${AOT_STEPS:-300}
minimum=${AOT_MIN_ACCURACY:-0.95}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Builds go to their own artifacts folder, so the RID-specific restore and build never touch the repository's bin/ and
# obj/ (which other builds of the runtime library share).
artifacts="$work/artifacts" out="$work/publish" log="$work/log"

fail() {
  echo "aot: FAIL ($1)"
  exit 1
}

echo "== C toolchain"
cc_args=()
if command -v clang > /dev/null; then
  echo "clang: $(command -v clang)"
else
  versioned=$(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2 -n | tail -1)
  if [ -n "$versioned" ]; then
    echo "clang: $(command -v "$versioned") (no plain clang on PATH: -p:CppCompilerAndLinker=$versioned)"
    cc_args=("-p:CppCompilerAndLinker=$versioned")
  else
    echo "no clang: installing it with apt-get"
    if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang; } > "$work/apt.log" 2>&1; then
      echo "clang: $(command -v clang)"
    elif command -v gcc > /dev/null; then
      tail -3 "$work/apt.log"; echo "could not install clang; the SDK falls back to gcc: $(command -v gcc)"
    else
      tail -20 "$work/apt.log"; fail "no C compiler to link with: install clang"
    fi
  fi
fi

echo "== dotnet publish samples/MnistAot -c Release -r linux-x64   (PublishAot, net10.0, trim/AOT warnings are errors)"
start=$(date +%s.%N)
dotnet publish samples/MnistAot -c Release -r linux-x64 --artifacts-path "$artifacts" -o "$out" "${cc_args[@]}" > "$log" 2>&1
status=$?
publish_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
# The project makes every warning an error, the trimming and AOT ones included (ILC: --warnaserror); any that still
# shows up as a warning fails too.
if grep -qE "(warning|error) IL[0-9]+" "$log"; then
  grep -E "(warning|error) IL[0-9]+" "$log" | sort -u | head -30; fail "the publish reported trim/AOT (IL) warnings"
fi
if grep -qE ": warning [A-Z]+[0-9]+" "$log"; then grep -E ": warning [A-Z]+[0-9]+" "$log" | sort -u | head -30; fail "the publish printed warnings"; fi
if [ "$status" -ne 0 ]; then
  grep -E "error" "$log" | sort -u | tail -30
  grep -q "NU1101" "$log" && echo "(a package is missing from every NuGet source: NativeAOT for net10.0 needs Microsoft.DotNet.ILCompiler, runtime.linux-x64.Microsoft.DotNet.ILCompiler and Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64 10.0.x)"
  fail "dotnet publish failed"
fi
grep -q "Generating native code" "$log" || fail "the publish did not run the NativeAOT compiler"
binary="$out/MnistAot"
[ -x "$binary" ] || fail "no executable at $binary"
[ "$(head -c 4 "$binary" | tail -c 3)" = ELF ] || fail "$binary is not a native executable"
[ ! -e "$out/MnistAot.dll" ] || fail "a NativeAOT publish should not contain MnistAot.dll"
size=$(stat -c %s "$binary")
size_mb=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "published in ${publish_seconds} s: native binary $binary, ${size_mb} MiB ($size bytes)"

# Startup: the time to parse options and print the usage (the sample exits 2 after --help), median of 5 runs.
startup_ms=$(for _ in 1 2 3 4 5; do
  s=$(date +%s%N); "$binary" --help > /dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))
done | sort -n | sed -n 3p)
echo "startup (--help): ${startup_ms} ms"

echo "== $binary --steps $steps"
start=$(date +%s.%N)
"$binary" --steps "$steps" --save "$work/mnist.weights" --report "$work/report.html" > "$work/run.log" 2>&1
status=$?
run_seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
grep -E "^(ConvGen MNIST|model:|step [0-9]+/|training:|inference:|test accuracy|report:)" "$work/run.log"
[ "$status" -eq 0 ] || { tail -30 "$work/run.log"; fail "the native sample exited with $status"; }
accuracy=$(sed -n 's/^test accuracy: //p' "$work/run.log")
[ -n "$accuracy" ] || fail "the native sample printed no test accuracy"
train_rate=$(sed -n 's/^training: .* \([0-9]*\) images\/s$/\1/p' "$work/run.log")
infer_rate=$(sed -n 's/^inference: .* \([0-9]*\) images\/s;.*/\1/p' "$work/run.log")
awk -v a="$accuracy" -v m="$minimum" 'BEGIN { exit !(a >= m) }' || fail "test accuracy $accuracy after $steps steps is below $minimum"
[ -s "$work/mnist.weights" ] || fail "the native sample saved no weights"
[ -s "$work/report.html" ] || fail "the native sample wrote no report"
echo "aot: PASS (native: publish ${publish_seconds} s, binary ${size_mb} MiB, startup ${startup_ms} ms, $steps steps + evaluation ${run_seconds} s: training ${train_rate:-?} images/s, inference ${infer_rate:-?} images/s, test accuracy $accuracy >= $minimum)"
