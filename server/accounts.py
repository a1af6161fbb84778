"""Logging in and out, the caller's identity, password reset and client invitations."""
from __future__ import annotations

import re

import asyncpg
from pydantic import BaseModel, Field, field_validator
from starlette.responses import JSONResponse, Response

from server import audit, mail, practice
from server.api import Api, Call, parse_query
from server.auth import passwords, sessions, throttle, tokens
from server.auth.principal import Principal
from server.errors import ApiError, NotFound

api = Api()

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RESETS_PER_HOUR = 3


def email_key(email: str) -> str:
    return email.strip().lower()


def _check_email(value: str) -> str:
    value = value.strip()
    if not EMAIL_PATTERN.match(value):
        raise ValueError("Enter an email address such as name@example.com")
    return value


class Credentials(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class ResetRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    _email = field_validator("email")(_check_email)


class NewPassword(BaseModel):
    token: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class DivisionChoice(BaseModel):
    division_id: int = Field(gt=0, le=2**31 - 1)


class Invitation(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(default="", max_length=40)
    division_ids: list[int] = Field(min_length=1, max_length=20)
    _email = field_validator("email")(_check_email)

    @field_validator("name")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Enter the client's name")
        return value.strip()


class ClientQuery(BaseModel):
    division_id: int | None = Field(default=None, gt=0, le=2**31 - 1)


def me_json(principal: Principal) -> dict:
    return {
        "id": principal.user_id, "email": principal.email, "name": principal.name,
        "role": principal.role, "divisions": [d.as_json() for d in principal.divisions],
        "division_id": principal.division_id,
    }


async def _start_session(call: Call, conn: asyncpg.Connection, user_id: int) -> Response:
    token = await sessions.create(conn, user_id, call.request, call.settings)
    principal = await sessions.load_token(conn, token, call.settings)
    assert principal is not None
    response = JSONResponse({"user": me_json(principal), "csrf_token": principal.csrf_token})
    sessions.set_cookie(response, token, call.settings)
    return response


@api.route("POST", "/api/session", auth="public", body=Credentials)
async def log_in(call: Call) -> Response:
    """Log in with email and password; sets the session cookie and returns the CSRF token."""
    creds: Credentials = call.body
    key = email_key(creds.email)
    ip = sessions.client_ip(call.request)
    async with call.pool.acquire() as conn:
        await throttle.check(conn, key, ip, call.settings)
        user = await conn.fetchrow(
            "SELECT id, password_hash, role FROM users WHERE lower(email) = $1 AND active", key)
        ok = await passwords.verify_password(user["password_hash"] if user else None,
                                             creds.password)
        if not ok:
            await throttle.record_failure(conn, key, ip)
            await audit.record(conn, call.request, actor_id=None, action="login_failed",
                               record_type="account",
                               subject_user_id=user["id"] if user else None,
                               detail={"email": key[:254]})
            raise ApiError(401, "invalid_credentials", "The email or password is wrong.")
        if passwords.needs_rehash(user["password_hash"]):
            await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user["id"],
                               await passwords.hash_password(creds.password))
        async with conn.transaction():
            await audit.record(conn, call.request, actor_id=user["id"], action="login",
                               record_type="account", record_id=user["id"],
                               subject_user_id=user["id"])
            return await _start_session(call, conn, user["id"])


@api.route("GET", "/api/session")
async def get_session(call: Call) -> dict:
    """The current session's CSRF token, for API clients that lost it."""
    return {"user": me_json(call.user), "csrf_token": call.user.csrf_token}


@api.route("DELETE", "/api/session")
async def log_out(call: Call) -> Response:
    """Log out: the session ends on the server and the cookie is cleared."""
    async with call.pool.acquire() as conn:
        await sessions.revoke(conn, call.user)
        await audit.record(conn, call.request, actor_id=call.user.user_id, action="logout",
                           record_type="account", record_id=call.user.user_id,
                           subject_user_id=call.user.user_id)
    response = JSONResponse({"logged_out": True})
    sessions.clear_cookie(response, call.settings)
    return response


@api.route("GET", "/api/me")
async def get_me(call: Call) -> dict:
    """Who is logged in: id, email, role and divisions."""
    return me_json(call.user)


@api.route("PUT", "/api/session/division", body=DivisionChoice)
async def switch_division(call: Call) -> dict:
    """Work in another of one's divisions."""
    choice: DivisionChoice = call.body
    if not call.user.in_division(choice.division_id):
        raise NotFound("That division")
    async with call.pool.acquire() as conn:
        await sessions.switch_division(conn, call.user, choice.division_id)
    principal = await sessions.load(call.pool, call.request, call.settings)
    assert principal is not None
    return me_json(principal)


@api.route("POST", "/api/password-reset", auth="public", body=ResetRequest, status=202)
async def request_reset(call: Call) -> dict:
    """Email a one-time link to choose a new password. The answer is the same for any address."""
    key = email_key(call.body.email)
    async with call.pool.acquire() as conn, conn.transaction():
        user = await conn.fetchrow(
            """SELECT u.id, u.email, u.name,
                      (SELECT count(*) FROM account_tokens t WHERE t.user_id = u.id
                        AND t.purpose = 'reset'
                        AND t.created_at > now() - interval '1 hour') AS recent
               FROM users u WHERE lower(u.email) = $1 AND u.active""", key)
        if user is not None and user["recent"] < RESETS_PER_HOUR:
            token = await tokens.issue(conn, user["id"], "reset")
            await _send_link(call, conn, user, "password_reset", "Reset your portal password",
                             f"/reset/{token}")
            await audit.record(conn, call.request, actor_id=None, action="password_reset_sent",
                               record_type="account", record_id=user["id"],
                               subject_user_id=user["id"])
    return {"message": "If an account uses that address, we have sent it a link."}


async def _send_link(call: Call, conn: asyncpg.Connection, user: asyncpg.Record,
                     template: str, subject: str, path: str) -> None:
    details = await practice.get(conn)
    await mail.enqueue(conn, user["email"], f"{details['name']}: {subject}", template,
                       name=user["name"], practice_name=details["name"],
                       link=call.settings.public_url + path)


@api.route("POST", "/api/password", auth="public", body=NewPassword)
async def set_password(call: Call) -> Response:
    """Set a password from a reset or invitation link; logs in and ends other sessions."""
    body: NewPassword = call.body
    async with call.pool.acquire() as conn:
        live = await tokens.peek(conn, body.token)
        if live is None:
            raise ApiError(400, "invalid_link",
                           "This link has expired or was already used. Ask for a new one.",
                           field="token")
        passwords.check_strength(body.password, live["email"])
        hashed = await passwords.hash_password(body.password)
        async with conn.transaction():
            used = await tokens.consume(conn, body.token)
            await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1",
                               used["user_id"], hashed)
            await sessions.revoke_all(conn, used["user_id"])
            action = "invite_accepted" if used["purpose"] == "invite" else "password_reset"
            await audit.record(conn, call.request, actor_id=used["user_id"], action=action,
                               record_type="account", record_id=used["user_id"],
                               subject_user_id=used["user_id"])
            return await _start_session(call, conn, used["user_id"])


