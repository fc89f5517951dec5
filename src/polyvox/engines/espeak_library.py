"""A ctypes binding of libespeak-ng, the library and data that espeakng-loader ships.

espeakng-loader (also a kokoro-onnx dependency) puts libespeak-ng and its
espeak-ng-data in a wheel, so espeak-ng needs nothing from the system. This module
binds the few calls of the C API (``speak_lib.h``, ``espeak_ng.h``) that synthesis
needs: initialise, list voices, set the voice, rate and pitch, and synthesize text
into 16-bit samples with espeak's word events.

libespeak-ng keeps everything in process globals (the current voice and parameters,
the synthesis callback, its output buffer), and every ``ctypes.CDLL`` of the same
file is the same loaded instance. So one library object serves the whole process,
one lock serializes every call into it, and a synthesis runs to its end inside one
call: audio never streams out of a synthesis that is still holding the lock, which
a slow consumer would otherwise hold for every other stream. (phonemizer, which
kokoro-onnx uses, loads a private copy of the file, so it never shares this state.)

The same request's audio may differ by a few milliseconds from one call to the next:
espeak keeps the phase of its pitch flutter (a static in wavegen.c) from one
synthesis to the next, and seeds its noise with the time.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: espeak_ng_OUTPUT_MODE: audio comes back through the callback, and synthesis
#: returns only when it is done (no thread of espeak's own).
_OUTPUT_SYNCHRONOUS = 0x0001
#: Length of the buffers handed to the callback: how often a synthesis checks its
#: time bound, and how often Python is entered while espeak synthesizes.
_BUFFER_MS = 100
#: espeak_Synth flags: UTF-8 text; a pause at its end (as the program adds). Neither
#: espeakSSML nor espeakPHONEMES: text is plain, markup and [[phonemes]] are read out.
_CHARS_UTF8 = 0x1
_ENDPAUSE = 0x1000
_POS_CHARACTER = 1
#: espeak_PARAMETER values.
_RATE = 1
_PITCH = 3
#: espeak_EVENT_TYPE values.
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EE_OK = 0
_ENS_OK = 0


class EspeakError(Exception):
    """libespeak-ng failed; the message says how."""


class LibraryUnavailable(EspeakError):
    """libespeak-ng or its data cannot be loaded here."""


class SynthesisTimeout(EspeakError):
    """A synthesis ran past its time bound and was stopped."""


@dataclass(frozen=True, slots=True)
class EspeakVoice:
    """A voice of espeak_ListVoices, as the C struct has it."""

    name: str
    #: (priority, language) pairs in espeak's order; the first is the voice's own.
    languages: tuple[tuple[int, str], ...]
    #: The voice file under espeak-ng-data/voices, e.g. ``gmw/en-US``.
    identifier: str
    #: 0: unknown, 1: male, 2: female.
    gender: int
    #: Years; 0 when the voice does not say.
    age: int


@dataclass(frozen=True, slots=True)
class WordEvent:
    """Where one spoken word is in the text, and where its audio starts."""

    #: Index in the synthesized ``str`` (code points, from 0) of the word's first
    #: character.
    text_start: int
    #: The word's length in code points. A word espeak reads as several (a run of
    #: letters it spells out) gives several events over the same text.
    text_length: int
    #: Index in :attr:`Synthesis.samples` of the word's first sample.
    audio_start_sample: int


@dataclass(frozen=True, slots=True)
class Synthesis:
    """One text's audio and word timing."""

    #: Mono int16 samples at ``sample_rate_hz``.
    samples: np.ndarray
    sample_rate_hz: int
    #: espeak's WORD events in order: ``text_start`` and ``audio_start_sample`` never
    #: decrease. Empty where the synthesizer reports none (the program fallback).
    words: tuple[WordEvent, ...]


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    """espeak_EVENT (speak_lib.h)."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        # Characters from the start of the text, counted from 1.
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        # Samples from the start of the synthesis (the header calls it internal, but
        # it is what audio_position is computed from, without its rounding).
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


class _Voice(ctypes.Structure):
    """espeak_VOICE (speak_lib.h)."""

    _fields_ = (
        ("name", ctypes.c_char_p),
        # Not c_char_p: a run of (priority byte, NUL-terminated language), then a 0 byte.
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


_SYNTH_ARGTYPES = [
    ctypes.c_char_p,  # text
    ctypes.c_size_t,  # size
    ctypes.c_uint,  # position
    ctypes.c_int,  # position_type
    ctypes.c_uint,  # end_position
    ctypes.c_uint,  # flags
    ctypes.c_void_p,  # unique_identifier
    ctypes.c_void_p,  # user_data
]
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

#: Serializes every call into the process's one libespeak-ng (see the module's
#: docstring), and its opening.
_LOCK = threading.Lock()
_opened: EspeakLibrary | None = None


def open_library() -> EspeakLibrary:
    """The process's libespeak-ng, from espeakng-loader, initialised on first use.

    Raises :class:`LibraryUnavailable` when espeakng-loader is not installed or its
    library or data cannot be loaded."""
    global _opened
    with _LOCK:
        if _opened is None:
            try:
                import espeakng_loader
            except ImportError:
                raise LibraryUnavailable("espeakng-loader is not installed") from None
            try:
                library_path = espeakng_loader.get_library_path()
                data_path = espeakng_loader.get_data_path()
            except RuntimeError as exc:  # its data folder is missing
                raise LibraryUnavailable(str(exc)) from None
            _opened = EspeakLibrary(library_path=library_path, data_path=data_path)
        return _opened


def _parse_languages(address: int | None) -> tuple[tuple[int, str], ...]:
    languages: list[tuple[int, str]] = []
    while address and (priority := ctypes.string_at(address, 1)[0]) != 0:
        language = ctypes.string_at(address + 1)
        languages.append((priority, language.decode("utf-8", "replace")))
        address += len(language) + 2
    return tuple(languages)


class _Collector:
    """One synthesis's audio and word events, gathered by the callback."""

    def __init__(self, *, deadline_s: float, clock: Callable[[], float]) -> None:
        self.parts: list[np.ndarray] = []
        self.words: list[WordEvent] = []
        self.timed_out = False
        self.error: BaseException | None = None
        self._deadline_s = deadline_s
        self._clock = clock

    def take(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]
    ) -> int:
        """Keep one buffer; 1 asks espeak to stop."""
        index = 0
        while (event := events[index]).type != _EVENT_LIST_TERMINATED:
            if event.type == _EVENT_WORD:
                self.words.append(WordEvent(event.text_position - 1, event.length, event.sample))
            index += 1
        if wav and count > 0:  # NULL with 0 marks the end
            buffer = ctypes.string_at(wav, count * ctypes.sizeof(ctypes.c_short))
            self.parts.append(np.frombuffer(buffer, dtype=np.int16))
        if self._clock() >= self._deadline_s:
            self.timed_out = True
            return 1
        return 0


