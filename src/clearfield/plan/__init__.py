"""The planner: problem, dispatch, scheduling core, search, bound, re-planning, KPIs,
the independent verifier and PSPLIB. Pure given its input (no database, no files)."""
