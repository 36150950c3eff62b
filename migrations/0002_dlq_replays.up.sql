-- Ledger of `ingest dlq replay`: one row per dead letter republished from a DLQ topic, written
-- right after the broker acknowledged the republished record. A dead letter with a row here is
-- never published again, which makes replay resumable and keeps it from publishing twice.
-- `target_partition`/`target_offset` say where the republished record landed (for audits).

CREATE TABLE dlq_replays (
    dlq_topic        text        NOT NULL,
    partition        integer     NOT NULL CHECK (partition >= 0),
    "offset"         bigint      NOT NULL CHECK ("offset" >= 0),
    target_topic     text        NOT NULL,
    target_partition integer,
    target_offset    bigint,
    replayed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, partition, "offset")
);
