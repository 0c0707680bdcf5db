"""The online engine: the scan's signals, state and checks, one request at a time.

Each request updates its account's bounded state (and its cluster's, when the account is
linked), then the engine answers with an :class:`~distillwatch.enforce.assessment.Assessment`
that uses only what came before it or with it -- so replaying any prefix of a log gives the
same answers as the whole log up to that point.

Judging an account costs more than updating it, so judgements are refreshed on a geometric
schedule (every request at first, then every ~10% more requests): a long-lived account's
shares move slowly, a new account's move fast. Between refreshes the last judgement stands.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distillwatch.detect.calibrated import calibrated_one
from distillwatch.detect.checks import CHECKS
from distillwatch.detect.cluster import CLUSTER_CHECKS, harvest_kit
from distillwatch.detect.evidence import Finding, any_distinctive, noisy_or, strongest_first
from distillwatch.detect.identity import is_disposable
from distillwatch.detect.learned import ONLINE_MODEL_FILE, findings_from_matrix, model_row
from distillwatch.detect.membership import bystander
from distillwatch.detect.newcomers import KIND as NEWCOMER
from distillwatch.detect.newcomers import NEWCOMER_DAYS, newcomer_agent
from distillwatch.detect.score import FRESH_DAYS, pooled_findings, run_checks
from distillwatch.detect.voters import MIN_VOTERS, votes_one
from distillwatch.enforce.assessment import Assessment
from distillwatch.online.account import ProfileState, member_recurrence
from distillwatch.online.cluster import STRONG_KEYS, Cluster, Clusters
from distillwatch.online.weak_links import Shown, WeakLinks, weak_keys

#: Judgements before this many requests would rest on too little (the checks have their own
#: minimums on top; the online model was trained on snapshots from here on).
FIRST_JUDGEMENT = 10
#: Re-judge after this much growth (in requests) since the last judgement.
GROWTH = 1.1
#: A day: a model first seen later than this after the engine started counts as released.
_RELEASE_GRACE_S = 86400.0
_NEW_MODEL_WINDOW_S = 172800.0
MAX_REASONS = 6
#: Members of a judged campaign among the holders of a value for the campaign to own it.
OWNED_MIN_HOLDERS = 3
#: What a campaign's operator chooses (its kit's prompts, its client, its mail provider); a
#: network prefix is not among them: carrier NAT and proxy exits are shared with the public.
OWNED_FAMILIES = frozenset({"template", "user_agent", "email_domain"})


def next_judgement(requests: int) -> int:
    """When to judge again an account (or cluster) judged at ``requests`` requests."""
    return max(requests + 1, int(requests * GROWTH))


@dataclass
class Judgement:
    score: float = 0.0
    findings: tuple[Finding, ...] = ()
    next_at: int = FIRST_JUDGEMENT
    #: some finding is of a kind honest customers rarely produce (policies act on it)
    distinctive: bool = False


@dataclass
class _Account:
    state: ProfileState = field(default_factory=ProfileState)
    judgement: Judgement = field(default_factory=Judgement)
    fresh: bool = False
    domain: str | None = None
    disposable: bool = False


class OnlineEngine:
    """Implements the enforcement ``Assessor`` protocol over enriched request rows."""

    def __init__(self, learned: bool = True, weak_links: bool = True) -> None:
        self.learned = learned
        self.accounts: dict[str, _Account] = {}
        self.clusters = Clusters()
        #: scan's weak-key linking, incrementally (None: strong keys only)
        self.weak = WeakLinks() if weak_links else None
        self._cluster_judgements: dict[str, Judgement] = {}
        self._model_first_seen: dict[str, float] = {}
        self._start: float | None = None
        self._checks = [cls() for cls in CHECKS]
        #: accounts seen per mail domain: an institution's own domain is used by few
        self._domain_accounts: Counter[str] = Counter()

    # -- the Assessor protocol --------------------------------------------------------
    def assess(self, record: Mapping[str, Any]) -> Assessment:
        """Assess a request; raw traffic log v1 records get their signals computed first."""
        row = record if "capability" in record else enrich_record(record)
        return self.observe(row)

    def observe(self, row: Mapping[str, Any]) -> Assessment:
        """Update state with one enriched row and assess its account."""
        account_id = str(row["account_id"])
        ts = _epoch(row["ts"])
        self._start = ts if self._start is None else self._start
        new_model = self._new_model(row.get("model"), ts)
        entry = self.accounts.get(account_id)
        if entry is None:
            entry = self.accounts[account_id] = _Account()
        state = entry.state
        gap = ts - state.last_ts if state.last_ts is not None else None
        state.update(row, ts, gap, new_model)
        if state.requests == 1:
            if state.created is not None:
                entry.fresh = (ts - state.created) / 86400.0 < FRESH_DAYS
            if row.get("email_domain"):
                entry.domain = str(row["email_domain"]).lower()
                entry.disposable = is_disposable(entry.domain)
                self._domain_accounts[entry.domain] += 1
        keys = {kind: str(row[f]) for f, kind in STRONG_KEYS.items() if row.get(f)}
        owner = str(row.get("org_id") or account_id)
        cluster = self.clusters.link(account_id, keys, self._state_of, owner)
        if self.weak is not None:
            cluster = self._join_weak(account_id, row, ts) or cluster
        if cluster is not None:
            cluster.state.update(row, ts, gap, new_model)
        self._judge_account(account_id, entry, cluster)
        cluster_judgement = self._judge_cluster(cluster) if cluster is not None else None
        return self._assessment(account_id, entry, cluster, cluster_judgement)

    def current(self, account_id: str) -> Assessment:
        """What the engine knows of an account now, without a new request (cheap)."""
        entry = self.accounts.get(account_id)
        if entry is None:
            return Assessment(account_id=account_id)
        cluster = self.clusters.clusters.get(self.clusters.find(account_id))
        judgement = self._cluster_judgements.get(cluster.root) if cluster is not None else None
        return self._assessment(account_id, entry, cluster, judgement)

    def _join_weak(self, account_id: str, row: Mapping[str, Any], ts: float) -> Cluster | None:
        """Join the account to a cluster on weak evidence: first to a campaign that owns what
        it shows (:meth:`_owning_cluster`), else to the cluster its qualifying pairs hold it
        to (:meth:`_attached_cluster`). A new account rotating through fresh exits shows its
        client as a newcomer's too (:mod:`distillwatch.detect.newcomers`), as in scan."""
        assert self.weak is not None
        keys = weak_keys(row)
        state = self.accounts[account_id].state
        young = state.created is not None and ts - state.created < NEWCOMER_DAYS * 86400.0
        if (
            young
            and "user_agent" in keys
            and newcomer_agent(
                ts,
                state.created,
                len(state.prefix_days),
                state.prefix_recurrence(),
                state.flags["multi_turn"] / max(1, state.requests),
                len(state.areas),
            )
        ):
            keys[NEWCOMER] = keys["user_agent"]
        shown = self.weak.observe(account_id, keys)
        target = self._owning_cluster(account_id, shown) or self._attached_cluster(
            account_id, shown
        )
        if target is None:
            return None
        other, kinds = target
        return self.clusters.join(account_id, other, kinds, self._state_of)

    def _attached_cluster(
        self, account_id: str, shown: Shown
    ) -> tuple[str, tuple[str, ...]] | None:
        """The cluster that the account's qualifying pairs (scan's threshold; all found so
        far) weigh ``min_attachment`` into, when this request gave it a new pair there; two
        lone accounts pair up on one pair (a pair is no campaign: the cluster checks want
        many). One chance pair with a member is not membership."""
        assert self.weak is not None
        if not shown.joins:
            return None
        own = self.clusters.find(account_id)
        weight: dict[str, float] = {}
        first: dict[str, tuple[str, tuple[str, ...]]] = {}
        for join in shown.joins:
            first.setdefault(self.clusters.find(join.other), (join.other, join.kinds))
        for partner, confidence in self.weak.partners(account_id).items():
            root = self.clusters.find(partner)
            if root != own and root in first:
                weight[root] = weight.get(root, 0.0) + confidence
        if not weight:
            return None
        root = max(weight, key=lambda r: (weight[r], self.clusters.size(r)))
        alone = self.clusters.size(account_id) == 1 and self.clusters.size(root) == 1
        if not alone and weight[root] < self.weak.min_attachment:
            return None
        return first[root]

    def _owning_cluster(self, account_id: str, shown: Shown) -> tuple[str, tuple[str, ...]] | None:
        """Two kinds of what a lone new account shows (two of its prompt template, its user
        agent and its mail domain) are held mostly by accounts of clusters already judged on
        distinctive evidence: it is one more account of that campaign (joined to the one of
        those clusters that holds most), at the request that shows it -- its first, for a new
        hydra account. Values that many honest accounts share are no one's (most holders must
        be in such clusters, and a value held by more than the cap is never shown), and a
        value an account outside them showed first is not theirs: a campaign that copies an
        honest product's prompt and client, with more accounts than its users, cannot get
        the product's new users blocked. Accounts older than :data:`FRESH_DAYS` (or of
        unknown age) are never joined this way."""
        if self.clusters.size(account_id) > 1 or not self.accounts[account_id].fresh:
            return None
        owned: dict[str, set[str]] = {}
        member: dict[str, str] = {}
        for family, others in shown.holders:
            if family not in OWNED_FAMILIES:
                continue
            roots = [self.clusters.find(h) for h in others]
            if not self._campaign(roots[0]):
                continue  # the value was someone else's first: a campaign copying it owns nothing
            held = [r for r in roots if self._campaign(r)]
            if len(held) < OWNED_MIN_HOLDERS or 2 * len(held) <= len(others):
                continue
            root = Counter(held).most_common(1)[0][0]
            owned.setdefault(root, set()).add(family)
            member.setdefault(root, others[roots.index(root)])
        for root, families in sorted(owned.items()):
            if len(families) >= 2:
                return member[root], tuple(sorted(families))
        return None

    def _campaign(self, root: str) -> bool:
        """Whether the cluster at ``root`` was judged on distinctive evidence."""
        judgement = self._cluster_judgements.get(root)
        return judgement is not None and judgement.distinctive

    def _state_of(self, account_id: str) -> ProfileState:
        return self.accounts[account_id].state

    # -- judgements -------------------------------------------------------------------
    def _judge_account(self, account_id: str, entry: _Account, cluster: Cluster | None) -> None:
        judgement = entry.judgement
        if entry.state.requests < judgement.next_at:
            return
        features = entry.state.features()
        features["disposable_email"] = entry.disposable
        found = run_checks([features], self._checks)[0]
        size = len(cluster.members) if cluster is not None else 1
        scored = self._calibrated(features, found, cluster, size) if self.learned else None
        if scored is not None:
            # as the scan: the calibrated probability, never below the distinctive evidence
            probability, note = scored
            judgement.score = max(probability, noisy_or([f for f in found if f.distinctive]))
            found += [note] if note is not None else []
        else:
            if self.learned:
                found += findings_from_matrix(model_row(features, size), model=ONLINE_MODEL_FILE)[0]
            judgement.score = noisy_or(found)
        judgement.findings = tuple(strongest_first(found))
        judgement.next_at = next_judgement(entry.state.requests)
        judgement.distinctive = any_distinctive(found)

    def _calibrated(
        self, features: dict[str, Any], found: list[Finding], cluster: Cluster | None, size: int
    ) -> tuple[float, Finding | None] | None:
        """The scan's calibrated score on the running state: the noisy-OR of shared findings
        saturated online as it did in the scan (draws 82-87: phone-app users on disposable
        mail, throttled on "asks anything" findings every such user shows)."""
        kinds = {f.kind for f in found}
        judged = self._cluster_judgements.get(cluster.root) if cluster is not None else None
        if judged is not None and judged.score > 0.0:
            kinds.update(f.kind for f in judged.findings)
        return calibrated_one(features, kinds, size)

    def _judge_cluster(self, cluster: Cluster) -> Judgement:
        judgement = self._cluster_judgements.setdefault(cluster.root, Judgement(next_at=2))
        if cluster.state.requests < judgement.next_at:
            return judgement
        members = [self.accounts[a] for a in cluster.members]
        # judged on its voters, as in scan (detect/voters.py); the pooled state below still
        # holds every member's requests: a running state cannot take one out again
        voting = [m for m in members if votes_one(_member_facts(m))]
        members = voting if len(voting) >= MIN_VOTERS else members
        pooled = cluster.state.features()
        pooled["prefix_recurrence"] = member_recurrence(
            (m.state for m in members), cluster.state.last_ts
        )
        facts = {
            "accounts": len(members),
            "requests": cluster.state.requests,
            "median_requests": statistics.median(m.state.requests for m in members),
            "fresh_share": sum(m.fresh for m in members) / len(members),
            "organisations": len(cluster.owners),
            "links": cluster.links,
            "asns": pooled["asns"],
            "member_asns": statistics.median(m.state.asns.count() for m in members),
            "prefix_recurrence": pooled.get("prefix_recurrence"),
            **self._domain_facts(members),
        }
        content = run_checks([pooled], self._checks)[0]
        facts["kit"] = harvest_kit(content)
        found = [f for check in CLUSTER_CHECKS for f in check.score_one(facts)]
        if len(cluster.owners) != 1:
            found += pooled_findings(content, facts)
        judged = any(f.kind != "SharedInfrastructure" for f in found)
        judgement.findings = tuple(strongest_first(found))
        judgement.score = noisy_or(found) if judged else 0.0
        judgement.distinctive = judged and any_distinctive(found)
        judgement.next_at = next_judgement(cluster.state.requests)
        return judgement

    def _assessment(
        self,
        account_id: str,
        entry: _Account,
        cluster: Cluster | None,
        cluster_judgement: Judgement | None,
    ) -> Assessment:
        own = entry.judgement
        shared = cluster_judgement.findings if cluster_judgement else ()
        cluster_score = cluster_judgement.score if cluster_judgement else 0.0
        kinds = {f.kind for f in own.findings}
        group = cluster_judgement is not None and cluster_judgement.distinctive
        outsider = bystander(_member_facts(entry)) if group and not own.distinctive else None
        extra: list[Finding] = [outsider] if outsider is not None else []
        findings = extra + strongest_first(
            [*own.findings, *(f for f in shared if f.kind not in kinds)]
        )
        return Assessment(
            account_id=account_id,
            cluster_id=f"K-{cluster.root}" if cluster is not None else None,
            score=round(min(1.0, max(own.score, cluster_score)), 4),
            cluster_score=round(min(1.0, cluster_score), 4),
            # the group's evidence flags only the members that show some of it themselves
            distinctive=own.distinctive or (group and outsider is None),
            reasons=tuple(str(f) for f in findings[:MAX_REASONS]),
            tactics=tuple(sorted({f.tactic for f in findings if f.tactic})),
        )

    def _domain_facts(self, members: list[_Account]) -> dict[str, Any]:
        """The mail-domain facts of :func:`distillwatch.detect.score.component_facts`."""
        domains = Counter(m.domain for m in members if m.domain)
        top, n = domains.most_common(1)[0] if domains else (None, 0)
        return {
            "top_domain_share": n / len(members),
            "top_domain_accounts": self._domain_accounts[top] if top else 0,
            "top_domain_disposable": is_disposable(top),
            "disposable_share": sum(m.disposable for m in members) / len(members),
        }

    def _new_model(self, model: str | None, ts: float) -> bool:
        if not model:
            return False
        first = self._model_first_seen.setdefault(model, ts)
        assert self._start is not None
        return first > self._start + _RELEASE_GRACE_S and ts - first < _NEW_MODEL_WINDOW_S


