-- What each instance's data plane observes, reported with every heartbeat: the state of its listener
-- sockets (bound, or why not) and the health of every backend as its probes and requests see it.
ALTER TABLE instances
    ADD COLUMN listeners      jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN backend_health jsonb NOT NULL DEFAULT '{}'::jsonb;
