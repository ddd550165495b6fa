"""The dbt-duckdb plugin: duck_synth's SQL functions on dbt's connection and on every cursor.

Add it to a dbt-duckdb profile::

    my_project:
      outputs:
        dev:
          type: duckdb
          path: warehouse.duckdb
          plugins:
            - module: duck_synth.dbt

Then a SQL model can ``select * from generate_synthetic('customers', 1000, seed := 1)``, a
Python model can call the library on its ``session``, and ``synthetic_violations`` turns the
validator rules into dbt tests (see ``examples/dbt``).

dbt runs every model on a cursor of one parent connection, and TEMP macros are per
connection, so the plugin registers on the connection and again on each cursor, which also
picks up models trained by earlier nodes of the same run.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from .sql_functions import register


class Plugin(BasePlugin):
    """Registers duck_synth (``duck_synth.register``) wherever dbt-duckdb hands out a connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.config = dict(plugin_config)

    def configure_connection(self, conn) -> None:
        register(conn)

    def configure_cursor(self, cursor) -> None:
        register(cursor)
