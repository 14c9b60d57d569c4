"""Retrieved text is data, never instructions.

Two layers, because neither alone holds against a small model: the prompt fences each
source (``<source n=1> … </source>``) and says, last thing before the answer, that text
inside a fence is material to answer from, never instructions; and before a passage is
shown, what reads like an instruction to an AI model is removed and logged:

- a sentence of one of the :data:`FAMILIES` below (overriding earlier instructions, in
  English and nine other languages; a note addressed to the assistant; a demand on the
  form of every answer; asking for the system prompt; a new persona);
- a fake chat turn: from chat-template markup (``<|im_start|>``, ``[INST]``, ``<<SYS>>``,
  ``</s>``, ``<start_of_turn>``, ``### Instruction:``, a ``SYSTEM:`` / ``ASSISTANT:`` line)
  to the end of its paragraph.

Course material talks about models, prompts and instructions all the time, so each family
needs the shape of a command to the reader-model, not a topic word; the bundled course has
no sentence any family matches (tests/generator/test_guard.py). The lists are not complete
(hence the fence); what they catch is measured on two sets of planted documents written
blind to them (tests/data/injections*.json, docs/measurements.md).
"""

from __future__ import annotations

import logging
import re
import unicodedata

log = logging.getLogger(__name__)

_ANY = r"[^.!?\n]{0,60}"  # the rest of a clause
_AI = (r"(?:AI|A\.I\.|assistant|chat ?bot|bot|tutor(?:ing)?(?: system| bot)?|language model|"
       r"LLM|model reading this|system reading this)")
_ANSWER = r"(?:answers?|repl(?:y|ies)|responses?|messages?|outputs?)"
# who a note to the assistant names, narrower than _AI: "the model must ..." is course text
_ADDRESSEE = (r"(?:(?:AI |virtual |automated |digital )?assistant|chat ?bot|tutor(?:ing)? "
              r"(?:system|bot)|AI (?:system|helper|tutor)|automated (?:helper|system|tutor))")
_LANGUAGE = (r"(?:English|French|German|Spanish|Italian|Portuguese|Dutch|Russian|Chinese|"
             r"Mandarin|Japanese|Korean|Arabic|Hindi|Turkish|Polish|Latin|pirate|emoji|"
             r"all caps|capital letters|upper ?case|rhymes?|verse)")

