"""One user-facing database URL, rewritten for each driver that needs it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DATABASE_URL_VAR = "RECON_DATABASE_URL"


class ConfigurationError(RuntimeError):
    """Bad configuration, reported as one line naming the variable."""


def one_line(error: BaseException) -> str:
    """An error's message on one line: a driver's multi-line message (reason, then a hint) joined up."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text or type(error).__name__


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL URL as the user wrote it (``postgresql://user:pass@host/db``), any driver suffix."""

    url: URL

    @classmethod
    def parse(cls, raw: str, variable: str = DATABASE_URL_VAR) -> DatabaseUrl:
        try:
            url = make_url(raw.strip())
        except (ArgumentError, ValueError) as exc:
            raise ConfigurationError(f"{variable} is not a valid database URL: {exc}") from None
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise ConfigurationError(f"{variable} must be a postgresql:// URL, got a {url.get_backend_name()!r} URL")
        if not url.database:
            raise ConfigurationError(f"{variable} names no database (postgresql://user:pass@host/DATABASE)")
        return cls(url.set(drivername="postgresql"))

    @classmethod
    def from_parts(
        cls, *, host: str, port: int, database: str, username: str | None, password: str | None, sslmode: str | None
    ) -> DatabaseUrl:
        """From separate settings; any character in the password is escaped correctly."""
        query = {"sslmode": sslmode} if sslmode else {}
        return cls(URL.create("postgresql", username, password, host, port, database, query))

    @property
    def libpq(self) -> str:
        """For psycopg 3 (libpq conninfo URI)."""
        return self.url.render_as_string(hide_password=False)

    @property
    def sqlalchemy(self) -> str:
        """For SQLAlchemy and alembic, through psycopg 3."""
        return self.url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)

    @property
    def dagster_storage(self) -> str:
        """For dagster-postgres storage, which needs the psycopg2 driver."""
        return self.url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)

    @property
    def redacted(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def with_database(self, database: str) -> DatabaseUrl:
        return DatabaseUrl(self.url.set(database=database))

    def with_user(self, username: str, password: str | None = None) -> DatabaseUrl:
        return DatabaseUrl(self.url.set(username=username, password=password))
