import re


def first_word(text: str) -> str:
    return re.match(r"\w+", text).group(0)  # expect: FCR006
