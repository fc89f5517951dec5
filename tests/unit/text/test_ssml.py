from __future__ import annotations

import random
import re

import pytest

from polyvox.errors import InvalidArgument
from polyvox.text.ssml import (
    BREAK_STRENGTH_S,
    MAX_RATE,
    MIN_RATE,
    PARAGRAPH_PAUSE_S,
    RATE_LABELS,
    Boundary,
    Break,
    PhonemeRun,
    Piece,
    SsmlError,
    TextRun,
    is_ssml,
    parse_ssml,
    silence_samples,
)


def texts(pieces: list[Piece]) -> list[str]:
    return [piece.text for piece in pieces if isinstance(piece, TextRun | PhonemeRun)]


def summary(pieces: list[Piece]) -> list[object]:
    """Pieces as short tuples: ("text", voice, rate) / ("break", s) / a boundary's kind."""
    out: list[object] = []
    for piece in pieces:
        if isinstance(piece, TextRun):
            out.append((piece.text, piece.voice, piece.rate))
        elif isinstance(piece, PhonemeRun):
            out.append(("phoneme", piece.phonemes, piece.text))
        elif isinstance(piece, Break):
            out.append(("break", piece.seconds))
        else:
            out.append(piece.kind)
    return out


# -- detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<speak>Hi</speak>", True),
        ("  \n<speak version='1.1'>Hi</speak>", True),
        ('<?xml version="1.0"?>\n<speak>Hi</speak>', True),
        ("\ufeff<speak>Hi</speak>", True),
        ("<speak/>", True),
        ("Hello <speak>", False),
        ("<speaker>Hi</speaker>", False),
        ("<!DOCTYPE speak><speak>Hi</speak>", True),  # refused by parse_ssml
        ("<!DOCTYPE html><html/>", False),
        ("<p>Hi</p>", False),
        ("plain text", False),
    ],
)
def test_is_ssml(text: str, expected: bool) -> None:
    assert is_ssml(text) is expected


# -- each element -------------------------------------------------------------------


def test_plain_text_in_speak() -> None:
    assert summary(parse_ssml("<speak>Hello world.</speak>")) == [("Hello world.", None, 1.0)]
    assert parse_ssml("<speak/>") == []
    assert parse_ssml("<speak>  \n </speak>") == []


@pytest.mark.parametrize(
    ("attributes", "seconds"),
    [
        ('time="500ms"', 0.5),
        ('time="1.5s"', 1.5),
        ('time=" 250 ms "', 0.25),
        ('time=".5s"', 0.5),
        ('time="0ms"', 0.0),
        ('time="10s"', 10.0),
        ('time="3S"', 3.0),
        ('strength="x-weak"', BREAK_STRENGTH_S["x-weak"]),
        ('strength="strong"', BREAK_STRENGTH_S["strong"]),
        ('strength="none"', 0.0),
        ("", BREAK_STRENGTH_S["medium"]),
        ('time="200ms" strength="x-strong"', 0.2),  # time wins
    ],
)
def test_break(attributes: str, seconds: float) -> None:
    pieces = parse_ssml(f"<speak>One <break {attributes}/> two</speak>")
    assert summary(pieces) == [("One", None, 1.0), ("break", seconds), ("two", None, 1.0)]


def test_break_strengths_grow() -> None:
    values = list(BREAK_STRENGTH_S.values())
    assert values == sorted(values)
    assert values[0] == 0.0


@pytest.mark.parametrize(
    ("seconds", "rate_hz", "samples"),
    [
        (0.5, 24000, 12000),
        (0.5, 22050, 11025),
        (0.7, 22050, 15435),  # 0.7 * 22050 is 15434.999... in binary floating point
        (1.15, 22050, 25358),  # 25357.5: half to even, on the exact value
        (0.085, 44100, 3748),  # 3748.5: half to even
        (0.001, 48000, 48),
        (0.0, 48000, 0),
        (10.0, 8000, 80000),
    ],
)
def test_silence_samples_are_exact(seconds: float, rate_hz: int, samples: int) -> None:
    assert silence_samples(seconds, rate_hz) == samples


