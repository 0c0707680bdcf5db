"""Cue phrases per capability area, used as extra features of the capability model.

They name what a request asks for (translate, write code, prove, call a tool, summarise, write
a poem...) in several languages. The model learns how much each cue counts; on prompt
sources unlike the training corpora these cues carry most of the weight, which is the point:
they describe the task, not a dataset.
"""

from __future__ import annotations

CUES: dict[str, tuple[str, ...]] = {
    "reasoning": (
        r"\bhow (?:many|much|long|far|old)\b|\bcalculate\b|\bcompute\b|\bsolve\b|\bequation"
        r"|\bprobability\b|\bpuzzle|\briddle|\blogic(?:al)?\b|\bprove\b|\bproof\b|\bdeduce"
        r"|\d+ ?[-+*/×÷^=] ?\d+|\bif .{0,60} then\b|\bremainder\b|\bpercent|\bsum of\b"
        r"|多少|计算|证明|推理|方程|几个|ausrechnen|berechne|calcule|calcula|вычисли|сколько",
    ),
    "coding": (
        r"```|\bdef \w+\(|\bfunction\b|\bpython\b|\bjava(?:script)?\b|\bc\+\+|\bsql\b|\bcode\b"
        r"|\bprogram\b|\bscript\b|\balgorithm\b|\bregex|\bcompile|\bbug\b|\bdebug|\bclass \w+"
        r"|#include|console\.log|\breturn\b|\bimport \w+|\bapi endpoint|\bhtml\b|\bcss\b"
        r"|\brust\b|\bgolang\b|\btypescript\b|\bbash\b|\bunit tests?\b|代码|编程|程序|函数|コード",
    ),
    "translation": (
        r"\btranslat|\binto (?:english|french|german|spanish|chinese|japanese|korean|russian"
        r"|italian|portuguese|arabic|hindi)\b|\bin (?:english|french|german|spanish|chinese)\b"
        r"|翻译|译成|译为|翻訳|번역|übersetz|tradu[ci]|перевед|перевод|terjemah|çevir",
    ),
    "tool_use": (
        r"\bapi\b|\bfunction call|\btools?\b|\bendpoint|\bjson\b|\bcall the\b|\bsearch for\b"
        r"|\bbook (?:a|me)\b|\bschedule\b|\bfetch\b|\bretrieve\b|\bquery the\b"
        r"|\bstock price|\bexchange rate|\bsend (?:an? )?(?:email|message)|\bbrowse\b"
        r"|\bdatabase\b|\bcurrent (?:price|time)|调用|工具|查询",
    ),
    "safety": (
        r"\bkill|\bbomb|\bweapon|\bdrugs?\b|\bhack|\bsteal|\billegal|\bjailbreak|\bignore (?:all )?"
        r"(?:the )?(?:previous|prior|above) instructions|\bdan\b|\bracis|\bsuicide|\bexplosive"
        r"|\bpoison|\bmalware|\bransomware|\bexploit|\bterroris|\bfraud|\bscam|\bporn|\bnsfw"
        r"|\bunfiltered|\bno (?:restrictions|limits|filters)|\bdeveloper mode|\bfuck|\bshit"
        r"|\bslur|\bweapons?\b|\bmurder|\bharm (?:myself|someone|people)|炸弹|毒品|黑客|自杀|越狱",
    ),
    "creative": (
        r"\bpoem|\bstory\b|\bstories\b|\blyrics|\bsong\b|\bhaiku|\blimerick|\bsonnet|\bnovel\b"
        r"|\bfiction|\bscreenplay|\brole[- ]?play|\bact as\b|\bpretend\b|\bimagine\b|\bcharacter"
        r"|\bjoke|\bslogan|\bcreative|\bfantasy|诗|故事|小说|歌词|扮演|創作|Gedicht|poème|poema",
    ),
    "knowledge": (
        r"\bwhat (?:is|are|was|were)\b|\bwho (?:is|was|were|invented|wrote)\b|\bwhen (?:did|was)"
        r"|\bwhich of the following\b|\bcapital of\b|\bhistory of\b|\bdefine\b|\bdefinition"
        r"|\bfact|\btrue or false\b|\bcorrect (?:answer|statement)|\bwhere is\b|是什么|哪个|下列",
    ),
    "summarization": (
        r"summar|\btl;?dr|\bextract\b|\bkey (?:points|takeaways)|\bmain (?:idea|points)\b"
        r"|\bclassify|\bcategori[sz]e|\bsentiment|\bkeywords|\bheadline|\btitle for|\bthe (?:above|"
        r"following) (?:text|passage|article|paragraph|review)|总结|摘要|概括|提取|分类|要約|resum"
        r"|zusammenfass",
    ),
    "chat": (
        r"^(?:hi|hello|hey|thanks|thank you|good (?:morning|night))\b|\bhow are you\b|\badvice\b"
        r"|\brecommend|\bshould i\b|\bi feel\b|\bmy (?:wife|husband|friend|boss|girlfriend"
        r"|boyfriend|mom|dad|son|daughter)|\bwhat do you think|你好|谢谢|怎么办|建议",
    ),
}