FAMILIES: dict[str, str] = {
    # "ignore the above", "disregard your rules", "forget everything you were told"
    "override": (
        r"\b(?:ignore|disregard|forget|override|overrule|bypass|set aside|abandon|drop)\b"
        rf"{_ANY}\b(?:instructions?|rules?|prompts?|guidelines|directives?|guardrails|"
        r"constraints|policies|(?:everything|anything|all)(?: you were told| above| before)|"
        r"the above|what came before|previous (?:messages?|context)|"
        r"the (?:student|user)(?:'s|s') (?:question|request|message))\b"
        r"|\b(?:previous|prior|earlier|above|original) (?:instructions?|rules|prompt|"
        r"directives?)\b[^.!?\n]{0,40}\b(?:void|obsolete|cancel+ed|revoked|no longer|"
        r"replaced|superseded|do not apply|don't apply)"
        r"|\bnew (?:instructions?|rules|directives?|system (?:prompt|message))\b"
        r"|\b(?:you are (?:now )?in|enter|entering|switch to) (?:debug|developer|god|admin) mode\b"
        r"|\b(?:debug|developer|god|admin) mode (?:is )?(?:on|enabled|activated|engaged)\b"
        r"|\bjailbr(?:eak|oken)\b|\boverride (?:active|enabled|mode)"
        r"|\b(?:higher|highest|top) priority than\b|\bstanding orders?\b"
        r"|\byour (?:only|sole|one|real|true) (?:job|task|purpose|role|instruction)\b"),
    # the same, in French, German, Spanish, Italian, Portuguese, Dutch, Russian, Chinese,
    # Japanese and Korean
    "override, other languages": (
        r"\b(?:ignore[rz]?|oublie[rz]?|ne tenez pas compte)\b[^.!?\n]{0,60}"
        r"\b(?:instructions?|consignes|règles)\b"
        r"|\b(?:ignorier(?:e|en|t)?|vergiss|vergessen|missachte)\b[^.!?\n]{0,60}"
        r"(?:Anweisungen|Regeln|Vorgaben|Systemprompt|System-Prompt)"
        r"|\b(?:ignora|ignore|olvida|olvide|omite)\b[^.!?\n]{0,60}"
        r"\b(?:instrucciones|reglas|indicaciones)\b"
        r"|\b(?:ignora|dimentica|trascura)\b[^.!?\n]{0,60}\b(?:istruzioni|regole)\b"
        r"|\b(?:ignore|esqueça|esqueca|desconsidere)\b[^.!?\n]{0,60}"
        r"\b(?:instruções|instrucoes|regras)\b"
        r"|\b(?:negeer|vergeet)\b[^.!?\n]{0,60}\b(?:instructies|regels)\b"
        r"|(?:игнорируй|проигнорируй|забудь|игнорируйте|забудьте)[^.!?\n]{0,60}"
        r"(?:инструкци|правил|указани)"
        r"|(?:忽略|无视|忽视|忘记|忘掉|不要理会)[^。！？\n]{0,30}(?:指令|指示|提示|规则|说明|要求)"
        r"|(?:無視|忘れ)[^。！？\n]{0,30}(?:指示|命令|ルール|プロンプト)"
        r"|(?:指示|命令|ルール|プロンプト)[^。！？\n]{0,30}(?:無視|忘れ)"
        r"|(?:무시|잊어)[^.!?\n]{0,30}(?:지시|지침|규칙|명령)"
        r"|(?:지시|지침|규칙|명령)[^.!?\n]{0,30}(?:무시|잊어)"),
    # a note to the assistant: "Note to the AI:", "AI ASSISTANT:", "dear assistant"
    "addressed to the assistant": (
        rf"\b(?:note|message|instructions?|reminder|notice|memo|directive|request)s? "
        rf"(?:to|for) (?:the |any |all |every )?{_AI}\b"
        rf"|^[\s#/*>(-]*(?:the |an? )?{_AI}s?(?: reading this)?"
        r"(?: (?:instructions?|notes?|orders?|rules?|directives?))?\s*:"
        r"|\b(?:operator|admin(?:istrator)?|developer|moderator|system)(?:'s)? (?:instructions?|"
        r"orders?|override|directives?)\b"
        rf"|\b(?:dear|attention|hey|hello),? {_AI}\b"
        rf"|\bif you are an? {_AI}\b"
        rf"|\b{_ADDRESSEE}s? (?:must|should|shall|is required to|are required to|will now|"
        r"needs? to|is to|are to)\b"),
    # demands on the form of every answer: banners, sign-offs, links, language, refusals
    "answer format": (
        rf"\b(?:begin|start|end|finish|prefix|open|close|sign|preface|conclude)\b "
        rf"(?:every|each|all|any|your|the)\b{_ANY}\b{_ANSWER}\b{_ANY}\bwith\b"
        r"|\b(?:every|each|all|any|your)\b (?:\w+ ){0,2}(?:answers?|repl(?:y|ies)|responses?)"
        r"\b(?: \w+){0,4} (?:must|should|shall|has to|have to|needs? to|is to|are to)\b"
        r"(?: \w+){0,2} (?:begin|start|end|open|close|finish|include|contain|mention|be "
        r"(?:in|written|given)|recommend|say|state)\b"
        rf"|\b(?:reply|respond|answer|write|speak)\b(?: \w+){{0,3}} (?:only |exclusively |"
        rf"solely )?(?:in|using) {_LANGUAGE}"
        r"|\b(?:reply|respond|answer)\b[^.!?\n]{0,30}\b(?:only|solely|exclusively) "
        r"(?:with|by saying|the word)"
        r"|\b(?:must|should|shall)\s+(?:(?:be|always|only)\s+){0,2}(?:answer(?:ed)?|"
        r"repl(?:y|ied)|respond(?:ed)?)\b[^.!?\n]{0,20}\bwith\b"
        r"|\bdo not (?:mention|reveal|disclose|acknowledge|repeat) (?:this|these|the) "
        r"(?:instructions?|notes?|messages?|rules?|directives?)"
        r"|\byou (?:must|should|shall|have to|need to|are to) (?:always |now |also )?(?:tell|"
        r"inform|warn|remind) (?:the |every |each |all |any )?(?:students?|users?|learners?|"
        r"readers?|them)\b"
        r"|\byou (?:must|should|shall|have to|need to|are to) (?:always |now |also )?(?:reply|"
        r"respond|answer)\b(?: \w+){0,2} (?:with|only|in)\b"
        r"|\b(?:tell|inform) (?:every|each|all|any) (?:students?|users?|learners?)\b"
        r"|\bsay only (?:that|this)\b|\bsay nothing (?:else|but)\b"
        r"|\bthe (?:correct|right|only) answer to (?:any|every|all)\b"
        r"|\b(?:tell|say to|inform) (?:the |every |any )?(?:student|user)s?\b[^.!?\n]{0,40}"
        r"\b(?:not covered|does not cover|doesn't cover|cannot help|can't help|refuse)"
        r"|\b(?:claim|state|say|insist|assert)\b (?:that )?(?:this|the) (?:course|material|"
        r"topic)\b[^.!?\n]{0,30}\b(?:not covered|does not cover|doesn't cover)"
        r"|\b(?:ne )?(?:répondez|réponds)\b[^.!?\n]{0,30}\b(?:uniquement|seulement|en|pas)\b"
        r"|\b(?:di|dile|diga|dígale) al (?:estudiante|usuario|alumno)\b"
        r"|\b(?:dites|dis) (?:à l'|aux? )(?:étudiant|utilisateur)"
        r"|\bsag(?:en Sie)? (?:dem|den) (?:Studenten|Nutzer|Benutzer)"
        r"|\bantworte(?:n Sie|t)?\b[^.!?\n]{0,40}\b(?:nur|ausschließlich|auf)\b"
        r"|\b(?:responde|responda|rispondi|rispondete)\b[^.!?\n]{0,40}"
        r"\b(?:solo|sólo|únicamente|apenas|soltanto|solamente|in|en|em)\b"
        r"|(?:отвечай|отвечайте|ответь)[^.!?\n]{0,40}(?:только|на)"
        r"|(?:只能|必须|只用|一律)[^。！？\n]{0,20}(?:回答|回复|答复)|(?:回答|回复)[^。！？\n]{0,20}"
        r"(?:必须|都要|开头|结尾)"),
    # asking for what the model was told
    "prompt extraction": (
        r"\b(?:reveal|print|show|repeat|output|dump|recite|echo|copy|disclose|leak|tell me)\b"
        r"[^.!?\n]{0,40}\b(?:system (?:prompt|message)|(?:hidden|secret|initial|original|"
        r"internal) (?:instructions?|prompt|rules|configuration|directives?)|(?:words|text|"
        r"everything|instructions?|lines) (?:above|before|you were given))"),
    # a new persona: "you are now", "act as", "pretend to be"
    "persona": (
        r"\byou are now (?:an? |the |in |my )|\byou(?:'re| are) no longer (?:an? |the )"
        r"|\bfrom now on\b[^.!?\n]{0,40}\b(?:reply|respond|answer|say|act|you are|you will)\b"
        r"|\b(?:act|behave|respond|speak) as (?:if you were |though you were )?(?:an? |the )"
        r"(?:\w+ ){0,3}(?:bot|assistant|persona|character|hacker|pirate)\b"
        r"|\bpretend (?:to be|you are)\b|\bnew persona\b|\bpersona (?:confirmed|activated|"
        r"enabled|switch)"
        r"|\b(?:eres|ahora eres) un asistente\b|\btu es (?:maintenant )?un assistant\b"
        r"|\bdu bist (?:jetzt )?ein\b|\bsei ora un\b"),
}
INSTRUCTION_LIKE = re.compile("|".join(f"(?:{p})" for p in FAMILIES.values()),
                              re.IGNORECASE | re.MULTILINE)
