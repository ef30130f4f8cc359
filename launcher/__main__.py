"""`make run`'s supervisor: `python -m launcher setup [--demo]` and `python -m launcher run`;
`python -m launcher serve NAME` runs one service in the foreground, configured as `run` would
(for a process manager such as systemd, one unit per service: deploy/)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import NoReturn

from launcher.processes import (
    PRIVATE_UMASK,
    ChannelSetup,
    RasaApi,
    channel_setup,
    services,
    start_all,
    stop_all,
    web_origins,
)
from ticketing.clock import SystemClock
from ticketing.config import LOCALHOST, RASA_API_TOKEN, Settings, load_settings
from ticketing.store.bootstrap import ensure_demo, prepare
from ticketing.store.db import Store, open_store


def setup(store: Store, demo: bool) -> None:
    prepare(store)
    print(f"Ticket store ready: {store.engine.url.render_as_string(hide_password=True)}")
    if demo:
        login = ensure_demo(store, SystemClock())
        print(f"Demo login: {login.email}  password: {login.password}")
        print("  (the same password opens every demo account:)")
        for email, name in login.accounts:
            print(f"    {email:32} {name}")


def channel_lines(channels: ChannelSetup, rasa_url: str) -> list[str]:
    """Which messaging channels this run serves, and what the others need."""
    lines = [f"{c.label}: webhook {rasa_url}/webhooks/{c.webhook}/webhook" for c in channels.enabled]
    return lines + [f"{c.label}: off (set {', '.join(c.required)}; see .env.example)" for c in channels.disabled]


def development_lines(channels: ChannelSetup, api: RasaApi | None) -> list[str]:
    """Which doors meant for development this run opens."""
    rest = "on (for development and tests only)" if channels.rest else "off (GRM_REST_CHANNEL=on for development)"
    lines = [f"REST channel: {rest}"]
    if api is None:
        return [*lines, "Rasa's HTTP API: off (GRM_RASA_API=on for development)"]
    return [*lines, f"Rasa's HTTP API: on, with the token in GRM_RASA_TOKEN or {RASA_API_TOKEN.filename} under var/"]


def run(settings: Settings) -> int:
    """Start Rasa, the action server, the scheduler and the web app; stop them all when one
    stops or on Ctrl-C."""
    net = settings.network
    channels = channel_setup(settings.environment, net.rest_channel, settings.var_dir)
    api = None
    if net.rasa_api:
        api = RasaApi(RASA_API_TOKEN.value(settings.var_dir, settings.environment), web_origins(settings))
    started = services(settings, rasa_api=api, channels=channels)
    print("Starting the action server, Rasa, the scheduler and the web app (Rasa takes a minute)...", flush=True)
    start_all(started)
    shown = "localhost" if net.host == LOCALHOST else net.host
    web = f"http://{shown}:{net.web_port}"
    print(f"\n  Webchat:      {web}/chat/KKR-01   (or /chat for any project)")
    print(f"  QR code:      {web}/qr/KKR-01.png")
    print(f"  Poster:       {web}/poster/KKR-01.pdf   (A4, every channel's QR code)")
    print(f"  Backoffice:   {web}/admin/   (sign in with the demo login above)")
    print(f"  Logs:         {settings.var_dir / 'logs'}")
    for line in channel_lines(channels, f"http://{shown}:{net.rasa_port}") + development_lines(channels, api):
        print(f"  {line}")
    if settings.twilio is None or settings.smtp is None:
        print(f"  Messages:     {settings.var_dir / 'notifications.jsonl'}   (SMS, WhatsApp and email")
        print("                without TWILIO_* or GRM_SMTP_* settings are written here; see .env.example)")
    print("\nPress Ctrl-C to stop.", flush=True)
    # Stop everything on Ctrl-C even when started from a shell that ignores SIGINT, and on SIGTERM.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(s.process is not None and s.process.poll() is None for s in started):
            time.sleep(1)
        stopped = next(s for s in started if s.process is not None and s.process.poll() is not None)
        print(f"{stopped.name} stopped unexpectedly:\n{stopped.tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all(started)


# The services `serve` runs, by the name a unit file gives.
SERVED = {"actions": "action server", "rasa": "Rasa", "scheduler": "scheduler", "web": "web app"}


def serve(settings: Settings, name: str) -> NoReturn:
    """Become the one service named (never returns): its command and environment as `run`
    starts it, its output on this process's own (a process manager's journal)."""
    channels = channel_setup(settings.environment, settings.network.rest_channel, settings.var_dir)
    [service] = [s for s in services(settings, channels=channels) if s.name == SERVED[name]]
    service.become()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher")
    commands = parser.add_subparsers(dest="command", required=True)
    setup_command = commands.add_parser("setup", help="migrate the database and load reference data")
    setup_command.add_argument("--demo", action="store_true", help="also seed the demo projects and officers once")
    run_command = commands.add_parser("run", help="set up the demo and start every process")
    run_command.add_argument("--no-demo", action="store_true", help="do not seed the demo data")
    serve_command = commands.add_parser("serve", help="run one service in the foreground (for systemd)")
    serve_command.add_argument("service", choices=sorted(SERVED))
    args = parser.parse_args(argv)

    # Whatever the GRM writes under var/ (logs, databases, keys, files) is its owner's alone.
    os.umask(PRIVATE_UMASK)
    settings = load_settings()
    if args.command == "serve":
        serve(settings, args.service)
    store = open_store(settings)
    if args.command == "setup":
        setup(store, args.demo)
        return 0
    setup(store, not args.no_demo)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
