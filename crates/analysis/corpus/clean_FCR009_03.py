def positives(values: list[int]) -> list[int]:
    out = []
    for v in values:
        if v <= 0:
            print("skipped", v)
            continue
        out.append(v)
    return out
