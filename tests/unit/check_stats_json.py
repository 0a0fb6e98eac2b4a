#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_stats_json.py FILE [EXPECT...] - check gp_stats_print() JSON.

FILE must hold exactly one strict JSON object (no NaN, no trailing text)
whose parts agree with each other: the chunks add up to the summary, the
hole classes add up to the free bytes and tile the sizes without gaps.
Each EXPECT is PATH=VALUE (PATH dotted, list indices as numbers, VALUE in
JSON: 848, "0x10000", null) or !PATH (that key must be absent).
"""
import json
import sys


def reject_constant(name):
    raise ValueError(f'not JSON: {name}')


def lookup(doc, path):
    for part in path.split('.'):
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            raise KeyError(path)
    return doc


def consistency(d):
    """Failures of the invariants gp_stats_print() promises."""
    bad = []
    s = d['summary']
    if s['in_use'] != s['size'] - s['avail']:
        bad.append('summary: in_use != size - avail')
    if 'chunks' in d:
        c = d['chunks']
        for key, total in (('size', 'size'), ('avail', 'avail'),
                           ('allocations', 'allocations')):
            if sum(x[key] for x in c) != s[total]:
                bad.append(f'chunks: {key} does not add up to the summary')
        if len(c) != s['chunks']:
            bad.append('chunks: count differs from the summary')
        if max([x['largest_hole'] for x in c], default=0) != s['largest_free']:
            bad.append('chunks: largest hole differs from the summary')
    if 'holes' in d:
        h = d['holes']
        classes = h['classes']
        if sum(k['holes'] for k in classes) != h['count']:
            bad.append('holes: classes do not add up to the count')
        if sum(k['free_bytes'] for k in classes) != s['avail']:
            bad.append('holes: free bytes do not add up to avail')
        if not classes or classes[0]['min_units'] != 1 or \
                classes[-1]['max_units'] is not None:
            bad.append('holes: classes do not run from 1 unit to open-ended')
        for a, b in zip(classes, classes[1:]):
            if a['max_units'] is None or b['min_units'] != a['max_units'] + 1:
                bad.append(f'holes: gap or overlap after {a}')
    return bad


def main():
    text = open(sys.argv[1], encoding='utf-8').read()
    try:
        doc = json.loads(text, parse_constant=reject_constant)
    except ValueError as e:
        print(f'invalid JSON: {e}\n{text}')
        return 1
    if not isinstance(doc, dict):
        print('not a JSON object')
        return 1
    bad = consistency(doc)
    for want in sys.argv[2:]:
        if want.startswith('!'):
            try:
                lookup(doc, want[1:])
                bad.append(f'{want[1:]}: present')
            except (KeyError, IndexError):
                pass
            continue
        path, value = want.split('=', 1)
        try:
            got = lookup(doc, path)
        except (KeyError, IndexError):
            bad.append(f'{path}: missing')
            continue
        if got != json.loads(value):
            bad.append(f'{path}: {json.dumps(got)}, expected {value}')
    for b in bad:
        print(b)
    if bad:
        print(text)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
