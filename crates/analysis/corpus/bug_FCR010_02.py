def configure(options: dict[str, int] = {}) -> dict[str, int]:  # expect: FCR010
    options["ready"] = 1
    return options
