-- The practice, its divisions, accounts, sessions, the audit log and the mail outbox.

CREATE TABLE practice (
    id              smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone        text NOT NULL DEFAULT 'America/New_York',
    phone           text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',
    welcome_title   text NOT NULL DEFAULT 'Welcome',
    welcome_text    text NOT NULL DEFAULT '',
    crisis_text     text NOT NULL DEFAULT
        'If you are in danger or thinking of harming yourself, do not wait for a portal message.',
    -- [{"label": ..., "number": ...}], shown on the Crisis page and beside the message box.
    crisis_numbers  jsonb NOT NULL DEFAULT
        '[{"label": "Suicide & Crisis Lifeline (call or text)", "number": "988"},
          {"label": "Emergency services", "number": "911"}]'
);

CREATE TABLE divisions (
    id        serial PRIMARY KEY,
    slug      text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9-]{0,39}$'),
    name      text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 80),
    position  integer NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('client', 'therapist')),
    -- NULL until an invited client sets a password.
    password_hash  text,
    phone          text NOT NULL DEFAULT '',
    timezone       text,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    division_id  integer NOT NULL REFERENCES divisions (id) ON DELETE RESTRICT,
    PRIMARY KEY (user_id, division_id)
);
CREATE INDEX memberships_division ON memberships (division_id);

CREATE TABLE web_sessions (
    -- sha256 of the cookie's token: a leaked table cannot be replayed as cookies.
    token_hash    bytea PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    division_id   integer REFERENCES divisions (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    ip            inet,
    user_agent    text NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

CREATE TABLE login_failures (
    id           bigserial PRIMARY KEY,
    email_key    text NOT NULL,
    ip           inet,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (email_key, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

CREATE TABLE account_tokens (
    token_hash   bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('reset', 'invite')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX account_tokens_user ON account_tokens (user_id);

-- Who read or changed which record, when, from where. Written by the server only; the
-- triggers below refuse every edit, deletion and truncation.
CREATE TABLE audit_log (
    id               bigserial PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    actor_id         bigint REFERENCES users (id),
    action           text NOT NULL,
    record_type      text NOT NULL,
    record_id        text,
    -- the client whose record it is, so that they can read the entries about themselves
    subject_user_id  bigint REFERENCES users (id),
    ip               inet,
    user_agent       text NOT NULL DEFAULT '',
    detail           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject_user_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_edit BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Mail waits here, written in the same transaction as the change that causes it.
CREATE TABLE outbox (
    id               bigserial PRIMARY KEY,
    to_addr          text NOT NULL,
    subject          text NOT NULL,
    text_body        text NOT NULL,
    html_body        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    sent_at          timestamptz,
    failed_at        timestamptz,
    last_error       text
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Out-of-office time of a clinician; public entries show on the Welcome page.
CREATE TABLE time_off (
    id            bigserial PRIMARY KEY,
    clinician_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    public        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX time_off_range ON time_off (ends_at);
