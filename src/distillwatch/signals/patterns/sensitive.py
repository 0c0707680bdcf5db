"""Phrases that ask for 'safe' or censorship-compliant rewrites of sensitive questions."""

from __future__ import annotations

#: Unambiguous on their own.
STRONG: tuple[str, ...] = (
    r"censorship[- ]compliant|core socialist values|社会主义核心价值观"
    r"|politically (?:safe|compliant) (?:version|alternative|rewrite|phrasing|wording|answer"
    r"|response)",
    r"\b(?:comply|complies|compliant|consistent|in line|aligned?) with (?:\w+ ){0,2}(?:censorship"
    r"|official (?:narrative|position|line|stance)|party line|government (?:line|position"
    r"|narrative|regulations on (?:online )?content))",
    r"(?:规避|绕过|避开)(?:审查|敏感)|政治(?:正确|安全)的?(?:版本|说法|表述|回答)",
)

#: Asking for a rewrite / alternative phrasing.
REWRITE: tuple[str, ...] = (
    r"\b(?:re-?write|re-?phrase|re-?formulate|paraphrase|re-?word|re-?frame|soften|sanitize"
    r"|sanitise|neutrali[sz]e|tone down|recast|restate)\b",
    r"\b(?:safe|safer|acceptable|compliant|neutral|harmless|non-sensitive|sanitized|sanitised"
    r"|appropriate|approved|permissible) (?:alternative|version|phrasing|wording|rewrite"
    r"|formulation|variant|reformulation)s?\b",
    r"\balternatives? to\b",
    r"改写|重写|改述|重新表述|换(?:一种|个)(?:说法|问法|表述)|替代(?:问题|说法|表述)|安全(?:的)?(?:版本|表述|说法)",
    r"umformulier|reformule[rz]?|reformula[r]?|переформулир|перефразир",
)

#: The sensitive subject matter the rewrite is about.
SENSITIVE: tuple[str, ...] = (
    r"\b(?:politically|culturally|historically) (?:sensitive|charged|controversial|taboo)",
    r"\b(?:sensitive|controversial|taboo|forbidden|banned|censored|restricted) (?:political )?"
    r"(?:question|topic|quer(?:y|ies)|prompt|subject|issue|term|keyword|event)s?",
    r"\b(?:tiananmen|june 4(?:th)?|falun gong|dalai lama|uyghur|xinjiang camps?|tibet"
    r"|taiwan independence|hong kong protests?|winnie the pooh)\b",
    r"敏感(?:问题|话题|内容|词|事件|信息)|政治敏感|六四|天安门|法轮功|达赖|新疆|台独|港独",
    r"sensible[sn]? (?:politische|thema|frage)|politiquement sensible|políticamente sensible"
    r"|политически чувствительн|запрещённ(?:ые|ых) тем",
)
