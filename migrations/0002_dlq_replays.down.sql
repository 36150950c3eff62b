-- Reverts 0002_dlq_replays: forgets which dead letters were replayed, so a later replay may
-- publish them again.
DROP TABLE IF EXISTS dlq_replays;
