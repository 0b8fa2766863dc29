def title(text: str) -> str:
    if not text:
        return ""
    return text.title()
