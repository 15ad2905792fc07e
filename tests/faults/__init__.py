"""Multi-process fault tests; their helpers live in riskplatform/drills/ (shared with the
fault drill, bin/manage drill)."""
