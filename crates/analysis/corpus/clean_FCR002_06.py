def read_config(path: str) -> str:
    setting = ""
    with open(path) as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            setting = line.strip()
    return setting