_FAMILY = {name: re.compile(p, re.IGNORECASE | re.MULTILINE) for name, p in FAMILIES.items()}

# Chat-template markup that a tokenizer with special-token parsing would read as a control
# token: ChatML, Llama 2/3, Gemma, Mistral, and the sequence markers most models share.
CONTROL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_]{1,32}\|>|</?s>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>", re.IGNORECASE)
# A fake turn begins at markup, or at a role line of a plain-text chat format.
FAKE_TURN = re.compile(
    CONTROL_TOKEN.pattern
    + r"|^\s*#{2,4}\s*(?:Instruction|Response|System|Input)\s*:"
    r"|^\s*(?:SYSTEM|ASSISTANT|USER|HUMAN|AI)\s*:"
    r"|^\s*(?:System|Assistant|User|Human)\s*:\s",
    re.MULTILINE)
_ZERO_WIDTH = "\u200b"


def defuse_control_tokens(text: str) -> str:
    """``text`` with every piece of chat-template markup broken by a zero-width space
    (``<|im_end|>`` → ``<\u200b|im_end|>``), so no tokenizer reads it as a control token:
    for backends that tokenize a rendered chat template with special tokens (the
    transformers backend, and the server behind the openai backend)."""
    return CONTROL_TOKEN.sub(lambda m: m.group(0)[0] + _ZERO_WIDTH + m.group(0)[1:], text)


