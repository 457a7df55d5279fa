#!/usr/bin/env bash
# The package test: does ConvGen work for a stranger who only has the NuGet package?
#  1. `dotnet pack runtime/ConvGen` into a local folder feed, and check the package's layout.
#  2. Copy tests/PackageConsumer out of the repository (no Directory.Build.props of ours applies there), give it a
#     nuget.config whose ConvGen can only come from that feed, and an empty NuGet cache (no stale ConvGen can be used).
#  3. Build and run it: it annotates its own classes, checks a generated kernel against its own loop, trains tiny
#     models, and exits non-zero unless every check passes.
# Ends with "package: PASS ..." (exit 0) or "package: FAIL ..." (exit 1).
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
feed="$work/feed" consumer="$work/consumer" log="$work/log"

fail() {
  echo "package: FAIL ($1)"
  exit 1
}

seconds() { echo $(( $(date +%s) - $1 )); }

version=$(dotnet msbuild runtime/ConvGen/ConvGen.csproj -getProperty:Version -nologo 2>/dev/null | tr -d '[:space:]')
[ -n "$version" ] || fail "could not read the version from Directory.Build.props"

echo "== dotnet pack runtime/ConvGen -c Release -o <feed>   (ConvGen $version)"
start=$(date +%s)
if ! dotnet pack runtime/ConvGen -c Release -o "$feed" > "$log" 2>&1; then
  tail -30 "$log"; fail "dotnet pack failed"
fi
if grep -qE ': warning [A-Z]+[0-9]+' "$log"; then grep -E ': warning' "$log" | sort -u; fail "dotnet pack printed warnings"; fi
pack_seconds=$(seconds "$start")
nupkg="$feed/ConvGen.$version.nupkg"
[ -f "$nupkg" ] || fail "no $nupkg"
[ -f "$feed/ConvGen.$version.snupkg" ] || fail "no symbol package ConvGen.$version.snupkg"
unzip -l "$nupkg" | sed -n '4,$p' | grep -vE '^-+|files$' | awk '{ print "  " $4, "(" $1 " bytes)" }'

# The layout a consumer depends on.
entries=$(unzip -Z1 "$nupkg")
for entry in lib/net10.0/ConvGen.dll lib/net10.0/ConvGen.xml analyzers/dotnet/cs/ConvGen.Generator.dll README.md LICENSE; do
  grep -qx "$entry" <<< "$entries" || fail "the package lacks $entry"
done
if grep -E '^lib/.*Generator' <<< "$entries"; then fail "the generator must not be in lib/"; fi
grep -qx lib/net10.0/ConvGen.pdb <<< "$(unzip -Z1 "$feed/ConvGen.$version.snupkg")" || fail "the symbol package lacks lib/net10.0/ConvGen.pdb"
nuspec=$(unzip -p "$nupkg" ConvGen.nuspec)
grep -q '<dependency id="System.Numerics.Tensors"' <<< "$nuspec" || fail "the nuspec lacks the System.Numerics.Tensors dependency"
grep -q '<dependency id="System.IO.Hashing"' <<< "$nuspec" || fail "the nuspec lacks the System.IO.Hashing dependency"
if grep -q '<dependency id="ConvGen.Generator"' <<< "$nuspec"; then fail "the generator must not be a package dependency"; fi
for tag in '<license type="expression">MIT</license>' '<readme>README.md</readme>' "<version>$version</version>"; do
  grep -qF "$tag" <<< "$nuspec" || fail "the nuspec lacks $tag"
done

echo "== consumer: tests/PackageConsumer copied to a temporary folder, ConvGen $version from the local feed only"
mkdir -p "$consumer"
cp tests/PackageConsumer/PackageConsumer.csproj tests/PackageConsumer/Program.cs "$consumer/"
# Every source this machine normally uses (for System.Numerics.Tensors), plus the feed; source mapping sends ConvGen
# to the feed alone, so a ConvGen on any other source can never be picked.
mapfile -t sources < <(cd "$consumer" && dotnet nuget list source --format short | sed -n 's/^E *//p')
[ "${#sources[@]}" -gt 0 ] || fail "no enabled NuGet source for the consumer's dependencies"
{
  echo '<?xml version="1.0" encoding="utf-8"?>'
  echo '<configuration>'
  echo '  <packageSources>'
  echo '    <clear />'
  echo "    <add key=\"convgen-local\" value=\"$feed\" />"
  for i in "${!sources[@]}"; do echo "    <add key=\"source$i\" value=\"${sources[$i]}\" />"; done
  echo '  </packageSources>'
  echo '  <packageSourceMapping>'
  echo '    <packageSource key="convgen-local"><package pattern="ConvGen" /></packageSource>'
  for i in "${!sources[@]}"; do echo "    <packageSource key=\"source$i\"><package pattern=\"*\" /></packageSource>"; done
  echo '  </packageSourceMapping>'
  echo '</configuration>'
} > "$consumer/nuget.config"
export NUGET_PACKAGES="$work/packages"

start=$(date +%s)
if ! dotnet build "$consumer" -c Release -p:ConvGenVersion="$version" > "$log" 2>&1; then
  grep -E 'error|warning' "$log" | sort -u | tail -30; fail "the consumer did not build against the package"
fi
if grep -qE ': warning [A-Z]+[0-9]+' "$log"; then grep -E ': warning' "$log" | sort -u; fail "the consumer's build printed warnings"; fi
build_seconds=$(seconds "$start")
metadata="$NUGET_PACKAGES/convgen/$version/.nupkg.metadata"
grep -qF "\"source\": \"$feed\"" "$metadata" 2>/dev/null || fail "ConvGen $version was not restored from the local feed ($metadata)"

start=$(date +%s)
dotnet run --no-build -c Release --project "$consumer"
status=$?
run_seconds=$(seconds "$start")
[ "$status" -eq 0 ] || fail "the consumer reported $status failed check(s)"
echo "package: PASS (ConvGen $version: pack ${pack_seconds} s, consumer restore+build ${build_seconds} s, run ${run_seconds} s)"
