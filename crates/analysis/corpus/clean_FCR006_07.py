def keys(config: dict[str, int]) -> list[str]:
    return list(config.keys())
