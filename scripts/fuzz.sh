#!/usr/bin/env bash
# Runs every Go fuzz target in the repository, one at a time, on one core.
# Usage: scripts/fuzz.sh [FUZZTIME] [PACKAGES...]   (default 2m, ./...)
# Targets are discovered with `go test -list '^Fuzz'`; a crasher is kept under
# the package's testdata/fuzz/<Target>/ and becomes a regression case.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime="${1:-2m}"
shift || true
pkgs=("$@")
[ "${#pkgs[@]}" -eq 0 ] && pkgs=(./...)

list="$(mktemp)"
trap 'rm -f "$list"' EXIT
# `go test -list` prints the matching names of a package, then its "ok" line.
go test -list '^Fuzz' "${pkgs[@]}" >"$list" 2>&1
status=$?

targets=()
names=()
while IFS= read -r line; do
  case "$line" in
    Fuzz*) names+=("$line") ;;
    ok*)
      pkg="$(printf '%s\n' "$line" | awk '{print $2}')"
      for n in "${names[@]}"; do targets+=("$pkg $n"); done
      names=()
      ;;
    FAIL*|"#"*)
      echo "fuzz: cannot list: $line" >&2
      names=()
      status=1
      ;;
  esac
done <"$list"

if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit "$status"
fi

echo "fuzz: ${#targets[@]} targets, $fuzztime each"
failed=()
for t in "${targets[@]}"; do
  pkg="${t% *}"
  name="${t#* }"
  echo "== $pkg $name"
  if ! GOMAXPROCS=1 go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg"; then
    failed+=("$pkg $name")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
exit "$status"
