"""The JSON API's routing: authentication, CSRF, body validation and the OpenAPI document.

Each area declares its endpoints with `Api.route`; the wrapper does the checks every endpoint
needs so that a handler only holds its own logic.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal

import asyncpg
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.auth import csrf, sessions
from server.auth.principal import Principal
from server.errors import ApiError
from server.settings import Settings

Auth = Literal["public", "user", "client", "therapist"]
MAX_BODY_BYTES = 64 * 1024
MAX_ID = 2**63 - 1


@dataclass
class Call:
    """One API request as a handler sees it."""

    request: Request
    principal: Principal | None
    body: Any

    @property
    def pool(self) -> asyncpg.Pool:
        return self.request.app.state.pool

    @property
    def settings(self) -> Settings:
        return self.request.app.state.settings

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "endpoint declared auth='public'"
        return self.principal

    def path_id(self, name: str = "id") -> int:
        value = self.request.path_params[name]
        if not 0 < value <= MAX_ID:
            raise ApiError(404, "not_found", "That item was not found.")
        return value


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    auth: Auth
    body: type[BaseModel] | None
    summary: str
    status: int


def _field_of(error: dict) -> str | None:
    parts = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
    return ".".join(parts) or None


def _message_of(error: dict) -> str:
    message = error.get("msg", "Invalid value.")
    message = message.removeprefix("Value error, ")
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


def validate(model: type[BaseModel], data: dict) -> Any:
    """`data` as `model`, or a 422 naming the first field that is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        code = "missing" if first.get("type") == "missing" else "invalid"
        raise ApiError(422, code, _message_of(first), field=_field_of(first)) from None


def parse_query(request: Request, model: type[BaseModel]) -> Any:
    return validate(model, dict(request.query_params))


async def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", "The request body is too large.")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The request body must be a JSON object.")
    return validate(model, data)


async def authenticate(request: Request, auth: Auth) -> Principal | None:
    """The caller's principal, having checked role and (for changes) CSRF."""
    settings: Settings = request.app.state.settings
    unsafe = request.method not in csrf.SAFE_METHODS
    if unsafe:
        csrf.check_origin(request, settings)
    if auth == "public":
        return None
    principal = await sessions.load(request.app.state.pool, request, settings)
    if principal is None:
        raise ApiError(401, "not_logged_in", "Log in to continue.")
    if auth in {"client", "therapist"} and principal.role != auth:
        raise ApiError(403, "forbidden", "Your account cannot do this.")
    if unsafe:
        csrf.check_token(request, principal)
    return principal


class Api:
    """A registry of endpoints that becomes Starlette routes and an OpenAPI document."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, *, auth: Auth = "user",
              body: type[BaseModel] | None = None, summary: str = "",
              status: int = 200) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, auth, body,
                                           summary or (handler.__doc__ or "").strip(), status))
            return handler
        return register

    def include(self, other: "Api") -> None:
        self.endpoints.extend(other.endpoints)

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.endpoints:
            by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
        return [Route(path, _dispatch(methods), methods=list(methods))
                for path, methods in by_path.items()]

    def openapi(self) -> dict:
        paths: dict[str, dict] = {}
        schemas: dict[str, dict] = {}
        for e in self.endpoints:
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", e.path)
            op: dict[str, Any] = {
                "summary": e.summary.splitlines()[0] if e.summary else e.handler.__name__,
                "operationId": e.handler.__name__,
                "responses": {str(e.status): {"description": "Success"},
                              "4XX": {"description": "Error",
                                      "content": {"application/json": {"schema": {
                                          "$ref": "#/components/schemas/Error"}}}}},
            }
            params = re.findall(r"\{(\w+)(?::(\w+))?\}", e.path)
            if params:
                op["parameters"] = [
                    {"name": n, "in": "path", "required": True,
                     "schema": {"type": "integer" if t == "int" else "string"}}
                    for n, t in params]
            if e.auth != "public":
                op["security"] = [{"session": [], "csrf": []}]
                op["description"] = f"Requires a logged-in {'user' if e.auth == 'user' else e.auth}."
            if e.body is not None:
                schema = e.body.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[e.body.__name__] = schema
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{e.body.__name__}"}}}}
            paths.setdefault(path, {})[e.method.lower()] = op
        schemas["Error"] = {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "field": {"type": ["string", "null"]}}}},
        }
        return {
            "openapi": "3.1.0",
            "info": {"title": "Practice portal API", "version": "1",
                     "description": (
                         "Log in with POST /api/session; the response sets the session cookie "
                         "and carries `csrf_token`. Send that token in the X-CSRF-Token header "
                         "with every POST, PUT, PATCH and DELETE made with the cookie. "
                         "GET /api/session returns it again.")},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": sessions.COOKIE},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}}},
        }


def _dispatch(methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        e = methods[request.method if request.method != "HEAD" else "GET"]
        principal = await authenticate(request, e.auth)
        body = await parse_body(request, e.body) if e.body is not None else None
        result = await e.handler(Call(request, principal, body))
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=e.status)
    return endpoint