def _member_facts(entry: _Account) -> dict[str, Any]:
    """What :func:`distillwatch.detect.membership.shows_group_evidence` reads, from the
    account's running state (cheap: no full feature vector per request)."""
    state = entry.state
    return {
        "account_age_days": state.age_days(),
        "disposable_email": entry.disposable,
        "asns": state.asns.count(),
        "prefix_recurrence": state.prefix_recurrence(),
    }


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def enrich_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """One traffic log v1 record -> the enriched row ``scan`` would have made of it.

    Raises ``ValueError`` naming the problem when the record breaks the schema. Signals are
    computed per batch, so one record at a time is slow (milliseconds): the gateway uses
    :func:`enrich_records` on micro-batches instead (:mod:`.deferred`).
    """
    rows, problems = enrich_records([record])
    if problems:
        raise ValueError(f"invalid traffic log v1 record: {problems[0]}")
    return rows[0]


def enrich_records(records: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Enriched rows of the valid records (in order) and a message per invalid one."""
    from distillwatch import signals
    from distillwatch.ingest.batches import rows_to_batch
    from distillwatch.ingest.limits import cut_texts
    from distillwatch.ingest.normalize import check_record, flatten

    flat, problems = [], []
    for record in records:
        problem = check_record(record)
        if problem is None:
            flat.append(flatten(record))
        else:
            problems.append(f"{record.get('request_id', '?')}: {problem}")
    if not flat:
        return [], problems
    batch = rows_to_batch(flat, list(range(len(flat))), "<online>")
    extra = signals.compute(batch).to_pylist()
    rows = cut_texts(batch).to_pylist()  # as process_chunk: signals first, on whole texts
    for row, more in zip(rows, extra, strict=True):
        row.update(more)
    return rows, problems
