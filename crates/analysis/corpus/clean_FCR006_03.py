import re


def first_word(text: str) -> str:
    match = re.match(r"\w+", text)
    if match is None:
        return ""
    return match.group(0)