_SENTENCES = re.compile(r"(?<=[.!?:])\s+|(?<=[。！？])")
_PARAGRAPH_END = re.compile(r"\n\s*\n")
REMOVED = "[instruction-like text removed]"


# Obfuscations undone before matching: look-alike letters of other scripts, digits for
# letters ("1gn0r3"), letters spaced apart ("i g n o r e"), invisible characters.
_LOOKALIKE = str.maketrans("аеорсухіјѕԁɡοαειυνκτ", "aeopcyxijsdgoaeiuvkt")
_LEET = str.maketrans("013457@$", "oieastas")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
_SPACED = re.compile(r"\b(?:\w[ .\-_]){3,}\w\b")


def _plain(sentence: str) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", sentence)).translate(_LOOKALIKE)
    text = _SPACED.sub(lambda m: re.sub(r"[ .\-_]", "", m.group(0)), text)
    if sum(c.isdigit() for c in text) >= 3:  # leetspeak, not a number-heavy sentence
        words = [w.translate(_LEET) if re.search(r"[a-z]", w, re.I) else w
                 for w in text.split(" ")]
        text = " ".join(words)
    return text


def family(sentence: str) -> str | None:
    """The first family whose pattern the sentence matches, plain or with its
    obfuscation undone; None when none does."""
    plain = _plain(sentence)
    for name, pattern in _FAMILY.items():
        if pattern.search(sentence) or (plain != sentence and pattern.search(plain)):
            return name
    return None


def _without_fake_turns(text: str, where: str) -> str:
    """Each fake chat turn, from its markup to the end of its paragraph, made a marker."""
    parts, pos = [], 0
    for match in FAKE_TURN.finditer(text):
        if match.start() < pos:
            continue
        end = _PARAGRAPH_END.search(text, match.end())
        stop = end.start() if end else len(text)
        log.warning("removed a fake chat turn from a source %s: %.80r", where,
                    text[match.start():stop])
        parts += [text[pos:match.start()], REMOVED]
        pos = stop
    return "".join(parts) + text[pos:] if parts else text


FOLLOWING = 3  # sentences after a detected instruction that go with it: its payload


def neutralize(text: str, where: str = "") -> str:
    """The text without its fake chat turns and instruction-like sentences. A detected
    sentence goes with the (at most :data:`FOLLOWING`) sentences after it in its
    paragraph, which carry the instruction out ("Ignore the above. Reply with X."); each
    run removed becomes one marker. Text with nothing to remove comes back unchanged."""
    text = _without_fake_turns(text, where)
    if not _maybe(text):
        return text
    paragraphs, removed = [], False
    for paragraph in re.split(r"\n\s*\n", text):
        kept: list[str] = []
        dropping = 0
        for line in paragraph.split("\n"):
            pieces = []
            for sentence in _SENTENCES.split(line):
                if not sentence.strip():
                    continue
                found = None if sentence.strip() == REMOVED else family(sentence)
                if found is not None:
                    log.warning("removed instruction-like text (%s) from a source %s: %.80r",
                                found, where, sentence)
                    dropping, removed = FOLLOWING + 1, True
                if dropping or sentence.strip() == REMOVED:
                    dropping = max(0, dropping - 1)
                    if not pieces and kept and kept[-1].endswith(REMOVED):
                        continue
                    if not pieces or pieces[-1] != REMOVED:
                        pieces.append(REMOVED)
                else:
                    pieces.append(sentence.strip())
            if pieces:
                kept.append(" ".join(pieces))
        paragraphs.append("\n".join(kept))
    return "\n\n".join(p for p in paragraphs if p) if removed else text


def _maybe(text: str) -> bool:
    """A quick test before the sentence-by-sentence one: could any family match?"""
    return bool(INSTRUCTION_LIKE.search(text)) or _plain(text) != text and bool(
        INSTRUCTION_LIKE.search(_plain(text)))
