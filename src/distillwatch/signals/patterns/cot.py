"""Phrases that ask the model to show or articulate its chain of thought."""

from __future__ import annotations

_REASON_NOUN = (
    r"(?:reasoning|thought process|thinking process|chain[- ]of[- ]thought|thinking|rationale"
    r"|derivation|logic|inner monologue|scratchpad|working|workings|steps)"
)
_SHOW_VERB = (
    r"(?:explain|show|walk (?:me |us )?through|describe|articulate|outline|lay out|spell out"
    r"|write out|write down|reveal|expose|detail|give|provide|include|share|present|document"
    r"|verbali[sz]e|reconstruct|justify|narrate)"
)

_LETS_THINK = (
    r"\b(?:let'?s|let us|please|now) (?:think|reason|work|go|solve|break)\b[^.?!\n]{0,30}"
    r"(?:step[- ]by[- ]step|one step at a time|carefully|systematically)"
)
_SHOW_REASONING = (
    _SHOW_VERB
    + r" (?:\w+ ){0,4}(?:your|the|its|their|his|her|my|each|every|all)? ?"
    + _REASON_NOUN
    + r"\b"
)

#: Unambiguous requests for step-by-step / articulated reasoning.
STRONG: tuple[str, ...] = (
    r"\bthink(?:ing)? (?:it |this |things |carefully |logically )?(?:through )?step[- ]by[- ]step",
    _LETS_THINK,
    r"\bstep[- ]by[- ]step (?:reasoning|explanation|solution|derivation|breakdown|thinking"
    r"|thought|analysis|logic|rationale|justification|proof|working)",
    r"\bchain[- ]of[- ]thought\b",
    r"\b(?:internal|underlying|hidden|implicit|latent|full|complete|entire|detailed|explicit)"
    r" (?:reasoning|thought process|thinking|rationale|chain of reasoning)",
    _SHOW_REASONING,
    r"\bshow (?:all )?(?:of )?(?:your|the) (?:work|calculations?|math|intermediate steps)",
    r"\b(?:reason|think) (?:through|about) (?:it|this|the problem|the question) (?:carefully"
    r"|step|first|before)",
    r"\b(?:before|prior to) (?:answering|responding|giving (?:your|the|a) (?:final )?answer)"
    r"[^.?!\n]{0,20}\b(?:think|reason|explain|analy[sz]e|consider)",
    r"\bone step at a time\b",
    r"<think>|\breasoning trace|\bthought process\b|\breasoning steps?\b|\breasoning process\b",
    r"\b(?:justify|explain) your (?:answer|choice|reasoning|thinking|response|decision)",
    # other languages
    r"一步一步|一步步|逐步(?:思考|推理|分析|解答|解释|计算|推导)|分步(?:骤)?(?:思考|解答|推理|解释)",
    r"(?:思考|推理|解题|计算|推导|思维)(?:过程|步骤|链)|思维链|写出(?:详细的?)?(?:推理|解题|计算)",
    r"ステップバイステップ|段階的に(?:考え|推論|説明)|一歩ずつ|順を追って|思考過程|推論過程",
    r"단계별로|차근차근|단계적으로|추론 과정|사고 과정|풀이 과정",
    r"schritt für schritt|schrittweise|denkprozess|gedankengang|rechenweg|lösungsweg"
    r"|begründe (?:deine|ihre) (?:antwort|argumentation|überlegung)",
    r"étape par étape|pas à pas|(?:explique[sz]?|montre[sz]?|détaille[sz]?|justifie[sz]?)"
    r" (?:ton|votre|le) raisonnement|raisonnement (?:détaillé|étape)",
    r"paso a paso|(?:explica|muestra|detalla|justifica)(?:me)? (?:tu|su|el) razonamiento"
    r"|cadena de pensamiento|proceso de razonamiento",
    r"passo a passo|passo dopo passo|(?:mostre|explique|mostra|spiega) (?:o seu |seu |il tuo )?"
    r"(?:raciocínio|ragionamento)",
    r"шаг за шагом|пошагово|поэтапно|ход (?:рассуждений|мысли|решения)|цепочк[аиу] рассуждений"
    r"|(?:объясни|покажи|опиши)(?:те)? (?:сво[её] |ход )?(?:рассуждени[ея]|решение)",
    r"خطوة بخطوة|adım adım|từng bước|langkah demi langkah|krok po kroku|stap voor stap"
    r"|steg för steg|trin for trin|चरण दर चरण|कदम दर कदम|крок за кроком|βήμα προς βήμα",
)

#: Bare "step by step": CoT when it is about reasoning, not a how-to ("step-by-step guide").
WEAK: tuple[str, ...] = (r"\bstep[- ]by[- ]step\b", r"\bstep[- ]wise\b")

#: How-to requests, where "step by step" asks for instructions rather than reasoning.
HOWTO: tuple[str, ...] = (
    r"step[- ]by[- ]step (?:guide|instructions?|tutorial|recipe|plan|directions|process"
    r"|procedure|manual|walkthrough|roadmap|checklist|program|course|approach to (?:build|make"
    r"|create|install|set up))",
    r"\b(?:how (?:do|can|to|would|should) (?:i|we|you|one)?)\b[^?\n]{0,60}step[- ]by[- ]step",
)

#: Fragments of STRONG matched in passes of their own (see ``patterns.passes``).
STRONG_APART: tuple[str, ...] = (_LETS_THINK, _SHOW_REASONING)
