"""Command line: `python -m ticketing setup [--demo]`."""

from __future__ import annotations

import argparse

from ticketing.bootstrap import ensure_demo, prepare
from ticketing.clock import SystemClock
from ticketing.config import load_settings
from ticketing.db import open_store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ticketing")
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup", help="migrate the database and load reference data")
    setup.add_argument("--demo", action="store_true", help="also seed the demo projects and officers once")
    args = parser.parse_args(argv)

    store = open_store(load_settings())
    prepare(store)
    print(f"Ticket store ready: {store.engine.url.render_as_string(hide_password=True)}")
    if args.demo:
        login = ensure_demo(store, SystemClock())
        print(f"Demo login: {login.email}  password: {login.password}")
        print("  (the same password opens every demo account:)")
        for email, name in login.accounts:
            print(f"    {email:32} {name}")


if __name__ == "__main__":
    main()