class EspeakLibrary:
    """libespeak-ng, initialised with a data folder. Use :func:`open_library`:
    a second instance in one process would share (and reset) the first one's state."""

    def __init__(self, *, library_path: str, data_path: str) -> None:
        try:
            self._lib = ctypes.CDLL(library_path)
        except OSError as exc:
            raise LibraryUnavailable(f"cannot load {library_path}: {exc}") from None
        self._declare()
        self.data_path = data_path
        self._initialize(data_path)
        self.sample_rate_hz: int = self._lib.espeak_ng_GetSampleRate()
        self.version: str = self._lib.espeak_Info(None).decode()
        self._collector: _Collector | None = None
        # Kept referenced: espeak calls it for as long as the library is loaded.
        self._callback = _SynthCallback(self._on_audio)
        self._lib.espeak_SetSynthCallback(self._callback)
        self.voices: tuple[EspeakVoice, ...] = self._list_voices()
        if not self.voices:
            raise LibraryUnavailable(f"libespeak-ng found no voices in {data_path}")

    def _declare(self) -> None:
        lib, c = self._lib, ctypes
        signatures = {
            "espeak_ng_InitializePath": (None, [c.c_char_p]),
            "espeak_ng_Initialize": (c.c_int, [c.POINTER(c.c_void_p)]),
            "espeak_ng_ClearErrorContext": (None, [c.POINTER(c.c_void_p)]),
            "espeak_ng_GetStatusCodeMessage": (None, [c.c_int, c.c_char_p, c.c_size_t]),
            "espeak_ng_InitializeOutput": (c.c_int, [c.c_int, c.c_int, c.c_char_p]),
            "espeak_ng_GetSampleRate": (c.c_int, []),
            "espeak_Info": (c.c_char_p, [c.c_void_p]),
            "espeak_SetSynthCallback": (None, [_SynthCallback]),
            "espeak_ListVoices": (c.POINTER(c.POINTER(_Voice)), [c.c_void_p]),
            "espeak_SetVoiceByName": (c.c_int, [c.c_char_p]),
            "espeak_SetParameter": (c.c_int, [c.c_int, c.c_int, c.c_int]),
            "espeak_Synth": (c.c_int, _SYNTH_ARGTYPES),
        }
        for name, (restype, argtypes) in signatures.items():
            try:
                function = getattr(lib, name)
            except AttributeError:
                raise LibraryUnavailable(f"libespeak-ng has no {name}") from None
            function.restype, function.argtypes = restype, argtypes

    def _initialize(self, data_path: str) -> None:
        # espeak_ng_Initialize rather than espeak_Initialize: the latter calls exit()
        # on bad data (or, with espeakINITIALIZE_DONT_EXIT, only prints why to stderr
        # and goes on); this one returns a status we can put in an error.
        self._lib.espeak_ng_InitializePath(data_path.encode())
        context = ctypes.c_void_p()
        status = self._lib.espeak_ng_Initialize(ctypes.byref(context))
        self._lib.espeak_ng_ClearErrorContext(ctypes.byref(context))
        if status != _ENS_OK:
            raise LibraryUnavailable(
                f"libespeak-ng cannot use the data in {data_path}: {self._message(status)}"
            )
        status = self._lib.espeak_ng_InitializeOutput(_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None)
        if status != _ENS_OK:
            raise LibraryUnavailable(f"libespeak-ng output: {self._message(status)}")

    def _message(self, status: int) -> str:
        buffer = ctypes.create_string_buffer(512)
        self._lib.espeak_ng_GetStatusCodeMessage(status, buffer, len(buffer))
        return f"{buffer.value.decode('utf-8', 'replace')} (status {status:#x})"

    def _list_voices(self) -> tuple[EspeakVoice, ...]:
        pointers = self._lib.espeak_ListVoices(None)  # NULL: every voice, no variants
        voices: list[EspeakVoice] = []
        index = 0
        while pointers and pointers[index]:
            voice = pointers[index].contents
            voices.append(
                EspeakVoice(
                    name=(voice.name or b"").decode("utf-8", "replace"),
                    languages=_parse_languages(voice.languages),
                    identifier=(voice.identifier or b"").decode("utf-8", "replace"),
                    gender=voice.gender,
                    age=voice.age,
                )
            )
            index += 1
        return tuple(voices)

    def _on_audio(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: ctypes._Pointer[_Event]
    ) -> int:
        collector = self._collector
        if collector is None:  # no synthesis of ours is running: stop whatever this is
            return 1
        try:
            return collector.take(wav, count, events)
        except BaseException as exc:  # an exception cannot unwind through espeak's C frames
            collector.error = exc
            return 1

    def synthesize(
        self,
        text: str,
        *,
        voice: str,
        rate_wpm: int,
        pitch: int = 50,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> Synthesis:
        """Speak ``text`` (plain text, never SSML) with a voice file of :attr:`voices`.

        ``rate_wpm`` is words per minute (espeak's normal is 175), ``pitch`` 0-99 (50
        normal). A synthesis still running ``timeout_s`` after it started (by
        ``clock``) stops at its next buffer with :class:`SynthesisTimeout`."""
        if "\0" in text:
            raise ValueError("text holds a NUL character, where espeak would stop reading")
        # "replace" turns an unpaired surrogate into one "?", so code point positions hold.
        encoded = text.encode("utf-8", "replace")
        with _LOCK:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise EspeakError(f"libespeak-ng has no voice {voice!r}")
            # Parameters are global and outlive a synthesis: set both every time.
            self._lib.espeak_SetParameter(_RATE, rate_wpm, 0)
            self._lib.espeak_SetParameter(_PITCH, pitch, 0)
            collector = _Collector(deadline_s=clock() + timeout_s, clock=clock)
            self._collector = collector
            try:
                status = self._lib.espeak_Synth(
                    encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0,
                    _CHARS_UTF8 | _ENDPAUSE, None, None,
                )  # fmt: skip
            finally:
                self._collector = None
        if collector.error is not None:
            raise collector.error
        if collector.timed_out:
            raise SynthesisTimeout(f"espeak-ng was stopped after {timeout_s:g} s of synthesis")
        if status != _EE_OK:
            raise EspeakError(f"espeak_Synth failed with status {status}")
        samples = np.concatenate(collector.parts) if collector.parts else np.zeros(0, np.int16)
        return Synthesis(samples, self.sample_rate_hz, tuple(collector.words))