def test_break_lengths_become_exact_sample_counts() -> None:
    pieces = parse_ssml('<speak>a<break time="333ms"/>b<break time="1.2s"/>c</speak>')
    breaks = [piece for piece in pieces if isinstance(piece, Break)]
    assert [silence_samples(b.seconds, 22050) for b in breaks] == [7343, 26460]
    assert [silence_samples(b.seconds, 48000) for b in breaks] == [15984, 57600]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        *RATE_LABELS.items(),
        ("150%", 1.5),
        ("80%", 0.8),
        ("1.25", 1.25),
        ("10%", MIN_RATE),  # clamped
        ("900%", MAX_RATE),
        (" FAST ", RATE_LABELS["fast"]),
    ],
)
def test_prosody_rate(rate: str, expected: float) -> None:
    pieces = parse_ssml(f'<speak><prosody rate="{rate}">Hi</prosody></speak>')
    assert summary(pieces) == [("Hi", None, pytest.approx(expected))]


def test_relative_rates_change_the_enclosing_one() -> None:
    pieces = parse_ssml(
        '<speak><prosody rate="slow">a <prosody rate="+20%">b <prosody rate="-50%">c'
        '</prosody></prosody> <prosody rate="fast">d</prosody></prosody> e</speak>'
    )
    rates = [piece.rate for piece in pieces if isinstance(piece, TextRun)]
    assert rates == pytest.approx([0.75, 0.9, 0.45, 1.25, 1.0])


def test_other_prosody_attributes_are_ignored() -> None:
    pieces = parse_ssml(
        '<speak><prosody pitch="+10%" volume="loud" range="x-high" contour="(0%,+20Hz)" '
        'duration="2s">Hi</prosody></speak>'
    )
    assert summary(pieces) == [("Hi", None, 1.0)]


def test_say_as_expands_in_the_language_in_scope() -> None:
    pieces = parse_ssml(
        '<speak>Room <say-as interpret-as="cardinal">1,234</say-as>, the '
        '<say-as interpret-as="ordinal">2nd</say-as> on <say-as interpret-as="date" '
        'format="dmy">05/01/2024</say-as>, call <say-as interpret-as="telephone">555-0100'
        '</say-as>, code <say-as interpret-as="characters">abc</say-as>. '
        '<lang xml:lang="de"><say-as interpret-as="cardinal">12</say-as></lang> '
        '<say-as interpret-as="cardinal" xml:lang="ja">12</say-as></speak>'
    )
    assert [(p.text, p.language) for p in pieces if isinstance(p, TextRun)] == [
        (
            "Room one thousand, two hundred and thirty-four, the second on the fifth of "
            "January, twenty twenty-four, call five five five, zero one zero zero, "
            "code A B C.",
            None,
        ),
        ("zwölf", "de"),
        ("十二", "ja"),
    ]


def test_say_as_follows_the_voices_language_when_no_xml_lang() -> None:
    ssml = '<speak><say-as interpret-as="cardinal">7</say-as></speak>'
    assert texts(parse_ssml(ssml, language="fr-FR")) == ["sept"]
    assert texts(parse_ssml(ssml)) == ["seven"]


def test_say_as_that_cannot_expand_speaks_its_content() -> None:
    pieces = parse_ssml(
        '<speak><say-as interpret-as="time">12:30</say-as> and '
        '<say-as interpret-as="cardinal">many</say-as></speak>'
    )
    assert texts(pieces) == ["12:30 and many"]


def test_sub_speaks_its_alias() -> None:
    pieces = parse_ssml('<speak>The <sub alias="World Wide Web Consortium">W3C</sub>.</speak>')
    assert texts(pieces) == ["The World Wide Web Consortium."]
    assert texts(parse_ssml("<speak><sub>W3C</sub></speak>")) == ["W3C"]  # no alias


def test_paragraphs_and_sentences_are_boundaries() -> None:
    pieces = parse_ssml(
        "<speak>Intro. <p><s>First.</s> <s>Second.</s></p>\n<p>Next paragraph.</p>"
        "<s>Last</s> words</speak>"
    )
    assert summary(pieces) == [
        ("Intro.", None, 1.0),
        "paragraph",
        ("First.", None, 1.0),
        "sentence",
        ("Second.", None, 1.0),
        "paragraph",
        ("Next paragraph.", None, 1.0),
        "paragraph",
        ("Last", None, 1.0),
        "sentence",
        ("words", None, 1.0),
    ]
    boundaries = [piece for piece in pieces if isinstance(piece, Boundary)]
    assert {b.kind: b.pause_s for b in boundaries} == {
        "paragraph": PARAGRAPH_PAUSE_S,
        "sentence": 0.0,
    }


