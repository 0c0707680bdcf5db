"""Phrases that ask the model to judge, score, compare or rank candidate answers."""

from __future__ import annotations

_CANDIDATE = (
    r"(?:responses?|answers?|completions?|outputs?|repl(?:y|ies)|generations?|candidates?"
    r"|solutions?|summar(?:y|ies)|translations?|essays?|submissions?|assistants?|chatbots?"
    r"|models?|continuations?|rewrites?|explanations?)"
)
_JUDGE_VERB = (
    r"(?:grade|score|rate|evaluate|assess|judge|rank|compare|critique|review|mark|audit"
    r"|verify|check)"
)

_SCALE = (
    r"\b(?:score|rating|grade|rate)[^.\n]{0,40}\b(?:from|between|of) (?:0|1) (?:to|and|-) "
    r"(?:5|10|100)\b"
)

#: Clear judge / reward-model requests.
STRONG: tuple[str, ...] = (
    r"\b" + _JUDGE_VERB + r"[sd]? (?:\w+[ -]){0,4}" + _CANDIDATE + r"\b",
    r"\b(?:which|what) (?:of (?:the|these) )?(?:\w+ ){0,2}"
    + _CANDIDATE
    + r" (?:is|are|was|seems?) (?:better|best|more (?:helpful|accurate|correct|harmless)"
    r"|preferable|preferred|superior|worse)",
    r"\b(?:impartial|fair|strict|expert|unbiased|objective) (?:judge|evaluator|grader|rater"
    r"|reviewer|annotator)",
    r"\b(?:as|you are) an? (?:\w+ ){0,2}(?:judge|evaluator|grader|rater|reward model"
    r"|annotator)\b",
    r"\bon a scale (?:of|from) (?:0|1|one|zero)\b",
    _SCALE,
    r"\[\[(?:rating|a|b|c|tie|score)\]\]|\brating: \[\[",
    r"\b(?:assistant|response|answer|output|model|completion) (?:a|1|\(a\)) (?:and|vs\.?|or"
    r"|versus) (?:assistant |response |answer |output |model |completion )?(?:b|2|\(b\))\b",
    r"\b(?:pairwise|side[- ]by[- ]side) (?:comparison|preference|evaluation)",
    r"\b(?:preferred|chosen|better) (?:and|or|vs\.?) (?:rejected|worse|dispreferred)\b",
    r"\b(?:evaluation|scoring|grading) (?:rubric|criteria|guidelines?)\b|\brubric\b",
    r"\bis (?:the|this) (?:\w+ )?(?:answer|response|solution) (?:correct|right|accurate"
    r"|factually correct|helpful|harmful)\b",
    r"\breward (?:score|model|signal)",
    # other languages
    r"(?:评分|打分|评估|评价|比较|评判|排名|判断)[^。？\n]{0,12}(?:回答|回复|答案|输出|响应|助手)",
    r"(?:回答|回复|答案|输出)[^。？\n]{0,8}(?:打分|评分|哪个更好|孰优孰劣)|哪个(?:回答|回复|答案)更",
    r"(?:回答|回答案|応答|出力)を(?:採点|評価|比較)|採点して",
    r"(?:답변|응답|답안)[을를]? (?:채점|평가|비교)|어느 (?:답변|응답)이 더",
    r"(?:bewerte|beurteile|vergleiche|benote)n? (?:\w+ ){0,3}(?:antworten?|ausgaben?)",
    r"(?:évalue|note|compare|juge)[sz]? (?:\w+ ){0,3}(?:réponses?|sorties?)",
    r"(?:evalúa|califica|compara|puntúa|juzga)(?:r)? (?:\w+ ){0,3}(?:respuestas?|salidas?)",
    r"(?:avalie|compare|classifique|valuta|confronta) (?:\w+ ){0,3}"
    r"(?:respostas?|risposte|risposta)",
    r"(?:оцени|сравни|ранжируй)(?:те)? (?:\w+ ){0,3}(?:ответы?|ответов)|какой (?:из )?ответ лучше",
)

#: Fragments of STRONG matched in passes of their own (see ``patterns.passes``).
STRONG_APART: tuple[str, ...] = (_SCALE,)
