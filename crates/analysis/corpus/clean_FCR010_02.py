def configure(options: dict[str, int] | None = None) -> dict[str, int]:
    options = dict(options or {})
    options["ready"] = 1
    return options
