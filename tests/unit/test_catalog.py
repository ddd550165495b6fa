import pytest

from duck_synth.catalog import quote, resolve_relation, split_name, target_name
from duck_synth.errors import InvalidArgument, TableNotFound


def test_quote_doubles_embedded_quotes():
    assert quote('a "b"') == '"a ""b"""'


@pytest.mark.parametrize(
    "name, parts",
    [("t", ["t"]), ("s.t", ["s", "t"]), ('"my.table"', ["my.table"]), ('s."a ""b"""', ["s", 'a "b"'])],
)
def test_split_name(name, parts):
    assert split_name(name) == parts


@pytest.mark.parametrize("name", ['"open', "a..b", "", "a.b.c.d"])
def test_split_name_rejects_malformed(name):
    with pytest.raises(InvalidArgument):
        split_name(name)


def test_resolve_odd_names(db):
    for name in ["my table", 'quo"te', "ünï côdé", "select", "dot.ted"]:
        db.execute(f"CREATE TABLE {quote(name)} (x INTEGER)")
        assert resolve_relation(db, name).name == name
    db.execute("CREATE SCHEMA s")
    db.execute('CREATE VIEW s."v w" AS SELECT 1 AS x')
    assert resolve_relation(db, 's."v w"').kind == "view"


def test_resolve_missing_table_names_it(db):
    with pytest.raises(TableNotFound, match="table or view 'nope' does not exist"):
        resolve_relation(db, "nope")


def test_target_name_quotes_each_part():
    assert target_name('s."x y"') == '"s"."x y"'