def _client_json(row: asyncpg.Record) -> dict:
    return {"id": row["id"], "email": row["email"], "name": row["name"], "phone": row["phone"],
            "division_ids": list(row["division_ids"]), "active": row["active"],
            "invited": row["password_hash"] is None}


CLIENT_COLUMNS = """u.id, u.email, u.name, u.phone, u.active, u.password_hash,
    ARRAY(SELECT division_id FROM memberships m WHERE m.user_id = u.id ORDER BY 1)
        AS division_ids"""


async def clients_in_division(conn: asyncpg.Connection | asyncpg.Pool,
                              division_id: int) -> list[dict]:
    rows = await conn.fetch(
        f"""SELECT {CLIENT_COLUMNS} FROM users u
            JOIN memberships m ON m.user_id = u.id AND m.division_id = $1
            WHERE u.role = 'client' ORDER BY lower(u.name), u.id""", division_id)
    return [_client_json(r) for r in rows]


@api.route("GET", "/api/clients", auth="therapist")
async def list_clients(call: Call) -> dict:
    """The clients of one division (the active one unless `division_id` is given)."""
    query: ClientQuery = parse_query(call.request, ClientQuery)
    division_id = query.division_id or call.user.division_id
    if division_id is None or not call.user.in_division(division_id):
        raise NotFound("That division")
    return {"clients": await clients_in_division(call.pool, division_id)}


@api.route("POST", "/api/clients", auth="therapist", body=Invitation, status=201)
async def invite_client(call: Call) -> dict:
    """Add a client to one or more of the therapist's divisions and email them an invitation."""
    invitation: Invitation = call.body
    for division_id in invitation.division_ids:
        if not call.user.in_division(division_id):
            raise ApiError(422, "invalid", "Choose divisions you work in.", field="division_ids")
    async with call.pool.acquire() as conn, conn.transaction():
        try:
            user = await conn.fetchrow(
                "INSERT INTO users (email, name, phone, role) VALUES ($1, $2, $3, 'client') "
                "RETURNING id, email, name",
                invitation.email, invitation.name, invitation.phone)
        except asyncpg.UniqueViolationError:
            raise ApiError(409, "email_taken", "An account already uses that email address.",
                           field="email") from None
        await conn.executemany(
            "INSERT INTO memberships (user_id, division_id) VALUES ($1, $2)",
            [(user["id"], d) for d in sorted(set(invitation.division_ids))])
        token = await tokens.issue(conn, user["id"], "invite")
        await _send_link(call, conn, user, "invite", "Your client portal invitation",
                         f"/invite/{token}")
        await audit.record(conn, call.request, actor_id=call.user.user_id, action="invite",
                           record_type="account", record_id=user["id"],
                           subject_user_id=user["id"])
        row = await conn.fetchrow(f"SELECT {CLIENT_COLUMNS} FROM users u WHERE u.id = $1",
                                  user["id"])
    return _client_json(row)