def test_no_boundary_at_either_end_or_twice() -> None:
    pieces = parse_ssml("<speak><p><s>Only.</s></p><p></p><s/></speak>")
    assert summary(pieces) == [("Only.", None, 1.0)]
    pieces = parse_ssml("<speak><paragraph>A</paragraph><sentence>B</sentence></speak>")
    assert summary(pieces) == [("A", None, 1.0), "paragraph", ("B", None, 1.0)]


def test_breaks_at_the_ends_are_kept() -> None:
    pieces = parse_ssml('<speak><break time="1s"/>Hi<break time="2s"/></speak>')
    assert summary(pieces) == [("break", 1.0), ("Hi", None, 1.0), ("break", 2.0)]


def test_voice_switches_within_the_request() -> None:
    pieces = parse_ssml(
        '<speak>Narrator. <voice name="jm_kumo">Kumo speaks.</voice> '
        '<voice gender="female">No name: same voice.</voice></speak>'
    )
    assert summary(pieces) == [
        ("Narrator.", None, 1.0),
        ("Kumo speaks.", "jm_kumo", 1.0),
        ("No name: same voice.", None, 1.0),
    ]


def test_phoneme_keeps_phonemes_and_text() -> None:
    pieces = parse_ssml(
        '<speak>Say <phoneme alphabet="ipa" ph="təˈmɑːtəʊ">tomato</phoneme> '
        '<phoneme ph="x">y</phoneme> <phoneme alphabet="x-sampa" ph="">z</phoneme></speak>'
    )
    assert summary(pieces) == [
        ("Say", None, 1.0),
        ("phoneme", "təˈmɑːtəʊ", "tomato"),
        ("phoneme", "x", "y"),
        ("z", None, 1.0),  # no phonemes: just text
    ]
    phoneme = pieces[1]
    assert isinstance(phoneme, PhonemeRun)
    assert phoneme.alphabet == "ipa"


def test_emphasis_and_unknown_elements_are_their_text() -> None:
    pieces = parse_ssml(
        '<speak>A <emphasis level="strong">big</emphasis> <whisper>quiet <b>bold</b>'
        '</whisper> <audio src="https://example.com/x.mp3">fallback</audio><mark name="m"/>'
        " end</speak>"
    )
    assert texts(pieces) == ["A big quiet bold fallback end"]


def test_the_ssml_namespace_is_understood() -> None:
    pieces = parse_ssml(
        '<?xml version="1.0" encoding="UTF-8"?>\n<speak version="1.1" '
        'xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">'
        '<p>Hi <break time="300ms"/> <voice name="joe">there</voice></p></speak>'
    )
    assert summary(pieces) == [("Hi", None, 1.0), ("break", 0.3), ("there", "joe", 1.0)]
    assert {p.language for p in pieces if isinstance(p, TextRun)} == {"en-US"}


# -- nesting -----------------------------------------------------------------------


def test_voice_inside_p_inside_speak_and_prosody_inside_voice() -> None:
    pieces = parse_ssml(
        "<speak><p>Start. <voice name='a'>In a. <prosody rate='x-slow'>Slow a."
        "<break time='250ms'/><voice name='b'>Slow b.</voice></prosody> Back in a.</voice>"
        "</p><p>Default again.</p></speak>"
    )
    assert summary(pieces) == [
        ("Start.", None, 1.0),
        ("In a.", "a", 1.0),
        ("Slow a.", "a", 0.5),
        ("break", 0.25),
        ("Slow b.", "b", 0.5),
        ("Back in a.", "a", 1.0),
        "paragraph",
        ("Default again.", None, 1.0),
    ]


def test_markup_inside_text_only_elements_counts_for_its_text() -> None:
    pieces = parse_ssml(
        '<speak><say-as interpret-as="characters">a<emphasis>b</emphasis>'
        '<break time="5s"/>c</say-as></speak>'
    )
    assert texts(pieces) == ["A B C"]
    assert not any(isinstance(piece, Break) for piece in pieces)


def test_deep_nesting_is_fine() -> None:
    depth = 2000
    ssml = "<speak>" + "<emphasis>" * depth + "deep" + "</emphasis>" * depth + "</speak>"
    assert texts(parse_ssml(ssml)) == ["deep"]


# -- offsets in the original input --------------------------------------------------


