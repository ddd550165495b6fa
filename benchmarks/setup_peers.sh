#!/usr/bin/env bash
# Build benchmarks/.venv-peers: the peer systems (SDV, SDMetrics, MOSTLY AI's TabularARGN engine)
# next to duck_synth, in an environment of their own. The peers need pandas<3 and some carry the
# Business Source License, so none of this may leak into duck_synth's own dependencies.
#
# Usage:  bash benchmarks/setup_peers.sh [--force]
#   --force   reinstall even when the venv matches requirements-peers.txt
# Env:    PYTHON   interpreter for the venv (default: python3; mostlyai-engine needs 3.11-3.13)
#
# Idempotent: a stamp in the venv records the requirements it was built from; a re-run with the
# same requirements only checks that everything imports.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
venv="$here/.venv-peers"
reqs="$here/requirements-peers.txt"
py="$venv/bin/python"
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { printf '[setup_peers] %s\n' "$*" >&2; }

# The pinned requirements, one per line, comments stripped.
pins() { grep -E '^[A-Za-z0-9]' "$reqs" | sed 's/[[:space:]]*#.*$//'; }
pin_of() { pins | grep -iE "^$1==" ; }

stamp_value() { { cat "$reqs" "$here/setup_peers.sh"; "$py" -V; } | sha256sum | cut -c1-16; }

check_imports() {
    # Run outside the repo so `import duck_synth` proves the editable install, not the cwd.
    (cd / && "$py" - <<'EOF'
import importlib.metadata, importlib.util, pkgutil, sys
import torch
import sdv, sdmetrics, mostlyai.engine, duckdb, polars, pandas, pyarrow
from mostlyai.engine import TabularARGN                        # noqa: F401
from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer  # noqa: F401
import duck_synth

if int(pandas.__version__.split(".")[0]) >= 3:
    sys.exit(f"pandas {pandas.__version__}: the peers need pandas<3")
if torch.version.cuda is not None:
    sys.exit(f"torch {torch.__version__} is a CUDA build; expected the local CPU wheel")
heavy = [m for m in ("triton", "xgrammar", "torchvision", "torchaudio", "vllm")
         if importlib.util.find_spec(m) is not None]
if heavy:
    print(f"warning: unexpected heavy packages installed: {heavy}", file=sys.stderr)
broken = []
for mod in pkgutil.walk_packages(duck_synth.__path__, "duck_synth."):
    try:
        importlib.import_module(mod.name)
    except Exception as exc:  # report every module, not just the first failure
        broken.append(f"{mod.name}: {type(exc).__name__}: {exc}")
print(f"torch {torch.__version__}, sdv {sdv.__version__}, sdmetrics {sdmetrics.__version__}, "
      f"mostlyai-engine {importlib.metadata.version('mostlyai-engine')}, "
      f"pandas {pandas.__version__}, duckdb {duckdb.__version__}, polars {polars.__version__}")
for line in broken:
    print(f"warning: duck_synth module does not import: {line}", file=sys.stderr)
EOF
    )
}

if [[ ! -x "$py" ]]; then
    log "creating $venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$py" -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
fi

stamp="$venv/.peers-stamp"
if [[ $force -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$(stamp_value)" ]]; then
    log "up to date; checking imports"
    check_imports
    exit 0
fi

constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
pins > "$constraints"

pip_log="$venv/setup_peers.log"
: > "$pip_log"
# pip's output (and the build backend's warnings) go to a log, shown only when a step fails.
pip_install() {
    if ! "$py" -m pip install --disable-pip-version-check "$@" >> "$pip_log" 2>&1; then
        grep -v '^WARNING: Location' "$pip_log" | tail -40 >&2
        log "pip failed: $*  (full log: $pip_log)"
        exit 1
    fi
}

log "1/4 torch (CPU build) first"
pip_install -c "$constraints" "$(pin_of torch)"

log "2/4 peers and duck_synth's runtime dependencies"
# shellcheck disable=SC2046  # one argument per pinned requirement
pip_install -c "$constraints" $(pins | grep -viE '^(torch|mostlyai-engine)==')

log "3/4 mostlyai-engine (--no-deps: skips its LLM-only torchvision/torchaudio/xgrammar)"
pip_install --no-deps "$(pin_of mostlyai-engine)"

log "4/4 duck_synth (editable, --no-deps)"
pip_install --no-deps -e "$root"

check_imports
stamp_value > "$stamp"
log "ready: $venv (activate with: source benchmarks/.venv-peers/bin/activate)"
