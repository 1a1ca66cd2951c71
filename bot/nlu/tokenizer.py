"""A Vietnamese tokenizer for Rasa built on underthesea's word segmentation."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import FromConfig
from bot.nlu.lexicon import teencode_table
from bot.nlu.text import fold, normalise

_HAS_WORD = re.compile(r"\w", re.UNICODE)
# underthesea is a CRF over syllables: past a few thousand characters it only costs
# time, and nobody writes a longer question. The tail is still tokenised by spaces.
_SEGMENT_LIMIT = 2000
NO_WORDS = "\u2205"  # ∅: in no vocabulary, word or character


def _segment(text: str) -> List[str]:
    from underthesea import word_tokenize  # heavy: paid once, when the tokenizer is built

    head, tail = text[:_SEGMENT_LIMIT], text[_SEGMENT_LIMIT:]
    words = word_tokenize(head) if head.strip() else []
    return words + tail.split()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class VietnameseTokenizer(FromConfig, Tokenizer):
    """Tokens are underthesea words of the normalised text.

    `token.text` is the normalised word (NFC, one tone convention, teencode expanded),
    `token.lemma` its accent- and case-folded form (what the featurizers read, so an
    unaccented message looks like its accented form), and `start`/`end` always point
    into the original message.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **Tokenizer.get_default_config(),
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "teencode_path": "data/lexicon/teencode.yml",
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        path = config.get("teencode_path")
        self.teencode = teencode_table(str(path)) if path else {}
        # underthesea loads its models at first use: here, while the server starts, not during
        # the first citizen's message (measured: 9.9 s for that message on a fresh server)
        _segment("xin chào")

    @staticmethod
    def required_packages() -> List[Text]:
        return ["underthesea"]

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        return self.tokenize_text(message.get(attribute) or "")

    def tokenize_text(self, text: str) -> List[Token]:
        normalised = normalise(text, self.teencode)
        tokens: List[Token] = []
        cursor = 0
        for word in _segment(normalised.text):
            # underthesea returns NFC text of its input, which is already NFC here,
            # so every word is found verbatim from the cursor on.
            position = normalised.text.find(word, cursor)
            if position < 0:
                position = normalised.text.find(word.split()[0], cursor)
                if position < 0:
                    continue
                word = normalised.text[position : position + len(word)]
            cursor = position + len(word)
            if not _HAS_WORD.search(word):
                continue
            start, end = normalised.original_span(position, position + len(word))
            tokens.append(Token(word, start, end=end, lemma=fold(word)))
        if not tokens:
            # Emoji, punctuation or nothing at all: one token that matches no feature,
            # so the classifier still gets a (blank) feature row instead of none.
            blank = Token(NO_WORDS, 0, lemma=NO_WORDS)
            blank.end = len(text)  # Token() would make an empty span one character long
            tokens.append(blank)
        return self._apply_token_pattern(tokens)
