"""Who may store what: every object version is bound to the member that uploaded it.

The members of a sharing group are competitors, so nothing one member sends may speak for
another, alter another's objects, or lower a marking. The hub **refuses** (it never
rewrites) an object that breaks one of these rules, with the rule's name and a reason in the
status resource's ``failures``; the rest of the envelope is stored. Refusing keeps what is
stored byte-for-byte what its author sent, and tells a misconfigured publisher at once
instead of silently changing its objects.

Rules, in the order they are checked:

1. **vocabulary** -- shared objects nobody owns (:mod:`distillwatch.share.vocabulary`) are
   accepted only in their canonical form.
2. **identity** -- a member's identity object (its id is the member's identity id) may be
   sent only by that member, and no other identity at all (an identity nobody holds yet
   may be the one a future member derives from its name: the first uploader would own it);
   a member's identity may not be named like another member (NFKC, case and punctuation
   folded).
3. **forged-author** -- every other object except cyber-observables must carry
   ``created_by_ref`` equal to the uploader's identity id.
4. **not-owner** -- the member whose upload first stored an object id owns it: only the
   owner may add versions (so only the owner can revoke it) or delete it.
5. **lowers-tlp** -- a new version may not be readable by more members than an earlier one
   (TLP rank, granular markings included).
6. **drops-marking** -- a new version keeps every object and granular marking of the newest
   stored version.
7. **changes-version** -- a version already stored (in any collection) is sent again only
   with the same content: re-sent into another collection with a lower marking it would be
   a copy readable by more members.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distillwatch.share import tlp
from distillwatch.share.server.store import Head, granular_pairs, version_of
from distillwatch.share.server.tables import content_digest, read_rank
from distillwatch.share.vocabulary import VOCABULARY_OWNER, canonical, is_vocabulary

#: STIX 2.1 cyber-observable types: they have no ``created_by_ref`` (ownership still applies).
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)


@dataclass(frozen=True)
class Refusal:
    """One object the hub would not store, and why."""

    object_id: str
    version: str
    rule: str
    message: str

    def failure(self) -> dict[str, str]:
        """The entry of a TAXII status resource's ``failures``."""
        return {"id": self.object_id, "version": self.version, "message": self.message}


@dataclass
class Admission:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)  # object id -> added_by
    refused: list[Refusal] = field(default_factory=list)


def head_of(obj: dict[str, Any], owner: str, unmarked_rank: int) -> Head:
    """What the store will know about ``obj``'s id once this version is stored."""
    return Head(
        owner,
        {version_of(obj)},
        read_rank(obj, owner, unmarked_rank),
        frozenset(str(m) for m in obj.get("object_marking_refs") or ()),
        granular_pairs(obj),
        {version_of(obj): content_digest(obj)},
    )


def _level(rank: int) -> str:
    return tlp.LEVELS[rank].upper()


def _fold(name: str) -> str:
    """A name as people read it: compatibility forms folded, case and punctuation ignored."""
    return "".join(c for c in unicodedata.normalize("NFKC", name).casefold() if c.isalnum())


def _namesake(obj: dict[str, Any], member: str, identities: Mapping[str, str]) -> str | None:
    """The other member whose name ``obj`` (``member``'s identity) reads as, if any."""
    name = _fold(str(obj.get("name", "")))
    return next((m for m in identities if m != member and _fold(m) == name), None)


def _check(
    obj: dict[str, Any],
    member: str,
    identities: Mapping[str, str],
    head: Head | None,
    unmarked_rank: int,
) -> tuple[str, str] | None:
    """``(rule, reason)`` when ``member`` may not store ``obj``; None when it may."""
    oid = str(obj["id"])
    if is_vocabulary(oid):
        if canonical(obj):
            return None
        return "vocabulary", f"{oid} is shared vocabulary: only its canonical form is accepted"
    mine = identities[member]
    holder = next((m for m, ident in identities.items() if ident == oid), None)
    claim = obj.get("created_by_ref")
    if holder is not None and holder != member:
        return "identity", f"{oid} is the identity of {holder}: only {holder} may send it"
    if holder is None and obj.get("type") == "identity":
        return "identity", (
            f"{oid} is not your identity {mine}: a member sends only its own identity "
            "(one nobody holds yet may be the identity a future member derives from its name)"
        )
    twin = _namesake(obj, member, identities) if holder == member else None
    if twin is not None:
        return "identity", f"your identity may not be named like member {twin}"
    if holder is None and obj.get("type") not in SCO_TYPES and claim != mine:
        said = f"claims {claim}" if claim else "has no created_by_ref"
        return (
            "forged-author",
            f"created_by_ref must be your identity {mine} (the object {said}); "
            "the hub binds every object to the member that uploads it",
        )
    if holder is not None and claim not in (None, mine):
        return "forged-author", f"your identity {mine} cannot be created by {claim}"
    if head is None:
        return None
    if head.owner != member:
        return (
            "not-owner",
            f"{oid} belongs to {head.owner}: only its author may add versions, revoke or delete it",
        )
    rank = read_rank(obj, member, unmarked_rank)
    if rank < head.rank:
        return (
            "lowers-tlp",
            f"this version is TLP:{_level(rank)}, an earlier one TLP:{_level(head.rank)}; "
            "a new version may not lower the TLP",
        )
    dropped = sorted(head.markings - set(obj.get("object_marking_refs") or ()))
    dropped += sorted(f"{ref} on {sel}" for ref, sel in head.granular - granular_pairs(obj))
    if dropped:
        return "drops-marking", f"this version drops marking(s) {', '.join(dropped[:5])}"
    return None


def admit(
    objects: Sequence[dict[str, Any]],
    member: str,
    identities: Mapping[str, str],
    heads: dict[str, Head],
    unmarked_rank: int,
) -> Admission:
    """Split ``objects`` into those ``member`` may store and refusals.

    ``identities`` maps every member to its identity id; ``heads`` is what the store holds
    for these ids (updated in place as versions are admitted, so a batch holding several
    versions of one object is checked version by version).
    """
    out = Admission()
    for obj in objects:
        oid, ver = str(obj["id"]), version_of(obj)
        head = heads.get(oid)
        if head is not None and ver in head.versions and head.owner in (member, VOCABULARY_OWNER):
            if head.owner == member and head.digests.get(ver) not in (None, content_digest(obj)):
                changed = (
                    f"{oid} version {ver} is stored with other content: a version never "
                    "changes (send a later modified)"
                )
                out.refused.append(Refusal(oid, ver, "changes-version", changed))
                continue
            out.accepted.append(obj)  # already stored: a no-op (in another collection: a copy)
            out.owners[oid] = head.owner
            continue
        why = _check(obj, member, identities, head, unmarked_rank)
        if why is not None:
            out.refused.append(Refusal(oid, ver, *why))
            continue
        owner = VOCABULARY_OWNER if is_vocabulary(oid) else member
        fresh = head_of(obj, owner, unmarked_rank)
        if head is None:
            heads[oid] = fresh
        else:
            head.digests.update(fresh.digests)
            if ver > max(head.versions):  # the markings to keep are the newest version's
                head.markings, head.granular = fresh.markings, fresh.granular
            head.versions.add(ver)
            head.rank = max(head.rank, fresh.rank)
        out.accepted.append(obj)
        out.owners[oid] = owner
    return out
