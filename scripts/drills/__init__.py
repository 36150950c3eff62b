"""Reliability drills for the order pipeline (docs/DRILLS.md): `python3 -m drills` with scripts/ on
the path, run by scripts/drills.sh. The databases, topics, groups and Redis prefixes each drill
uses come from the layer it shares with bench/ (scripts/pipelinekit)."""