def words_in_source(ssml: str) -> list[tuple[str, str]]:
    """Each spoken word with the original input it came from."""
    out = []
    for piece in parse_ssml(ssml):
        if isinstance(piece, TextRun):
            for match in re.finditer(r"\S+", piece.text):
                start, end = piece.source_range(match.start(), match.end())
                out.append((match[0], ssml[start:end]))
    return out


def test_literal_text_maps_character_for_character() -> None:
    ssml = "<speak>\n  <p>Hello <emphasis>brave</emphasis> new world.</p>\n</speak>"
    assert words_in_source(ssml) == [
        ("Hello", "Hello"),
        ("brave", "brave"),
        ("new", "new"),
        ("world.", "world."),
    ]
    (run,) = parse_ssml(ssml)
    assert isinstance(run, TextRun)
    assert run.source_range() == (ssml.index("Hello"), ssml.index("</p>"))


def test_entities_line_ends_and_cdata_map_to_what_was_written() -> None:
    ssml = "<speak>Fish &amp; chips&#33;\r\nNext <![CDATA[a<b]]> &#x65E5;本</speak>"
    assert words_in_source(ssml) == [
        ("Fish", "Fish"),
        ("&", "&amp;"),
        ("chips!", "chips&#33;"),
        ("Next", "Next"),
        ("a<b", "a<b"),
        ("日本", "&#x65E5;本"),
    ]
    ssml = "<speak><![CDATA[&]]> <![CDATA[&amp;]]> &amp;</speak>"
    assert words_in_source(ssml) == [("&", "&"), ("&amp;", "&amp;"), ("&", "&amp;")]


def test_expansions_map_to_the_text_they_replace() -> None:
    ssml = (
        '<speak>The <sub alias="World Wide Web Consortium">W3C</sub> has '
        '<say-as interpret-as="cardinal">1,234</say-as> pages.</speak>'
    )
    assert words_in_source(ssml) == [
        ("The", "The"),
        ("World", "W3C"),
        ("Wide", "W3C"),
        ("Web", "W3C"),
        ("Consortium", "W3C"),
        ("has", "has"),
        ("one", "1,234"),
        ("thousand,", "1,234"),
        ("two", "1,234"),
        ("hundred", "1,234"),
        ("and", "1,234"),
        ("thirty-four", "1,234"),
        ("pages.", "pages."),
    ]


def test_offsets_count_characters_not_bytes() -> None:
    ssml = "  <speak>日本語 😀 naïve <break/>ünïcode</speak>"
    assert words_in_source(ssml) == [
        ("日本語", "日本語"),
        ("😀", "😀"),
        ("naïve", "naïve"),
        ("ünïcode", "ünïcode"),
    ]
    brk = next(piece for piece in parse_ssml(ssml) if isinstance(piece, Break))
    assert ssml[brk.source_start : brk.source_end] == "<break/>"


def test_empty_elements_map_to_their_tag() -> None:
    ssml = '<speak>a <sub alias="nothing"/> <phoneme ph="b" alphabet="ipa">bee</phoneme></speak>'
    pieces = parse_ssml(ssml)
    run, phoneme = pieces[0], pieces[1]
    assert isinstance(run, TextRun)
    assert isinstance(phoneme, PhonemeRun)
    assert ssml[slice(*run.source_range(2, 9))] == '<sub alias="nothing"/>'
    assert ssml[phoneme.source_start : phoneme.source_end] == "bee"


# -- malformed and hostile input ----------------------------------------------------


