"""The report store on SQLite and on a real PostgreSQL: identity, finding lifecycle, queries, roll-ups, retention."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from tests.store_helpers import V, demo_report, make_report, postgres, store_url  # noqa: F401 - fixtures

from vigil.store import PublishRequest, Store, StoreError, TargetSpec
from vigil.store.records import PublishResult

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def day(n: int, hour: int = 12) -> dt.datetime:
    return T0 + dt.timedelta(days=n, hours=hour - 12)


@pytest.fixture
def store(store_url: str):  # noqa: F811
    s = Store(store_url)
    yield s
    s.close()


def pub(store: Store, report, spec: TargetSpec = TargetSpec(), **kw) -> PublishResult:
    when = dt.datetime.fromisoformat(report.created_at)
    return store.publish(PublishRequest(report=report, target=spec, **kw), received_at=when + dt.timedelta(minutes=1))


def test_demo_report_lands_with_every_kind_of_finding(store: Store) -> None:
    r = demo_report()
    res = store.publish(PublishRequest(report=r, commit="abc123", source="ci"), publisher="ci-bot",
                        received_at=dt.datetime(2026, 11, 26, 12, 5, tzinfo=dt.UTC))
    assert res.new == res.open == 14 and res.fixed == 0
    t = store.target(res.target_id)
    assert t is not None and t.kind == "filesystem" and t.name == "demo-project"
    page = store.findings(target_id=t.id, limit=100)
    kinds = sorted(f.kind for f in page.items)
    assert kinds.count("vulnerability") == 12 and kinds.count("misconfiguration") == 1 and kinds.count("secret") == 1
    assert page.total == 14
    assert sum(msgspec.structs.astuple(t.open)) == 14
    scan = store.scan(res.scan_id)
    assert scan is not None and scan.commit == "abc123" and scan.publisher == "ci-bot" and scan.report_kept
    assert scan.scanned_at == dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    raw = store.scan_report(res.scan_id)
    assert raw is not None and msgspec.json.decode(raw, type=type(r)) == r


def test_lifecycle_new_fixed_reopened(store: Store) -> None:
    a, b, c = V("CVE-1", "django", "2.2", "CRITICAL", "3.0"), V("CVE-2", "pyyaml", "5.3", "HIGH"), V("CVE-3", "jinja2", "2.0", "LOW", "2.1")
    r1 = pub(store, make_report([a, b], when=day(0)))
    assert (r1.new, r1.fixed, r1.open) == (2, 0, 2)
    r2 = pub(store, make_report([b, c], when=day(1)))
    assert (r2.new, r2.fixed, r2.open) == (1, 1, 2)
    assert r2.target_id == r1.target_id
    fixed = store.findings(target_id=r1.target_id, status="fixed").items
    assert [(f.finding_id, f.fixed_at) for f in fixed] == [("CVE-1", day(1))]
    still = {f.finding_id: f for f in store.findings(target_id=r1.target_id).items}
    assert still["CVE-2"].first_seen == day(0) and still["CVE-2"].last_seen == day(1)
    assert still["CVE-3"].first_seen == day(1)
    r3 = pub(store, make_report([a, b, c], when=day(2)))
    assert (r3.new, r3.fixed, r3.open) == (1, 0, 3)  # CVE-1 came back: open again, first seen kept
    back = store.findings(target_id=r1.target_id, finding_id="CVE-1").items[0]
    assert back.status == "open" and back.first_seen == day(0) and back.fixed_at is None
    t = store.target(r1.target_id)
    assert t is not None and (t.open.critical, t.open.high, t.open.low) == (1, 1, 1)
    assert t.last_scan_id == r3.scan_id and store.scans(t.id).total == 3


def test_a_late_report_only_moves_first_seen_earlier(store: Store) -> None:
    a, b = V("CVE-1", "django", "2.2"), V("CVE-2", "flask", "1.0")
    r1 = pub(store, make_report([a], when=day(5)))
    late = pub(store, make_report([a, b], when=day(2)))  # published after, scanned before
    assert late.new == 0 and late.fixed == 0
    got = {f.finding_id: f for f in store.findings(target_id=r1.target_id, status="all").items}
    assert got["CVE-1"].first_seen == day(2) and got["CVE-1"].status == "open"
    assert got["CVE-2"].status == "fixed" and got["CVE-2"].fixed_at == day(5)  # gone by the next scan
    t = store.target(r1.target_id)
    assert t is not None and t.last_scan_id == r1.scan_id and t.open.high == 1


def test_identities(store: Store) -> None:
    v = [V("CVE-1", "openssl", "3.0")]
    img1 = pub(store, make_report(v, when=day(0), name="registry/web:1", artifact_type="container_image",
                                  digest="sha256:" + "a" * 64, tags=["registry/web:1"]), TargetSpec(name="web"))
    img2 = pub(store, make_report(v, when=day(1), name="registry/web:2", artifact_type="container_image",
                                  digest="sha256:" + "b" * 64, tags=["registry/web:2"]), TargetSpec(name="web"))
    assert img1.target_id == img2.target_id  # one tracked image across rebuilds
    t = store.target(img1.target_id)
    assert t is not None and t.kind == "image" and t.image_digest == "sha256:" + "b" * 64
    assert t.repo_tags == ["registry/web:2"]
    wl = TargetSpec(cluster="prod", namespace="shop", workload="Deployment/web", labels={"team": "shop"})
    w1 = pub(store, make_report(v, when=day(0), name="registry/web:1", artifact_type="container_image"), wl)
    assert w1.target_id != img1.target_id
    wt = store.target(w1.target_id)
    assert wt is not None and wt.kind == "workload" and wt.name == "prod/shop/Deployment/web"
    assert wt.labels == {"team": "shop"}
    main = pub(store, make_report(v, when=day(0), name="."), TargetSpec(repository="github.com/o/r", branch="main"))
    dev = pub(store, make_report(v, when=day(0), name="."), TargetSpec(repository="github.com/o/r", branch="dev"))
    assert main.target_id != dev.target_id
    rt = store.target(main.target_id)
    assert rt is not None and rt.kind == "repository" and rt.name == "github.com/o/r@main"
    page = store.targets(q="O/R", sort="name")
    assert [x.name for x in page.items] == ["github.com/o/r@dev", "github.com/o/r@main"]
    assert [x.id for x in store.targets(labels={"team": "shop"}).items] == [w1.target_id]
    assert store.targets(kind="image").total == 1


def test_finding_filters_and_sorting(store: Store) -> None:
    vs = [V("CVE-1", "django", "2.2", "CRITICAL", "3.0", kev=True), V("CVE-2", "django", "2.2", "LOW"),
          V("CVE-3", "pyyaml", "5.3", "HIGH", "5.4")]
    r = pub(store, make_report(vs[:2], when=day(0), misconfs=[("DS002", "HIGH", "")],
                               secrets=[("aws-access-key-id", "CRITICAL")]))
    pub(store, make_report(vs, when=day(3), misconfs=[("DS002", "HIGH", "")], secrets=[("aws-access-key-id", "CRITICAL")]))
    tid = r.target_id

    def ids(**kw) -> list[str]:
        return [f.finding_id for f in store.findings(target_id=tid, limit=100, **kw).items]

    assert ids(severity=["CRITICAL"]) == ["CVE-1", "aws-access-key-id"]
    assert ids(fixable=True, kind="vulnerability") == ["CVE-1", "CVE-3"]
    assert ids(package="django", sort="id", desc=False) == ["CVE-1", "CVE-2"]
    assert ids(finding_id="CVE-3") == ["CVE-3"]
    assert ids(since=day(1)) == ["CVE-3"]
    assert ids(kev=True) == ["CVE-1"]
    assert ids(kind="secret") == ["aws-access-key-id"]
    assert ids(q="yaml") == ["CVE-3"]
    assert ids(sort="severity")[-1] == "CVE-2"
    page = store.findings(target_id=tid, limit=2, offset=2, sort="id", desc=False)
    assert page.total == 5 and [f.finding_id for f in page.items] == ["CVE-3", "DS002"]
    assert len(list(store.iter_findings(target_id=tid))) == 5
    with pytest.raises(StoreError):
        store.findings(sort="nope")


def test_diff_of_two_scans(store: Store) -> None:
    a, b, c = V("CVE-1", "x", "1"), V("CVE-2", "y", "1", "CRITICAL"), V("CVE-3", "z", "1")
    s1 = pub(store, make_report([a, b], when=day(0)))
    s2 = pub(store, make_report([b, c], when=day(1)))
    d = store.diff(s1.scan_id, s2.scan_id)
    assert [f.finding_id for f in d.added] == ["CVE-3"]
    assert [f.finding_id for f in d.removed] == ["CVE-1"]
    assert d.unchanged == 1
    with pytest.raises(StoreError, match="no scan 999"):
        store.diff(s1.scan_id, 999)


def test_where_does_it_run(store: Store) -> None:
    log4j = V("CVE-2021-44228", "log4j-core", "2.14.1", "CRITICAL", "2.15.0", kev=True)
    for i, ns in enumerate(["a", "b"]):
        pub(store, make_report([log4j], when=day(i), name="app:1", artifact_type="container_image"),
            TargetSpec(cluster="prod", namespace=ns, workload="Deployment/app"))
    pub(store, make_report([V("CVE-9", "log4j-core", "2.17.0")], when=day(0), name="other"))
    where = store.findings(finding_id="CVE-2021-44228", limit=100)
    assert sorted(f.target_name for f in where.items) == ["prod/a/Deployment/app", "prod/b/Deployment/app"]
    assert store.findings(package="log4j-core", version="2.14.1").total == 2
    assert store.findings(package="log4j-core").total == 3


def test_trend_carries_targets_forward_between_scans(store: Store) -> None:
    a, b = V("CVE-1", "x", "1", "CRITICAL"), V("CVE-2", "y", "1", "HIGH")
    pub(store, make_report([a, b], when=day(0), name="one"))
    pub(store, make_report([a], when=day(2), name="one"))
    pub(store, make_report([b], when=day(1), name="two"))
    pts = store.trend(days=4, end=day(3).date()).points
    assert [p.day for p in pts] == [day(i).date() for i in range(4)]
    assert [(p.open.critical, p.open.high) for p in pts] == [(1, 1), (1, 2), (1, 1), (1, 1)]
    assert [p.new.high for p in pts] == [1, 1, 0, 0]
    assert [p.fixed.high for p in pts] == [0, 0, 1, 0]
    # the window may start after the first roll-ups: the days before it are the baseline
    assert [(p.open.critical, p.open.high) for p in store.trend(days=2, end=day(3).date()).points] == [(1, 1), (1, 1)]
    one = store.targets(q="one").items[0].id
    assert [p.open.high for p in store.trend(days=4, end=day(3).date(), target_id=one).points] == [1, 1, 0, 0]
    # a late report for a day before an existing roll-up keeps the next day's delta right
    pub(store, make_report([a, b, V("CVE-3", "z", "1", "HIGH")], when=day(1), name="one"))
    assert [p.open.high for p in store.trend(days=4, end=day(3).date(), target_id=one).points] == [1, 2, 0, 0]


def test_retention_drops_old_reports_but_keeps_history(store_url: str) -> None:  # noqa: F811
    store = Store(store_url, retention_days=30)
    try:
        a = V("CVE-1", "x", "1")
        old = pub(store, make_report([a], when=day(0)))
        mid = pub(store, make_report([a], when=day(10)))
        new = pub(store, make_report([], when=day(45)))
        assert store.scan_report(old.scan_id) is None and store.scan_report(mid.scan_id) is None
        assert store.scan_report(new.scan_id) is not None
        old_scan = store.scan(old.scan_id)
        assert old_scan is not None and not old_scan.report_kept and old_scan.counts.high == 1
        with pytest.raises(StoreError, match="retention"):
            store.diff(old.scan_id, new.scan_id)
        fixed = store.findings(target_id=new.target_id, status="fixed").items
        assert [(f.first_seen, f.fixed_at) for f in fixed] == [(day(0), day(45))]
        assert store.trend(days=46, end=day(45).date(), target_id=new.target_id).points[0].open.high == 1
    finally:
        store.close()


def test_hostile_values_are_cut_to_the_columns(store: Store) -> None:
    long = "x" * 5000
    r = pub(store, make_report([V(long, long, long, "HIGH", long, title=long)], when=day(0), name=long))
    f = store.findings(target_id=r.target_id).items[0]
    assert len(f.finding_id) == 256 and len(f.pkg_name) == 512 and len(f.title) == 1024
    assert store.target(r.target_id).name == "x" * 1024  # type: ignore[union-attr]
    assert store.targets(q="%").total == 0  # LIKE wildcards in a search are literal
    label = {"k\"ey": "v%al"}
    lr = pub(store, make_report([], when=day(1), name="lbl"), TargetSpec(labels=label))
    assert [t.id for t in store.targets(labels=label).items] == [lr.target_id]
    assert store.targets(labels={"k\"ey": "v"}).total == 0


def test_bad_store_url_is_a_user_error(tmp_path) -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        Store("mysql://x/y")
    with pytest.raises(StoreError, match="cannot open the report store"):
        Store("postgresql://nobody@127.0.0.1:1/none")


def test_risk_order_has_no_overflow(store: Store) -> None:
    """Risk sorts by CRITICAL, then HIGH, MEDIUM, LOW counts (PostgreSQL's 32-bit integers once overflowed a
    weighted sum of them)."""
    many = [V(f"CVE-{i}", "p", "1", "CRITICAL") for i in range(2500)]
    big = pub(store, make_report(many, when=day(0), name="big"))
    highs = pub(store, make_report([V(f"CVE-H{i}", "p", "1", "HIGH") for i in range(3000)], when=day(0), name="h"))
    one = pub(store, make_report([V("CVE-X", "p", "1", "CRITICAL"), V("CVE-Y", "p", "1", "LOW")], when=day(0),
                                 name="one"))
    order = [t.id for t in store.targets(sort="risk", desc=True).items]
    assert order == [big.target_id, one.target_id, highs.target_id]


def test_all_targets_trend_is_the_sum_of_each_targets(store: Store) -> None:
    """The all-targets totals are kept incrementally beside the roll-ups: after a replayed history with late
    reports they still equal the per-target trends summed."""
    from tests.store_helpers import seed

    end = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    seed(store, targets=5, days=12, end=end, every=1)
    for i in (3, 8):  # late reports for days that already have roll-ups before and after them
        pub(store, make_report([V("CVE-LATE", "p", "1", "CRITICAL")], when=end - dt.timedelta(days=i, hours=5),
                               name="registry.example.com/img2"), TargetSpec(name="registry.example.com/img2"))
    whole = store.trend(days=15, end=end.date())
    per = [store.trend(days=15, end=end.date(), target_id=t.id) for t in store.targets(limit=100).items]
    for i, p in enumerate(whole.points):
        for part in ("open", "new", "fixed"):
            want = [sum(getattr(getattr(x.points[i], part), s) for x in per)
                    for s in ("critical", "high", "medium", "low", "unknown")]
            assert list(msgspec.structs.astuple(getattr(p, part))) == want, (p.day, part)
    assert whole.points[-1].open.critical == sum(t.open.critical for t in store.targets(limit=100).items)


def test_suppressions_of_the_newest_scan(store: Store) -> None:
    from vigil.findings.records import SuppressedFinding

    def with_suppressed(report, *entries: SuppressedFinding):
        return msgspec.structs.replace(report, metadata=msgspec.structs.replace(report.metadata,
                                                                                 suppressed=entries))

    soon = SuppressedFinding(target="requirements.txt", vulnerability_id="CVE-9", pkg_name="django",
                             reason=".vigilignore.yaml:vulnerabilities[0]: CVE-9 (until 2026-11-10): not reachable")
    vex = SuppressedFinding(target="requirements.txt", vulnerability_id="CVE-8", pkg_name="flask",
                            reason="VEX openvex vex.json: not_affected (vulnerable_code_not_present)")
    r = pub(store, with_suppressed(make_report([], when=day(0)), soon, vex, vex))
    page = store.suppressions()
    assert [(s.finding_id, s.expires) for s in page.items] == [("CVE-9", dt.date(2026, 11, 10)), ("CVE-8", None)]
    assert store.suppressions(expiring_within=14, today=dt.date(2026, 11, 1)).total == 1
    assert store.suppressions(expiring_within=5, today=dt.date(2026, 11, 1)).total == 0
    assert [s.finding_id for s in store.suppressions(q="not_affected").items] == ["CVE-8"]
    pub(store, with_suppressed(make_report([], when=day(-3)), soon))  # a late report: the newest scan's stay
    assert store.suppressions(target_id=r.target_id).total == 2
    pub(store, with_suppressed(make_report([], when=day(1)), vex))  # the newest scan's replace them
    assert [s.finding_id for s in store.suppressions(target_id=r.target_id).items] == ["CVE-8"]


def test_concurrent_publishers_to_one_target(store: Store) -> None:
    """Publishes for one target from several threads (one pool; on PostgreSQL as two replicas would) take turns on
    the target's row: every scan lands, each finding has one row, and the counts add up."""
    import threading

    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(6):
                vulns = [V("CVE-SHARED", "p", "1", "CRITICAL"), V(f"CVE-{k}-{i}", "q", "1", "HIGH")]
                store.publish(PublishRequest(report=make_report(vulns, when=day(0, 12) + dt.timedelta(
                    minutes=k * 10 + i), name="contended")))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    t = store.targets(q="contended").items[0]
    assert store.scans(t.id).total == 18
    every = store.findings(target_id=t.id, status="all", limit=100).items
    assert sorted(f.finding_id for f in every).count("CVE-SHARED") == 1 and len(every) == 19
    assert t.open.critical == 1 and t.open.high == 1  # only the newest scan's HIGH is open
