def positives(values: list[int]) -> list[int]:
    out = []
    for v in values:
        if v <= 0:
            continue
            print("skipped", v)  # expect: FCR009
        out.append(v)
    return out
