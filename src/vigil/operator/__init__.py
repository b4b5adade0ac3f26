"""The in-cluster operator's logic (no kopf here: `vigil.shells.operator` wires it to kopf's events).

- `config.py`: the operator's settings (install mode, namespaces, the scan Job's spec settings, limits, report size).
- `jobs.py`: the scan Job (and its pull-credentials Secret) for one image digest.
- `reports.py`: Trivy Operator-shaped report custom resources, small by default.
- `reconciler.py`: the level-based reconcile: what runs (digests per workload) → one scan per digest → reports;
  a new server DB → the stored packages re-matched on the server (no Job); one pod's reports without a pass.
- `rematch.py`: a stored report's packages as the blob the server detects over, and the fresh findings merged back.
- `schedule.py`: cron expressions for scheduled rescans.
- `metrics.py`: the Prometheus collector.
"""
