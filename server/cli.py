"""The `portal` command: run the server, migrate, create the therapist's account."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

import uvicorn

from server import db
from server.auth.passwords import check_strength, hash_password
from server.errors import ApiError
from server.settings import Settings


def run(args: argparse.Namespace) -> None:
    if args.demo:
        os.environ["PORTAL_DEMO"] = "1"
    settings = Settings.from_env()
    from server import demo
    from server.app import create_app

    if settings.demo:
        print("Demo logins (see README):\n" + "\n".join(demo.login_lines()), flush=True)
    print(f"Serving the portal on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips, ws_per_message_deflate=False,
        log_level="info",
    )


async def _database_url(settings: Settings) -> str:
    from server.app import open_database

    return await open_database(settings)


def migrate(args: argparse.Namespace) -> None:
    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(await _database_url(Settings.from_env()))
        try:
            applied = await db.migrate(conn)
        finally:
            await conn.close()
        print("applied: " + (", ".join(applied) or "nothing new"))
    asyncio.run(go())


def create_therapist(args: argparse.Namespace) -> None:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    try:
        check_strength(password, args.email)
    except ApiError as exc:
        sys.exit(exc.message)

    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(await _database_url(Settings.from_env()))
        try:
            await db.migrate(conn)
            async with conn.transaction():
                user_id = await conn.fetchval(
                    "INSERT INTO users (email, name, role, password_hash) "
                    "VALUES ($1, $2, 'therapist', $3) RETURNING id",
                    args.email, args.name, await hash_password(password))
                await conn.execute(
                    "INSERT INTO memberships SELECT $1, id FROM divisions", user_id)
        finally:
            await conn.close()
        print(f"therapist {args.email} created")
    asyncio.run(go())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="serve the portal (HOST, PORT and the rest from the environment)")
    p.add_argument("--demo", action="store_true", help="seed the demo practice on first start")
    p.set_defaults(func=run)
    p = sub.add_parser("migrate", help="apply database migrations and exit")
    p.set_defaults(func=migrate)
    p = sub.add_parser("create-therapist", help="create a therapist account in every division")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=create_therapist)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
