"""Writes the seed corpus of fuzz_xfrin_pipeline (corpus_xfrin_pipeline/) next to this script from
fuzz_xfrin's (corpus_xfrin/, real AXFR and IXFR answers from knotd): each seed a batch of two to
four of those answers, their messages interleaved (each routed to its query by the index byte),
some in reverse order, one with a message for no query.

    /usr/bin/python3 tests/fuzz/gen_corpus_xfrin_pipeline.py"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "corpus_xfrin")
OUT = os.path.join(HERE, "corpus_xfrin_pipeline")


def messages(data):
    """fuzz_xfrin's input: (is IXFR, [messages])."""
    out, at = [], 1
    while at + 2 <= len(data):
        (n,) = struct.unpack("!H", data[at:at + 2])
        out.append(data[at + 2:at + 2 + n])
        at += 2 + n
    return bool(data[0] & 1), out


def main():
    answers = []
    for name in sorted(os.listdir(SRC)):
        with open(os.path.join(SRC, name), "rb") as f:
            data = f.read()
        if data and not data[0] & 2 and len(data) < 3000:  # unsigned, small
            answers.append(messages(data))
    os.makedirs(OUT, exist_ok=True)
    seeds = 0
    for k in range(0, min(len(answers), 120), 3):
        batch = answers[k:k + 2 + k % 3]
        if len(batch) > 5:
            batch = batch[:5]
        head = len(batch) - 1
        for i, (ixfr, _msgs) in enumerate(batch):
            head |= ixfr << (3 + i)
        order = list(range(len(batch)))
        if k % 2:
            order.reverse()
        streams = [list(batch[i][1]) for i in order]
        out = bytes([head])
        while any(streams):
            for idx, s in zip(order, streams):
                if s:
                    m = s.pop(0)
                    out += bytes([idx]) + struct.pack("!H", len(m)) + m
        if k % 9 == 0:  # a message for no query
            out += b"\xf0" + struct.pack("!H", 12) + b"\xab\xcd\x84\x00" + b"\x00" * 8
        with open(os.path.join(OUT, hashlib.sha1(out).hexdigest()), "wb") as f:
            f.write(out)
        seeds += 1
    print("%d seeds in %s" % (seeds, OUT))


if __name__ == "__main__":
    main()
