def title(text: str) -> str:
    if not text:
        return  # expect: FCR008
    return text.title()
