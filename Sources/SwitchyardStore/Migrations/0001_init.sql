-- Switchyard's first schema: configuration (pools, backends, listeners, routes), the global
-- generation, the audit log, API tokens, idempotency keys and running instances.

-- One row: the configuration generation. Every write bumps it first, which also serialises writers.
CREATE TABLE config_state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint  NOT NULL
);
INSERT INTO config_state (generation) VALUES (0);

CREATE TABLE pools (
    name       text PRIMARY KEY,
    protocol   text NOT NULL CHECK (protocol IN ('http', 'tcp')),
    -- The remaining settings (algorithm, health_check, timeouts, ...) as the API shows them.
    settings   jsonb NOT NULL,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE backends (
    pool        text NOT NULL REFERENCES pools (name) ON DELETE RESTRICT,
    name        text NOT NULL,
    address     text NOT NULL,
    port        integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    weight      integer NOT NULL CHECK (weight BETWEEN 0 AND 1000),
    backup      boolean NOT NULL,
    admin_state text NOT NULL CHECK (admin_state IN ('enabled', 'draining', 'maintenance')),
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool, name)
);

CREATE TABLE listeners (
    name         text PRIMARY KEY,
    bind         text NOT NULL,
    port         integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    protocol     text NOT NULL CHECK (protocol IN ('http', 'https', 'tcp')),
    default_pool text REFERENCES pools (name) ON DELETE RESTRICT,
    -- tls (certificate and private key), allow and deny lists.
    settings     jsonb NOT NULL,
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- Deferred so that one transaction may swap two listeners' ports.
    CONSTRAINT listeners_socket_unique UNIQUE (bind, port) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE listener_routes (
    listener    text NOT NULL REFERENCES listeners (name) ON DELETE CASCADE,
    position    integer NOT NULL,
    host        text,
    path_prefix text,
    pool        text NOT NULL REFERENCES pools (name) ON DELETE RESTRICT,
    PRIMARY KEY (listener, position)
);
CREATE INDEX listener_routes_pool ON listener_routes (pool);
CREATE INDEX listeners_default_pool ON listeners (default_pool);

CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    generation    bigint NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    request       text NOT NULL,
    action        text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    resource_type text NOT NULL CHECK (resource_type IN ('pool', 'backend', 'listener', 'token')),
    resource      text NOT NULL,
    before        jsonb,
    after         jsonb
);
CREATE INDEX audit_log_generation ON audit_log (generation);

CREATE TABLE tokens (
    name        text PRIMARY KEY,
    -- SHA-256 of the secret, hex; the secret itself is never stored.
    secret_hash text NOT NULL UNIQUE,
    scopes      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL
);

CREATE TABLE idempotency_keys (
    actor        text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE instances (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL,
    host               text NOT NULL,
    version            text NOT NULL,
    started_at         timestamptz NOT NULL,
    heartbeat_at       timestamptz NOT NULL,
    applied_generation bigint NOT NULL DEFAULT 0,
    stopped            boolean NOT NULL DEFAULT false
);
