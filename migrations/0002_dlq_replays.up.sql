-- Ledger of `ingest dlq replay`: one row per dead letter republished from a DLQ topic, written
-- right after the broker acknowledged the republished record. A dead letter with a row here is
-- never published again, which makes replay resumable and keeps it from publishing twice.
-- `dlq_timestamp_ms` is the dead letter's own record timestamp: offsets restart at 0 when a DLQ
-- topic is deleted and recreated (e.g. to purge it), and a row whose timestamp differs from the
-- record now at those coordinates belongs to the earlier topic, so that record is not skipped.
-- `target_partition`/`target_offset` say where the republished record landed (for audits).

CREATE TABLE dlq_replays (
    dlq_topic        text        NOT NULL,
    partition        integer     NOT NULL CHECK (partition >= 0),
    "offset"         bigint      NOT NULL CHECK ("offset" >= 0),
    dlq_timestamp_ms bigint,
    target_topic     text        NOT NULL,
    target_partition integer,
    target_offset    bigint,
    replayed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, partition, "offset")
);
