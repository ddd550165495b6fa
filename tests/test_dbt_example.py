"""`dbt build` on examples/dbt: training in a Python model, generate_synthetic in SQL models, rules as dbt tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "dbt"
DBT = Path(sys.executable).with_name("dbt")

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="dbt is not installed (pip install -e '.[dev]')")


@pytest.mark.parametrize("threads", [1, 4])
def test_dbt_build_passes(tmp_path, threads):
    """threads=4: the models and tests run at once on cursors of dbt's one connection."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", "profiles.yml"))
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    database = tmp_path / "warehouse.duckdb"
    (profiles / "profiles.yml").write_text(
        (EXAMPLE / "profiles.yml").read_text().replace(
            "{{ env_var('DUCK_SYNTH_DBT_DB', 'duck_synth_example.duckdb') }}", str(database)
        ).replace("threads: 1", f"threads: {threads}"))
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    result = subprocess.run(
        [str(DBT), "build", "--profiles-dir", str(profiles), "--project-dir", str(project),
         "--vars", "{duck_synth_epochs: 1}", "--no-use-colors"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "PASS=11 WARN=1 ERROR=0 SKIP=0" in result.stdout, result.stdout[-3000:]

    con = duckdb.connect(str(database), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM cps_synthetic").fetchall() == [(1000,)]
        assert con.execute("DESCRIBE cps_synthetic").fetchall() == con.execute("DESCRIBE cps1988_sample").fetchall()
        assert con.execute("SELECT count(*) FROM cps_synthetic WHERE experience < 0 OR wage <= 0").fetchall() == [(0,)]
        assert con.execute("SELECT DISTINCT parttime, region FROM cps_synthetic_parttime").fetchall() == [
            ("yes", "west")]
        assert con.execute("SELECT rule FROM duck_synth.rules WHERE model = 'cps' AND origin = 'user' ORDER BY 1"
                           ).fetchall() == [("experience_not_negative",), ("wage_positive",)]
    finally:
        con.close()
