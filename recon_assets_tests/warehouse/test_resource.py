from recon_assets.warehouse.resource import WarehouseResource


def _backend_and_answer(answer: int):
    return lambda conn: (
        conn.execute("SELECT pg_backend_pid()").fetchone()[0],
        conn.execute("SELECT %s::int", (answer,)).fetchone()[0],
    )


def test_concurrent_reads_answer_by_name_each_on_its_own_connection(fresh_database):
    warehouse = WarehouseResource(database_url=fresh_database.libpq)
    answers = warehouse.read_concurrently({name: _backend_and_answer(n) for n, name in enumerate("abc")})
    assert list(answers) == ["a", "b", "c"]
    assert [answer for _, answer in answers.values()] == [0, 1, 2]
    assert len({backend for backend, _ in answers.values()}) == 3
