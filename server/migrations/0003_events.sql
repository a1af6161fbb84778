-- Events a user must hear about. The row is the truth; pg_notify only wakes the nodes up.
CREATE TABLE events (
    id            bigserial PRIMARY KEY,
    recipient_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    payload       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_recipient ON events (recipient_id, id);
CREATE INDEX events_created ON events (created_at);

-- A stable Message-ID per outbox row lets mail software drop the rare duplicate that a node
-- dying between SMTP's acceptance and our commit would cause.
ALTER TABLE outbox ADD COLUMN message_id text;
