"""Who may reach the web UI: Jupyter's rule, a server bound beyond loopback needs credentials.

The session log holds every question anyone asked (History, export), so `s1app ui` refuses to
listen on a non-loopback address, or to open a share link, without a login, unless the person
says ``--insecure-no-auth``. Pure functions: tests check every case without starting a server.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from s1app.errors import ConfigError, ExposureError

AUTH_ENV = "S1APP_AUTH"
"""Environment variable holding USER:PASS (keeps the password out of shell history)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_login(text: str, where: str) -> tuple[str, str]:
    """USER:PASS (the password may itself hold colons) -> (user, password)."""
    user, sep, password = text.strip().partition(":")
    if not sep or not user or not password:
        raise ConfigError(f"{where} takes USER:PASS (both non-empty).")
    return user, password


def read_auth_file(path: Path) -> tuple[str, str]:
    """The first non-empty line of a password file, USER:PASS."""
    try:
        lines = [line for line in path.expanduser().read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as failure:
        raise ConfigError(f"Cannot read the password file {path} ({failure.strerror}): check the path.") from failure
    if not lines:
        raise ConfigError(f"The password file {path} is empty: write one line USER:PASS in it.")
    return parse_login(lines[0], f"The password file {path}")


def login_from(auth: str | None, auth_file: Path | None) -> tuple[str, str] | None:
    """The login asked for with --auth (or $S1APP_AUTH) or --auth-file; None when neither."""
    if auth is not None and auth_file is not None:
        raise ConfigError(f"Give one login: --auth USER:PASS (or ${AUTH_ENV}), or --auth-file PATH, not both.")
    if auth_file is not None:
        return read_auth_file(auth_file)
    return parse_login(auth, f"--auth (or ${AUTH_ENV})") if auth is not None else None


def check_exposure(host: str, share: bool, login: tuple[str, str] | None, insecure_no_auth: bool) -> str | None:
    """Refuse (ExposureError) an app reachable beyond this machine without a login; with
    --insecure-no-auth, return the warning to print instead. None when nothing is exposed."""
    if login is not None or (is_loopback(host) and not share):
        return None
    where = "a public share link (--share)" if share else f"{host} (beyond this machine)"
    if insecure_no_auth:
        return (f"WARNING: serving on {where} without a login (--insecure-no-auth): anyone who can reach it "
                "can use the model and read the session log.")
    raise ExposureError(
        f"Refusing to serve on {where} without a login: anyone who reached it could read the session log. "
        f"Pass --auth USER:PASS, or put USER:PASS in a password file (--auth-file PATH) or in ${AUTH_ENV}; "
        "or --insecure-no-auth if you mean it to be open."
    )
