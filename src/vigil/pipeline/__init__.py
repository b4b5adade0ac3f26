"""The scan pipeline, written once for every target: Source → Analyze → Detect → Report.

- `analyze`: a Source's blobs through the analyzer dispatcher and the analysis cache (or a server), in parallel.
- `detect`: blobs → merged target → vulnerability, license, secret and misconfiguration results, one unfiltered
  Report (what `vigil server` answers).
- `report`: the user's filters over that Report (ignore file, VEX, severities, --ignore-unfixed, PASS checks) and
  the remediation annotations.
- `backend`: where blobs go and detection runs — this process (LocalBackend) or a `vigil server` (RemoteBackend),
  behind one protocol, with the same typed detection options.
- `scan`: the one orchestrator every shell calls.
"""
