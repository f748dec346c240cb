-- Certificates as a resource of their own. `settings` holds the PEM chain, what was read from the leaf
-- (subject, names, dates, key type, fingerprint) and the private key sealed under the master key
-- (AES-256-GCM): never the plain key, which no SQL statement can encrypt.
-- Every statement leaves the same result when run again.
CREATE TABLE IF NOT EXISTS certificates (
    name       text PRIMARY KEY,
    settings   jsonb NOT NULL,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_resource_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_resource_type_check
    CHECK (resource_type IN ('pool', 'backend', 'listener', 'token', 'certificate'));