@pytest.mark.parametrize(
    ("ssml", "message"),
    [
        ("<speak>unclosed", "malformed SSML: no element found"),
        ("<speak><p>crossed</speak></p>", "malformed SSML: mismatched tag"),
        ("<speak>a < b</speak>", "malformed SSML: not well-formed"),
        ("<speak>&nbsp;</speak>", "malformed SSML: undefined entity"),
        ("<speak>&#0;</speak>", "malformed SSML: reference to invalid character number"),
        ("<speak><x:y>prefix</x:y></speak>", "malformed SSML: unbound prefix"),
        ("<speak>one</speak><speak>two</speak>", "malformed SSML: junk after document"),
        ("<p>not speak</p>", "the root element of SSML must be <speak>, not <p>"),
        ('<speak><break time="soon"/></speak>', "<break time='soon'>: write a time"),
        ('<speak><break time="-1s"/></speak>', "<break time='-1s'>"),
        ('<speak><break time="11s"/></speak>', "is longer than 10 s"),
        ('<speak><break time="100000s"/></speak>', "is longer than 10 s"),
        ('<speak><break strength="huge"/></speak>', "<break strength='huge'>: use one of"),
        ('<speak><prosody rate="warp">x</prosody></speak>', "<prosody rate='warp'>"),
        ('<speak><prosody rate="0%">x</prosody></speak>', "leaves no speech"),
        ('<speak><prosody rate="-100%">x</prosody></speak>', "leaves no speech"),
        ("<speak>\ud800</speak>", "not valid Unicode"),
    ],
)
def test_malformed_ssml_is_a_typed_error(ssml: str, message: str) -> None:
    with pytest.raises(SsmlError) as caught:
        parse_ssml(ssml)
    assert isinstance(caught.value, InvalidArgument)  # the gateway answers 400
    assert message in caught.value.message


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE speak [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<speak>&lol9;</speak>"""

HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": (
        '<!DOCTYPE speak [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><speak>&xxe;</speak>'
    ),
    "external DTD": '<!DOCTYPE speak SYSTEM "file:///etc/passwd"><speak>hi</speak>',
    "public DTD": (
        '<!DOCTYPE speak PUBLIC "-//W3C//DTD SYNTHESIS 1.0//EN" '
        '"http://www.w3.org/TR/speech-synthesis/synthesis.dtd"><speak>hi</speak>'
    ),
    "parameter entity": (
        '<!DOCTYPE speak [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><speak>hi</speak>'
    ),
    "empty DTD": "<!DOCTYPE speak><speak>hi</speak>",
}


@pytest.mark.parametrize("ssml", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_xml_is_refused_before_anything_is_expanded(ssml: str) -> None:
    # The billion laughs expands to 3 GB: that this returns at all shows nothing was.
    assert is_ssml(ssml)  # so the gateway answers 400, not speaks the markup
    with pytest.raises(SsmlError, match=r"document type declaration \(<!DOCTYPE>\)"):
        parse_ssml(ssml)


def test_hostile_xml_after_speak_detection_is_refused_too() -> None:
    # What reaches parse_ssml need not start with <speak>: it checks for itself.
    with pytest.raises(SsmlError, match="DOCTYPE"):
        parse_ssml(BILLION_LAUGHS.replace('<?xml version="1.0"?>\n', ""))


def test_xinclude_and_processing_instructions_do_nothing() -> None:
    pieces = parse_ssml(
        '<speak xmlns:xi="http://www.w3.org/2001/XInclude">Safe '
        '<xi:include href="file:///etc/passwd" parse="text"/><?evil run="me"?>'
        "<!-- a comment --> text</speak>"
    )
    assert texts(pieces) == ["Safe  text"]


SAMPLE = (
    '<?xml version="1.0"?>\n<speak xml:lang="en-US"><p><s>Hello &amp; welcome, '
    '<emphasis>dear</emphasis> naïve 日本 friend.</s> <s>Room <say-as interpret-as="cardinal">'
    '12</say-as> at <break time="300ms"/><prosody rate="slow">noon</prosody>.</s></p>'
    '<p><voice name="b"><sub alias="doctor">Dr.</sub> Who <phoneme ph="x">y</phoneme>'
    "</voice></p></speak>"
)


def test_every_literal_span_is_the_input_it_names() -> None:
    for piece in parse_ssml(SAMPLE):
        if isinstance(piece, TextRun):
            assert piece.spans[0].start == 0
            assert piece.spans[-1].end == len(piece.text)
            for span in piece.spans:
                if span.literal:
                    source = SAMPLE[span.source_start : span.source_end]
                    assert piece.text[span.start : span.end] == source


def test_mangled_ssml_parses_or_is_an_ssml_error() -> None:
    # Nothing a client sends may escape as another exception (a 500).
    rng = random.Random(16)
    alphabet = '<>/&;"=!?[]-# xspeakbr\u00e9\u65e5'
    for _ in range(2000):
        chars = list(SAMPLE)
        for _ in range(rng.randint(1, 4)):
            index = rng.randrange(len(chars))
            if rng.random() < 0.5:
                del chars[index]
            else:
                chars.insert(index, rng.choice(alphabet))
        try:
            pieces = parse_ssml("".join(chars))
        except SsmlError:
            continue
        assert all(isinstance(p, TextRun | PhonemeRun | Break | Boundary) for p in pieces)
