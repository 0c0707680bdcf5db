"""Synthetic but consistent network and identity metadata: ASNs, IPs, countries, UAs, emails.

The ASN map is built from a fixed seed, so the same ASN always owns the same prefixes in
every run (sharing tests can rely on it). Addresses come only from ranges that are never
routed on the public internet — 100.64.0.0/10 (shared CGNAT space) for residential and mobile
ISPs, 198.18.0.0/15 (benchmarking range) for cloud providers, 2001:db8::/32 (documentation)
for IPv6 — so simulated indicators can never block a real person. ASNs are private-use
numbers (64512-65534).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: country -> (UTC offset in hours, weight among benign users, language code).
COUNTRIES: dict[str, tuple[float, float, str]] = {
    "US": (-5, 30, "en"),
    "GB": (0, 6, "en"),
    "DE": (1, 6, "de"),
    "FR": (1, 4, "fr"),
    "IN": (5.5, 8, "en"),
    "BR": (-3, 4, "pt"),
    "JP": (9, 4, "ja"),
    "KR": (9, 3, "ko"),
    "CN": (8, 2, "zh"),
    "SG": (8, 2, "en"),
    "CA": (-5, 3, "en"),
    "AU": (10, 2, "en"),
    "NL": (1, 2, "nl"),
    "ES": (1, 3, "es"),
    "MX": (-6, 3, "es"),
    "ID": (7, 3, "id"),
    "NG": (1, 2, "en"),
    "PL": (1, 2, "pl"),
    "TR": (3, 2, "tr"),
    "VN": (7, 2, "vi"),
    "IT": (1, 2, "it"),
    "RU": (3, 1, "ru"),
    "UA": (2, 1, "uk"),
    "SE": (1, 1, "sv"),
    "SA": (3, 1, "ar"),
}
COUNTRY_CODES = [c for c in COUNTRIES if COUNTRIES[c][1] > 0]
COUNTRY_WEIGHTS = np.array([COUNTRIES[c][1] for c in COUNTRY_CODES], dtype=float)
COUNTRY_WEIGHTS /= COUNTRY_WEIGHTS.sum()

_NAME_A = [
    "North",
    "Blue",
    "Metro",
    "Star",
    "Prime",
    "Coastal",
    "Summit",
    "Union",
    "Bright",
    "Rapid",
    "Silver",
    "Delta",
    "Vista",
    "Nova",
    "Orbit",
    "Pioneer",
]
_NAME_B = ["Telecom", "Broadband", "Net", "Fiber", "Cable", "Link", "Connect", "Online"]
_CLOUDS = [
    "Cumulus Cloud",
    "Stratus Compute",
    "Nimbus Hosting",
    "Cirrus Platform",
    "Altus Datacenters",
    "Lumen Edge",
]
_CLOUD_REGIONS = ["US", "US", "DE", "GB", "SG", "JP", "IN", "BR"]
#: Consumer VPN providers and the countries of their exit nodes (hosted in datacentres).
_VPNS = ["Veil VPN", "Tunnelfox", "Shieldway"]
_VPN_REGIONS = ["NL", "SE", "US", "GB", "DE", "SG", "JP", "CA"]
#: Countries with a university research network (campus ASN) in the table.
_CAMPUS_COUNTRIES = ["US", "US", "US", "GB", "DE", "IN", "JP", "CA", "SG", "FR", "BR", "AU"]

FREE_MAIL = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "qq.com",
    "163.com",
    "yandex.ru",
    "gmx.de",
    "naver.com",
    "mail.com",
]
DISPOSABLE_MAIL = [
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "temp-mail.org",
    "sharklasers.com",
    "dispostable.com",
    "trashmail.com",
    "maildrop.cc",
    "getnada.com",
    "tempmailo.com",
    "emailondeck.com",
]
_WORDS = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "hooli",
    "vandelay",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "aperture",
    "blackmesa",
    "massive",
    "gringotts",
    "oceanic",
    "virtucon",
    "monarch",
    "pied",
    "piper",
    "nakatomi",
    "zorg",
    "duff",
    "krusty",
    "gekko",
    "bluth",
    "dunder",
    "mifflin",
    "sterling",
    "cooper",
    "prestige",
    "worldwide",
    "quantum",
    "vertex",
    "helix",
    "lattice",
    "harbor",
    "atlas",
]
_TLDS = ["com", "io", "ai", "de", "co.uk", "fr", "net", "co", "tech", "jp"]


@dataclass(frozen=True)
class Asn:
    """One autonomous system: number, name, kind, country and IPv4 /20 (or /22) blocks."""

    number: int
    name: str
    kind: str  # residential | mobile | cloud | carrier | campus | vpn | hyperscale
    country: str
    blocks: tuple[int, ...]  # network address of each block as an int
    block_size: int


@dataclass(frozen=True)
class Network:
    """The fixed ASN table, indexed by kind and country."""

    asns: tuple[Asn, ...]

    def of_kind(self, kind: str, country: str | None = None) -> list[Asn]:
        got = [a for a in self.asns if a.kind == kind and (country is None or a.country == country)]
        return got or [a for a in self.asns if a.kind == kind]


@lru_cache(maxsize=1)
def network() -> Network:
    """The synthetic ASN map (fixed seed: identical in every run)."""
    rng = np.random.default_rng(20260302)
    numbers = iter(rng.permutation(np.arange(64512, 65535))[:400].tolist())
    res_blocks = iter(rng.permutation(1024).tolist())  # /20s in 100.64.0.0/10
    cloud_blocks = iter(rng.permutation(128).tolist())  # /22s in 198.18.0.0/15
    asns: list[Asn] = []

    def name() -> str:
        return f"{_NAME_A[rng.integers(len(_NAME_A))]} {_NAME_B[rng.integers(len(_NAME_B))]}"

    for cc in COUNTRY_CODES:
        for kind, count in (("residential", 2 + int(COUNTRIES[cc][1] > 3) * 2), ("mobile", 1)):
            for _ in range(count):
                blocks = tuple(
                    (100 << 24) + (64 << 16) + (next(res_blocks) << 12)
                    for _ in range(int(rng.integers(1, 4)))
                )
                asns.append(Asn(next(numbers), f"{name()} {cc}", kind, cc, blocks, 1 << 12))
    for cloud in _CLOUDS:
        for region in _CLOUD_REGIONS[: int(rng.integers(3, 7))]:
            blocks = tuple(
                (198 << 24) + (18 << 16) + (next(cloud_blocks) << 10)
                for _ in range(int(rng.integers(1, 3)))
            )
            asns.append(Asn(next(numbers), f"{cloud} {region}", "cloud", region, blocks, 1 << 10))

    # Added after the original table (same rng, drawn later), so that table is unchanged:
    # carrier = further mobile carriers (CGNAT pools); campus = university networks;
    # vpn = a VPN's exit nodes; hyperscale = a cloud's large egress/NAT ranges.
    def extra(kind: str, label: str, cc: str, count: int, cloud: bool = False) -> None:
        src, base, shift = (
            (cloud_blocks, 198 << 24 | 18 << 16, 10)
            if cloud
            else (res_blocks, 100 << 24 | 64 << 16, 12)
        )
        blocks = tuple(base + (next(src) << shift) for _ in range(count))
        asns.append(Asn(next(numbers), label, kind, cc, blocks, 1 << shift))

    for cc in COUNTRY_CODES:
        for _ in range(1 + int(COUNTRIES[cc][1] > 3)):
            extra("carrier", f"{name()} Mobile {cc}", cc, int(rng.integers(2, 5)))
    for cc in _CAMPUS_COUNTRIES:
        word = _WORDS[rng.integers(len(_WORDS))].title()
        extra("campus", f"{word} University Network {cc}", cc, 1)
    for vpn in _VPNS:
        for cc in rng.choice(_VPN_REGIONS, int(rng.integers(3, 6)), replace=False).tolist():
            extra("vpn", f"{vpn} {cc}", str(cc), 1, cloud=True)
    for cloud in _CLOUDS[:3]:
        extra("hyperscale", f"{cloud} Global", "US", int(rng.integers(5, 9)), cloud=True)
    # Added later still: each country's long tail of small home ISPs (regional cable and
    # fibre, rural wireless). Few honest users each, but a residential proxy pool's exits
    # sit in every one of them, so one country's pool spans many networks, as real ones do.
    for cc in COUNTRY_CODES:
        for _ in range(SMALL_ISPS[int(COUNTRIES[cc][1] > 3)]):
            extra("residential_small", f"{name()} Broadband {cc}", cc, 1)
    return Network(tuple(asns))


#: Small home ISPs per country (small, large market) and the share of home users on them.
SMALL_ISPS = (4, 10)
SMALL_ISP_USERS = 0.15


def home_isp(rng: np.random.Generator, net: Network, country: str) -> Asn:
    """A home user's ISP: one of the country's large ones, or (``SMALL_ISP_USERS``) a small one."""
    u = float(rng.random())
    small = net.of_kind("residential_small", country)
    big = net.of_kind("residential", country)
    if u < SMALL_ISP_USERS:
        return small[int(u / SMALL_ISP_USERS * len(small))]
    return big[min(len(big) - 1, int((u - SMALL_ISP_USERS) / (1 - SMALL_ISP_USERS) * len(big)))]


def ip_in(rng: np.random.Generator, asn: Asn, n: int) -> list[str]:
    """``n`` addresses inside ``asn``'s blocks (hosts .1-.254 within each /24)."""
    block = np.array(asn.blocks)[rng.integers(0, len(asn.blocks), n)]
    addr = block + rng.integers(0, asn.block_size // 256, n) * 256 + rng.integers(1, 255, n)
    return [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in addr.tolist()]


def same_prefix(rng: np.random.Generator, ip: str, n: int) -> list[str]:
    """``n`` addresses in the /24 of ``ip`` (``ip`` itself first): one NAT pool or subnet."""
    head = ip.rsplit(".", 1)[0]
    return [ip] + [f"{head}.{h}" for h in rng.integers(1, 255, n - 1).tolist()]


def pick_country(rng: np.random.Generator) -> str:
    return COUNTRY_CODES[int(rng.choice(len(COUNTRY_CODES), p=COUNTRY_WEIGHTS))]


def tz_of(country: str) -> float:
    return float(COUNTRIES[country][0])


def language_of(country: str) -> str:
    return COUNTRIES[country][2]


def hex_ids(rng: np.random.Generator, n: int, nbytes: int, prefix: str) -> list[str]:
    """``n`` random ids like ``acct_3f9a…``: the same shape for every population and tactic."""
    raw = rng.bytes(n * nbytes).hex()
    w = 2 * nbytes
    return [prefix + raw[i * w : (i + 1) * w] for i in range(n)]


def corporate_domain(rng: np.random.Generator) -> str:
    a, b = rng.choice(len(_WORDS), 2, replace=False)
    return f"{_WORDS[a]}{_WORDS[b]}.{_TLDS[rng.integers(len(_TLDS))]}"


def university_domain(rng: np.random.Generator) -> str:
    w = _WORDS[rng.integers(len(_WORDS))]
    return [f"{w}.edu", f"uni-{w}.de", f"{w}.ac.uk", f"{w}-u.ac.jp", f"{w}.edu.sg"][
        int(rng.integers(5))
    ]


def email_domain(rng: np.random.Generator, free: float, disposable: float) -> str:
    """A free-mail, disposable or corporate domain with the given probabilities."""
    u = rng.random()
    if u < disposable:
        return DISPOSABLE_MAIL[rng.integers(len(DISPOSABLE_MAIL))]
    if u < disposable + free:
        return FREE_MAIL[rng.integers(len(FREE_MAIL))]
    return corporate_domain(rng)


_UA_FAMILIES: dict[str, tuple[str, ...]] = {
    "sdk": (
        "openai-python/1.{a}.{b}",
        "OpenAI/NodeJS/4.{a}.{b}",
        "AsyncOpenAI/Python 1.{a}.{b}",
        "langchain-openai/0.{b}.{a}",
        "litellm/1.{a}.{b}",
    ),
    "http": (
        "python-requests/2.{b}.{a}",
        "curl/8.{b}.{a}",
        "axios/1.{b}.{a}",
        "Go-http-client/2.0",
        "okhttp/4.{b}.{a}",
        "aiohttp/3.{b}.{a}",
    ),
    "browser": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/1{a}.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.{b} Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:12{b}.0) Gecko/20100101 Firefox/12{b}.0",
    ),
    "agent": (
        "openai-python/1.{a}.{b} coding-agent/0.{b}.{a}",
        "OpenAI/NodeJS/4.{a}.{b}",
        "aider/0.{a}.{b}",
        "continue-dev/0.{b}.{a}",
    ),
    "eval": (
        "lm-eval-harness/0.4.{b}",
        "openai-python/1.{a}.{b}",
        "inspect-ai/0.3.{a}",
        "helm/0.5.{b}",
    ),
}


def user_agent(rng: np.random.Generator, family: str) -> str:
    """A plausible user agent from a family (sdk, http, browser, agent, eval, custom)."""
    a, b = int(rng.integers(20, 99)), int(rng.integers(0, 10))
    if family == "custom":
        w = _WORDS[rng.integers(len(_WORDS))]
        return (
            f"{w}-{['gateway', 'app', 'translate', 'worker', 'bot'][rng.integers(5)]}/{b}.{a % 10}"
        )
    options = _UA_FAMILIES[family]
    return options[int(rng.integers(len(options)))].format(a=a, b=b)
