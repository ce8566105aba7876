import subprocess
import sys

import psycopg

from recon_assets.warehouse.embedded import ensure_embedded_server, server_pid, stop_embedded_server

ASK = (
    "from recon_assets.warehouse.embedded import ensure_embedded_server, server_pid; from pathlib import Path; "
    "import sys; home = Path(sys.argv[1]); ensure_embedded_server(home); print(server_pid(home))"
)


def test_two_processes_get_the_same_server_and_data_survives_a_restart(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-c", ASK, str(home)], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    pids = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(pids) == 1 and pids != {"None"}
    try:
        url = ensure_embedded_server(home)
        assert str(server_pid(home)) in pids
        with psycopg.connect(url.libpq, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        assert stop_embedded_server(home)
        assert server_pid(home) is None
        url = ensure_embedded_server(home)
        with psycopg.connect(url.libpq) as conn:
            assert conn.execute("SELECT v FROM kept").fetchall() == [(42,)]
    finally:
        stop_embedded_server(home)
