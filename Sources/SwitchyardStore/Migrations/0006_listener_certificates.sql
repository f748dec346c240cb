-- https listeners name certificates instead of carrying one inline. Each inline certificate and key
-- moves to `certificate_imports`, named after its listener ("<listener>-cert", the listener's name cut
-- to 58 characters), and the listener names it. SQL cannot encrypt under the master key, so the
-- import is finished on the next start (`CertificateImport`): each row becomes a certificate with its
-- key sealed, in one audited write, and is deleted. The plain keys are removed from listener rows and
-- from every audit row here.
-- Every statement leaves the same result when run again.
CREATE TABLE IF NOT EXISTS certificate_imports (
    name            text PRIMARY KEY,
    certificate_pem text NOT NULL,
    private_key_pem text NOT NULL
);

INSERT INTO certificate_imports (name, certificate_pem, private_key_pem)
SELECT left(name, 58) || '-cert', settings->'tls'->>'certificate_pem', settings->'tls'->>'private_key_pem'
FROM listeners
WHERE settings->'tls' ? 'certificate_pem' AND settings->'tls' ? 'private_key_pem'
ON CONFLICT (name) DO NOTHING;

UPDATE listeners
SET settings = jsonb_set(settings, '{tls}', jsonb_build_object('certificates', jsonb_build_array(left(name, 58) || '-cert')))
WHERE settings->'tls' ? 'certificate_pem';

-- History: listener rows of the audit log name the same certificate, so that a rollback restores a
-- listener in the new form, and no key is left in them.
UPDATE audit_log
SET before = CASE
        WHEN before->'tls' ? 'certificate_pem'
        THEN jsonb_set(before, '{tls}', jsonb_build_object('certificates', jsonb_build_array(left(resource, 58) || '-cert')))
        ELSE before END,
    after = CASE
        WHEN after->'tls' ? 'certificate_pem'
        THEN jsonb_set(after, '{tls}', jsonb_build_object('certificates', jsonb_build_array(left(resource, 58) || '-cert')))
        ELSE after END
WHERE resource_type = 'listener' AND (before->'tls' ? 'certificate_pem' OR after->'tls' ? 'certificate_pem');
