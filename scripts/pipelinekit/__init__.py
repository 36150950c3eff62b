"""The one layer the benchmarks (bench/) and the reliability drills (scripts/drills/) share: where
the local stack's services are, throw-away databases, Kafka topics, consumer groups and Redis key
prefixes (created and dropped the same way by both), and the one list of targets every benchmark
and drill figure is judged against. Standard library only; bash scripts reach it through
`python3 -m pipelinekit` (see __main__)."""
