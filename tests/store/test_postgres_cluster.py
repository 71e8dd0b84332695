"""The throwaway PostgreSQL + PostGIS server of the tests (tests/pg.py), used for real."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest
import shapely
import sqlalchemy
from pyproj import Geod
from shapely import box
from shapely.geometry.polygon import orient

from common import X0, Y0
from pg import PostgresCluster, PostgresUnavailable

WGS84 = Geod(ellps="WGS84")


def test_postgis_answers_through_the_sqlalchemy_url(postgres: PostgresCluster):
    assert postgres.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = sqlalchemy.create_engine(postgres.url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sqlalchemy.text("SELECT postgis_full_version()")).scalar()
            server = conn.execute(sqlalchemy.text("SHOW server_version")).scalar()
            encoding = conn.execute(sqlalchemy.text("SHOW server_encoding")).scalar()
            fsync = conn.execute(sqlalchemy.text("SHOW fsync")).scalar()
    finally:
        engine.dispose()
    assert "GEOS" in version
    assert 'POSTGIS="3.' in version
    assert server.startswith("15.")
    assert encoding == "UTF8"
    assert fsync == "off"


FIELDS = {
    # about 0.83 km² in the reference region
    "square": box(X0, Y0, X0 + 0.01, Y0 + 0.01),
    # an irregular suspected hazard area of a few hectares
    "irregular": shapely.Polygon(
        [
            (X0, Y0),
            (X0 + 0.0031, Y0 - 0.0004),
            (X0 + 0.0047, Y0 + 0.0022),
            (X0 + 0.0018, Y0 + 0.0041),
            (X0 - 0.0009, Y0 + 0.0017),
        ]
    ),
    # with a hole, south of the equator
    "holed": shapely.Polygon(
        box(35.0, -13.0, 35.02, -12.98).exterior.coords,
        [box(35.005, -12.995, 35.01, -12.99).exterior.coords],
    ),
    # a whole degree: the ellipsoid matters here
    "degree": box(33.0, 47.0, 34.0, 48.0),
}


@pytest.mark.parametrize("name", FIELDS)
def test_geography_area_matches_pyproj_geodesic_area(postgres: PostgresCluster, name: str):
    polygon = FIELDS[name]
    # pyproj adds signed ring areas, so holes must run clockwise (box() makes them run the
    # other way): orient the polygon first
    expected = WGS84.geometry_area_perimeter(orient(polygon, sign=1.0))[0]
    with postgres.connect() as conn:
        (area,) = conn.execute(
            "SELECT ST_Area(ST_GeogFromText(%s))", [f"SRID=4326;{polygon.wkt}"]
        ).fetchone()
    assert area == pytest.approx(expected, rel=1e-4)


def test_new_databases_are_independent_and_have_postgis(postgres: PostgresCluster):
    first, second = postgres.new_database(), postgres.new_database()
    assert first != second
    prefix = f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/"
    assert first.startswith(prefix) and second.startswith(prefix)
    one, two = (sqlalchemy.create_engine(u) for u in (first, second))
    try:
        with one.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE hazard (id int, geom geography)"))
            conn.execute(sqlalchemy.text("INSERT INTO hazard VALUES (1, 'POINT(33.5 47.8)')"))
        with one.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT count(*) FROM hazard")).scalar() == 1
            assert conn.execute(sqlalchemy.text("SELECT current_database()")).scalar() == (
                first.removeprefix(prefix)
            )
        with two.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT current_database()")).scalar() == (
                second.removeprefix(prefix)
            )
            assert conn.execute(sqlalchemy.text("SELECT to_regclass('hazard')")).scalar() is None
            assert "GEOS" in conn.execute(sqlalchemy.text("SELECT postgis_full_version()")).scalar()
    finally:
        one.dispose()
        two.dispose()
    # nor did the session's own database get the table
    with postgres.connect() as conn:
        assert conn.execute("SELECT to_regclass('hazard')").fetchone() == (None,)


def test_a_named_database(postgres: PostgresCluster):
    url = postgres.new_database("named_db")
    assert url.endswith(f":{postgres.port}/named_db")
    with pytest.raises(psycopg.errors.DuplicateDatabase):
        postgres.new_database("named_db")
    with pytest.raises(ValueError, match="plain database name"):
        postgres.new_database("x; DROP DATABASE postgres")


def _listening(table: str, port: int) -> list[str]:
    """Local addresses (hex, as the kernel writes them) of sockets listening on `port`."""
    path = Path("/proc/net") / table
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines()[1:]:
        fields = line.split()
        address, port_hex = fields[1].rsplit(":", 1)
        if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
            found.append(address)
    return found


def _refused(family: socket.AddressFamily, host: str, port: int) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        try:
            s.connect((host, port))
        except OSError:
            return True
        return False


def test_the_server_listens_on_127_0_0_1_only(postgres: PostgresCluster):
    port = postgres.port
    assert port is not None
    with postgres.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
    assert _listening("tcp", port) == ["0100007F"]  # 127.0.0.1, nothing else
    assert _listening("tcp6", port) == []
    assert not _refused(socket.AF_INET, "127.0.0.1", port)
    assert _refused(socket.AF_INET, "127.0.0.2", port)  # another loopback address
    if socket.has_ipv6:
        assert _refused(socket.AF_INET6, "::1", port)
    # the Unix socket is in the cluster's own temporary directory
    assert (postgres.socket_dir / f".s.PGSQL.{port}").is_socket()


def _gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped by init counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_the_context_manager_cleans_up_when_the_body_raises():
    with pytest.raises(RuntimeError, match="boom"), PostgresCluster("scratch") as pg:
        directory = pg.dir
        assert directory is not None
        pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        with pg.connect() as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("scratch",)
        raise RuntimeError("boom")
    assert not directory.exists()
    assert _gone(pid)
    assert pg.dir is None
    pg.stop()  # again: nothing to do


def test_missing_binaries_are_an_error_naming_the_fix(tmp_path: Path):
    with pytest.raises(PostgresUnavailable, match="make test") as caught:
        PostgresCluster(bindir=tmp_path).start()
    assert "apt-get install -y postgresql-15 postgresql-15-postgis-3" in str(caught.value)
