"""share: sanitised STIX 2.1 out, TAXII 2.1 in and out, imported indicators back into use.

The stage after ``act`` in the flow of ``DESIGN.md``. Out: :mod:`.export` turns a scan's
campaigns into a STIX bundle under a sharing policy (:mod:`.policy`; keyed hashes in
:mod:`.keyed`, TLP 2.0 in :mod:`.tlp`, behavioural fingerprints in :mod:`.extension`), every
export logged in :mod:`.audit`. Between members: a TAXII 2.1 server (:mod:`.server`) and
client (:mod:`.client`). In: :mod:`.imports` keeps pulled objects with their provenance,
:mod:`.blocklist` and :mod:`.match` hand them to the online engine, :mod:`.hunt` looks for
them in the member's own traffic.

Detection never imports this package (the wall of ``DESIGN.md``); this package may read
scan outputs and signals.
"""
